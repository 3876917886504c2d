// One reconciliation run, shared by `llmscope reconcile` and POST /api/cost/reconciliations: read the bill, read
// tracked spend for its days, compare, and keep the report in the spend store.
import { randomUUID } from 'node:crypto';
import { DAY_MS } from '../time.js';
import { BillError, type BillFormat, parseBill } from './bills.js';
import type { PriceBook } from './pricing.js';
import { type ReconciliationReport, reconcile } from './reconcile.js';
import type { SpendQueries } from './spend-queries.js';
import type { ReconciliationRecord } from './storage/index.js';

/**
 * The most days one reconciliation covers: its report has a row per day, so a bill or a range from 0001-01-01 to
 * 9999-12-31 (3.65 million days) held the event loop for 90 s and made a 296 MB answer.
 */
export const MAX_RECONCILE_DAYS = 1096;

export interface ReconcileRunOptions {
  format?: BillFormat;
  from?: string;
  to?: string;
  /** File name or `api`, kept with the record. */
  source: string;
  threshold: number;
  /** Keep the result in the store (default true). */
  save?: boolean;
  now?: number;
}

export async function runReconciliation(
  billText: string,
  deps: { queries: SpendQueries; prices: PriceBook; billers?: ReadonlyMap<string, string> },
  opts: ReconcileRunOptions,
): Promise<{ record: ReconciliationRecord; report: ReconciliationReport }> {
  const bill = parseBill(billText, opts.format);
  const days = bill.lines.map((l) => l.day).sort();
  const from = opts.from ?? days[0];
  const to = opts.to ?? days.at(-1);
  if (!from || !to) throw new BillError('the bill has no dated lines; give --from and --to');
  const span = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
  if (span > MAX_RECONCILE_DAYS)
    throw new BillError(
      `${from} … ${to} is ${span} days; a reconciliation covers at most ${MAX_RECONCILE_DAYS} (3 years): give --from and --to (from= and to= on the API) within that`,
    );
  const [tracked, nonApi] = await Promise.all([deps.queries.trackedCells(from, to), deps.queries.nonApi(from, to)]);
  const report = reconcile({
    bill,
    tracked,
    nonApi,
    prices: deps.prices,
    billers: deps.billers,
    from,
    to,
    threshold: opts.threshold,
  });
  const record: ReconciliationRecord = {
    id: `rec_${randomUUID()}`,
    createdAt: opts.now ?? Date.now(),
    source: `${bill.format}:${opts.source}`,
    fromDay: from,
    toDay: to,
    billedUsd: report.billed_usd,
    trackedUsd: report.tracked_usd,
    gapUsd: report.gap_usd,
    gapRatio: report.gap_ratio ?? 0,
    report,
  };
  if (opts.save !== false) await deps.queries.store.saveReconciliation(record);
  return { record, report };
}
