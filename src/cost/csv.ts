// /api/cost/summary?format=csv: a summary as a spreadsheet's rows (RFC 4180), one a group, with the JSON's figures.
// A cell is client-controlled text (a user id, a metadata value): quoted when it holds a comma, quote or line break,
// and one that a spreadsheet would read as a formula (= + - @, tab or carriage return first) gets a leading ' as
// OWASP's CSV injection advice says. Numbers are written as they are; a null is an empty cell (so tool_cost_usd and
// token_cost_usd are empty where the JSON's are null: group_by=meta.<key>, a team-scoped principal's summaries).

import type { FiguresWire } from './spend-queries.js';

/** The figures of a total, a group or the rest, as the JSON answer has them. */
export type CsvFigures = FiguresWire;

export interface CsvSummary {
  total: CsvFigures;
  groups: (CsvFigures & { key: string | null; share: number | null })[];
  rest: CsvFigures | null;
}

const FIGURES = [
  'cost_usd',
  'share',
  'requests',
  'unpriced_requests',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'cache_write_input_tokens',
  'reasoning_tokens',
  'cost_per_request',
  'cost_per_1k_tokens',
  // Added after the columns above (decision 163's tool spend): new columns go last, as scripts read them by position.
  'tool_cost_usd',
  'token_cost_usd',
] as const;

/** One CSV field: empty for null, a text defused against formula injection and quoted where RFC 4180 needs it. */
export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The rows: a header (`row`, the grouping's name, then the figures), a row per group (`group`; its key empty where the
 * group is the calls without one), then `rest` (the groups past `limit`, summed) when there are any, then `total`.
 * Without a grouping the key column is `total` and the one data row is the total. Lines end with CRLF (RFC 4180).
 */
export function summaryCsv(s: CsvSummary, groupBy: string | null | undefined): string {
  const dim = groupBy ?? 'total';
  const line = (cells: (string | number | null | undefined)[]) => `${cells.map(csvCell).join(',')}\r\n`;
  const figures = (f: CsvFigures, share: number | null) =>
    FIGURES.map((k) => (k === 'share' ? share : f[k as Exclude<typeof k, 'share'>]));
  let out = line(['row', dim, ...FIGURES]);
  if (!groupBy) return out + line(['total', null, ...figures(s.total, null)]);
  for (const g of s.groups) out += line(['group', g.key, ...figures(g, g.share)]);
  if (s.rest) out += line(['rest', null, ...figures(s.rest, null)]);
  return out + line(['total', null, ...figures(s.total, null)]);
}

/** `llmscope-cost-<group_by>-<from>-<to>.csv`, times as ISO 8601 without the characters file names dislike. */
export function summaryCsvName(groupBy: string | null | undefined, from: string, to: string): string {
  const t = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z').replaceAll(':', '');
  const dim = (groupBy ?? 'total').replace(/[^A-Za-z0-9._-]/g, '_');
  return `llmscope-cost-${dim}-${t(from)}-${t(to)}.csv`;
}
