import { codeSpans } from '../graph/plain.ts';

/** Help text as written in the catalog, with its `code` spans shown as code instead of raw backticks. */
export function Help({ text }: { text: string }) {
  return <>{codeSpans(text).map((part, i) => (i % 2 ? <code key={i}>{part}</code> : part))}</>;
}
