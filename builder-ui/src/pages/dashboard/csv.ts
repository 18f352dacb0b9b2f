/**
 * CSV of a chart's figures, written from the same values the API answered (no rounding, no formatting), so the
 * file can be checked against `GET /v1/kpis`. RFC 4180: CRLF line ends, fields with a comma, quote or line break
 * quoted. An absent figure (null) is an empty field, never 0.
 */
export type Cell = string | number | boolean | null | undefined;

const field = (v: Cell): string => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function toCsv(header: string[], rows: Cell[][]): string {
  return [header, ...rows].map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

/** Offers the text as a file download. */
export function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
