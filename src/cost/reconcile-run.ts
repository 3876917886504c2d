// One reconciliation run, shared by `llmscope reconcile` and POST /api/cost/reconciliations: read the bill, read
// tracked spend for its days, compare, and keep the report in the spend store.
import { randomUUID } from 'node:crypto';
import { BillError, type BillFormat, parseBill } from './bills.js';
import type { PriceBook } from './pricing.js';
import { type ReconciliationReport, reconcile } from './reconcile.js';
import type { SpendQueries } from './spend-queries.js';
import type { ReconciliationRecord } from './storage/index.js';

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
