// Reads a provider's bill into dated lines: OpenAI's cost export (CSV from the usage dashboard, or the Costs API's
// JSON), Anthropic's cost report (CSV or the Cost Report API's JSON), and a generic CSV (date, provider, model,
// amount_usd). The format is detected from the header or the JSON shape unless given.
import { parse as parseCsv } from 'csv-parse/sync';
import { BILL_FORMATS, type BillFormat } from './bill-formats.js';
import { amountBound, amountFrom, dayFrom } from './non-api.js';

export { BILL_FORMATS, type BillFormat };

export interface BillLine {
  day: string;
  /** Who billed: openai, anthropic, or the generic file's provider column. */
  provider: string;
  /** The model billed, null for lines that are not per-token model use (storage, tool calls, seats). */
  model: string | null;
  /** The bill's own description of the line. */
  item: string;
  amountUsd: number;
  /**
   * The line is all the provider billed that day, not split by line item (a cost export not grouped by line item or
   * description): reconciliation compares it with the day's whole tracked spend, not as a non-token item.
   */
  whole?: boolean;
}

export interface Bill {
  format: BillFormat;
  lines: BillLine[];
}

/** A bill that cannot be read; `line` is the file line (CSV) it is about, when there is one. */
export class BillError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

type Row = Record<string, unknown>;

/** The file line each CSV row came from (JSON rows have none). */
const LINES = new WeakMap<Row, number>();

/** Where a row is, for error messages: `line 7` of a CSV file, `entry 3` of a JSON bill. */
function where(r: Row, i: number): string {
  const line = LINES.get(r);
  return line === undefined ? `entry ${i + 1}` : `line ${line}`;
}

function rowError(r: Row, i: number, message: string): BillError {
  return new BillError(`${where(r, i)}: ${message}`, LINES.get(r));
}

/** CSV rows keyed by lower-cased, trimmed header names, each remembering its line in the file. */
function csvRows(text: string): Row[] {
  let parsed: { record: Row; info: { lines: number } }[];
  try {
    parsed = parseCsv(text.replace(/^\uFEFF/, ''), {
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      info: true,
    }) as { record: Row; info: { lines: number } }[];
  } catch (err) {
    const line = (err as { lines?: unknown }).lines;
    const at = typeof line === 'number' ? line : undefined;
    throw new BillError(`${at === undefined ? '' : `line ${at}: `}not valid CSV: ${(err as Error).message}`, at);
  }
  return parsed.map(({ record, info }) => {
    LINES.set(record, info.lines);
    return record;
  });
}

const first = (r: Row, names: readonly string[]): unknown => {
  for (const n of names) if (r[n] !== undefined && r[n] !== '') return r[n];
  return undefined;
};

/** Text that is a model id (gpt-4o-2024-08-06, claude-3-5-sonnet, ft:gpt-4o-mini:acme::x) rather than a description. */
const MODEL_LIKE = /^[a-z0-9][\w.:/@-]*\d[\w.:/@-]*$/i;

/** OpenAI line items read "gpt-4o-2024-08-06, input" / ", cached input" / ", output"; others name a tool or storage. */
function openaiLine(item: string): { model: string | null } {
  const comma = item.indexOf(',');
  const head = (comma >= 0 ? item.slice(0, comma) : item).trim();
  return { model: MODEL_LIKE.test(head) && !/\s/.test(head) ? head : null };
}

function openaiRows(rows: readonly Row[]): BillLine[] {
  return rows.flatMap((r, i) => {
    const day = dayFrom(first(r, ['start_time_iso', 'start_time', 'date', 'day']));
    const amount = amountFrom(first(r, ['amount_value', 'amount', 'cost', 'cost_usd']));
    if (day === null) throw rowError(r, i, 'OpenAI bill: no start_time/start_time_iso date');
    if (amount === null) throw rowError(r, i, 'OpenAI bill: no amount_value');
    const currency = first(r, ['amount_currency', 'currency']);
    if (typeof currency === 'string' && currency.toLowerCase() !== 'usd')
      throw rowError(r, i, `OpenAI bill: currency ${currency}; only USD bills are supported`);
    const lineItem = first(r, ['line_item']);
    // An export or Costs API page not grouped by line item: each row is the day's (or project's) whole spend.
    if (lineItem === undefined)
      return [{ day, provider: 'openai', model: null, item: 'total', amountUsd: amount, whole: true }];
    const item = String(lineItem);
    const { model } = openaiLine(item);
    return [{ day, provider: 'openai', model, item, amountUsd: amount }];
  });
}

function anthropicRows(rows: readonly Row[], centsField: boolean): BillLine[] {
  return rows.flatMap((r, i) => {
    const day = dayFrom(first(r, ['usage_date_utc', 'date', 'day', 'starting_at', 'start_time']));
    if (day === null) throw rowError(r, i, 'Anthropic bill: no usage_date_utc/starting_at date');
    const dollars = amountFrom(first(r, ['cost_usd', 'amount_usd', 'cost']));
    const cents = centsField ? amountFrom(r.amount) : null;
    const amount = dollars ?? (cents === null ? null : cents / 100);
    if (amount === null) throw rowError(r, i, 'Anthropic bill: no cost_usd (or amount in cents)');
    const currency = first(r, ['currency', 'amount_currency']);
    if (typeof currency === 'string' && currency.toLowerCase() !== 'usd')
      throw rowError(r, i, `Anthropic bill: currency ${currency}; only USD bills are supported`);
    const costTypeField = first(r, ['cost_type', 'usage_type']);
    const modelField = first(r, ['model']);
    // A Cost Report not grouped by description (nor a CSV split by model or cost type): the day's whole spend.
    if (costTypeField === undefined && modelField === undefined && first(r, ['description']) === undefined)
      return [{ day, provider: 'anthropic', model: null, item: 'total', amountUsd: amount, whole: true }];
    const costType = String(costTypeField ?? 'tokens').toLowerCase();
    const tokens = !/search|execution|session|storage|tool/.test(costType);
    const model = typeof modelField === 'string' && modelField && tokens ? modelField : null;
    const item =
      String(first(r, ['description']) ?? '') ||
      [model ?? costType, first(r, ['token_type'])].filter((x) => typeof x === 'string' && x).join(', ');
    return [{ day, provider: 'anthropic', model, item, amountUsd: amount }];
  });
}

function genericRows(rows: readonly Row[]): BillLine[] {
  return rows.flatMap((r, i) => {
    const day = dayFrom(r.date);
    const amount = amountFrom(r.amount_usd);
    const provider = typeof r.provider === 'string' ? r.provider.trim().toLowerCase() : '';
    if (day === null) throw rowError(r, i, `"date" must be a date like 2025-01-31, got "${String(r.date ?? '')}"`);
    if (amount === null)
      throw rowError(
        r,
        i,
        `"amount_usd" must be a number${amountBound(r.amount_usd)}, got "${String(r.amount_usd ?? '')}"`,
      );
    if (!provider) throw rowError(r, i, '"provider" is required');
    const m = typeof r.model === 'string' ? r.model.trim() : '';
    return [{ day, provider, model: m || null, item: m || 'other', amountUsd: amount }];
  });
}

function detectCsv(header: readonly string[]): BillFormat | null {
  const h = new Set(header);
  if (h.has('line_item') || h.has('amount_value')) return 'openai';
  if (h.has('token_type') || h.has('cost_type') || h.has('usage_date_utc') || h.has('workspace')) return 'anthropic';
  if (h.has('date') && h.has('provider') && h.has('amount_usd')) return 'generic';
  return null;
}

/** Flattens the Costs API (OpenAI) or Cost Report API (Anthropic) JSON pages into rows. */
function jsonRows(json: unknown): { format: BillFormat; rows: Row[] } {
  const pages = Array.isArray(json) ? json : [json];
  const rows: Row[] = [];
  let format: BillFormat | null = null;
  for (const page of pages) {
    const p = page as Row;
    if (p && typeof p === 'object' && 'date' in p && 'amount_usd' in p) {
      rows.push(p);
      format ??= 'generic';
      continue;
    }
    const data = (p?.data ?? []) as Row[];
    if (!Array.isArray(data)) continue;
    for (const bucket of data) {
      const results = (bucket.results ?? bucket.result ?? []) as Row[];
      for (const res of results) {
        if (typeof bucket.start_time === 'number') {
          format ??= 'openai';
          const amount = res.amount as { value?: unknown; currency?: unknown } | undefined;
          rows.push({
            start_time: bucket.start_time,
            amount_value: amount?.value,
            amount_currency: amount?.currency,
            line_item: res.line_item ?? undefined,
          });
        } else if (typeof bucket.starting_at === 'string') {
          format ??= 'anthropic';
          rows.push({ ...res, starting_at: bucket.starting_at });
        }
      }
    }
  }
  if (!format)
    throw new BillError('JSON bill: expected an OpenAI Costs API page, an Anthropic Cost Report, or an array');
  return { format, rows };
}

/** Parses a bill; `format` forces the reader, otherwise it is detected. */
export function parseBill(text: string, format?: BillFormat): Bill {
  const t = text.trim();
  if (!t) throw new BillError('the bill is empty');
  if (t.startsWith('{') || t.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(t);
    } catch (err) {
      throw new BillError(`the bill is not valid JSON (${(err as Error).message})`);
    }
    const { format: found, rows } = jsonRows(json);
    const f = format ?? found;
    // The Cost Report API gives `amount` in cents as a string.
    return { format: f, lines: read(f, rows, true) };
  }
  const rows = csvRows(text.trimEnd());
  if (rows.length === 0)
    throw new BillError(`the bill has a header (${t.split(/\r?\n/)[0]?.slice(0, 200)}) but no rows`);
  const header = rows.length > 0 ? Object.keys(rows[0] as Row) : [];
  const f = format ?? detectCsv(header);
  if (!f)
    throw new BillError(
      `cannot tell the bill's format from its header (${header.join(', ')}); use --format openai|anthropic|generic, ` +
        'or write it as the generic CSV: date,provider,model,amount_usd',
    );
  return { format: f, lines: read(f, rows, !header.includes('cost_usd')) };
}

function read(format: BillFormat, rows: readonly Row[], anthropicCents: boolean): BillLine[] {
  if (format === 'openai') return openaiRows(rows);
  if (format === 'anthropic') return anthropicRows(rows, anthropicCents);
  return genericRows(rows);
}
