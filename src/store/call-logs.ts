// What both stores answer for a call's kept log lines: the rows read in time order, turned into at most `limit`
// lines and the count of those not shown (dropped at the cap when written, or past `limit` when read).
import type { CallLogLines } from './store.js';

export function linesOf(rows: readonly { line: string | null; dropped: number }[], limit: number): CallLogLines {
  const lines: string[] = [];
  let dropped = 0;
  for (const r of rows) {
    if (r.line === null) dropped += Number(r.dropped) || 0;
    else if (lines.length < limit) lines.push(r.line);
    else dropped++;
  }
  return { lines, dropped };
}
