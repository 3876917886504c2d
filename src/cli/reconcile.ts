// `llmscope reconcile --bill FILE [--from D --to D]`: tracked spend (from the store the gateway writes) against
// a provider's bill; prints the gap and its likely causes, and keeps the result for /api/cost/reconciliations.
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { loadConfig } from '../config/index.js';
import {
  BILL_FORMATS,
  BillError,
  type BillFormat,
  billersOf,
  formatReport,
  PriceBook,
  runReconciliation,
  SpendQueries,
  type SpendStore,
  SqliteSpendStore,
  spendStoreFor,
} from '../cost/index.js';
import { LlmscopeError } from '../errors.js';
import { createStore, sqlitePathOf } from '../store/index.js';
import { durationMs } from '../time.js';
import { demoStoreNote, openExistingStore } from './existing-store.js';

export interface ReconcileFlags {
  bill: string;
  from?: string;
  to?: string;
  format?: string;
  config?: string;
  json?: boolean;
  save?: boolean;
}

export interface ReconcileIo {
  out: (s: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** A calendar day, YYYY-MM-DD (2025-13-01 and 2025-02-30 are not). */
const isoDay = z.iso.date();

function fail(msg: string): never {
  throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', msg);
}

/** Runs one reconciliation; throws an LlmscopeError with a message that says what to fix. */
export async function reconcileCommand(flags: ReconcileFlags, io: ReconcileIo): Promise<void> {
  for (const k of ['from', 'to'] as const)
    if (flags[k] !== undefined && !isoDay.safeParse(flags[k]).success)
      fail(`--${k} must be a date like 2025-06-01, got "${flags[k]}"`);
  if (flags.from !== undefined && flags.to !== undefined && flags.from > flags.to)
    fail(`--from must not be after --to, got ${flags.from} … ${flags.to}`);
  if (flags.format !== undefined && !BILL_FORMATS.includes(flags.format as BillFormat))
    fail(`--format must be one of ${BILL_FORMATS.join(', ')}, got "${flags.format}"`);
  if (!existsSync(flags.bill)) fail(`no bill at ${flags.bill}`);
  let billText: string;
  try {
    billText = readFileSync(flags.bill, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EISDIR' ? 'a folder, not a file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    fail(`cannot read --bill ${flags.bill}: ${why}`);
  }
  const config = loadConfig({ file: flags.config, env: io.env });
  const { spend, close } = await openSpend(config.storage.url.trim());
  try {
    const gpuPriced = config.pricing.models.filter((m) => m.gpuHours !== undefined);
    const queries = new SpendQueries(
      spend,
      config.costs,
      gpuPriced,
      Date.now,
      durationMs(config.costs.minuteRetention),
    );
    const billers = billersOf(config.providers);
    const { record, report } = await runReconciliation(
      billText,
      { queries, prices: new PriceBook(config.pricing, undefined, billers), billers },
      {
        format: flags.format as BillFormat | undefined,
        from: flags.from,
        to: flags.to,
        source: basename(flags.bill),
        threshold: config.costs.reconciliationGapThreshold,
        save: flags.save !== false,
      },
    );
    if (flags.json) io.out(`${JSON.stringify({ id: record.id, ...report }, null, 2)}\n`);
    else io.out(`${formatReport(report)}\n${flags.save !== false ? `\nSaved as ${record.id}.\n` : ''}`);
  } catch (err) {
    if (err instanceof BillError)
      fail(
        err.line === undefined
          ? `${flags.bill}: ${err.message}`
          : `${flags.bill}:${err.line}: ${err.message.replace(/^line \d+: /, '')}`,
      );
    throw err;
  } finally {
    await close();
  }
}

/**
 * The spend the gateway keeps in the store at `url`, which must exist: SQLite read in place, PostgreSQL through the
 * cost module's store (the tables every replica writes).
 */
async function openSpend(url: string): Promise<{ spend: SpendStore; close: () => Promise<void> }> {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const store = await openExistingStore(url, 'reconcile');
    try {
      return { spend: await spendStoreFor(store.backend), close: () => store.close() };
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
  }
  if (!url.startsWith('sqlite:')) createStore(url); // throws the unsupported-URL error
  const path = sqlitePathOf(url);
  if (!path || path === ':memory:') fail(`storage.url "${url}" keeps no data on disk to reconcile against`);
  if (!existsSync(path))
    fail(
      `no llmscope data at ${path}; run \`llmscope serve\` first, or pass --config with its storage.url${demoStoreNote(path)}`,
    );
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  return { spend: new SqliteSpendStore(db), close: async () => void db.close() };
}
