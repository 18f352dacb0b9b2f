import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.ts';

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/errors.md');

describe('docs/errors.md', () => {
  it('lists exactly the codes of ERROR_CODES, each with its status and class', async () => {
    const text = await readFile(DOC, 'utf8');
    const rows = [...text.matchAll(/^\|\s*`(CAIRN_ERR_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|\s*(USER|ENGINE)\s*\|\s*(.+?)\s*\|\s*$/gm)];
    const documented = Object.fromEntries(rows.map((m) => [m[1], { status: Number(m[2]), class: m[3] }]));
    const expected = Object.fromEntries(Object.entries(ERROR_CODES).map(([code, spec]) => [code, { status: spec.status, class: spec.class }]));
    expect(documented).toEqual(expected);
    for (const m of rows) expect(m[4]!.length, `${m[1]} needs an explanation`).toBeGreaterThan(20);
  });
});
