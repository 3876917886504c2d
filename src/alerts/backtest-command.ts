// `llmscope alerts backtest --from D --to D`: how many notifications the rules would have sent over stored history.
// Declared in ./cli.ts, which loads this module only when the command runs.
import { openExistingStore } from '../cli/existing-store.js';
import { progressBar } from '../cli/progress.js';
import { type Config, loadConfig } from '../config/index.js';
import { LlmscopeError } from '../errors.js';
import { SignalRegistry, type SignalSource } from '../signals/index.js';
import type { Store } from '../store/store.js';
import { backtest } from './backtest.js';
import { alertsConfigOf, ms } from './config.js';

/** How many firings the text output lists (--json lists them all). */
const FIRINGS_SHOWN = 20;

/** A date or time (ISO 8601), epoch milliseconds, or a duration back from now (`7d`, `12h`). */
export function parseWhen(text: string, now: number, flag: string): number {
  if (/^\d{10,}$/.test(text)) return Number(text);
  if (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(text)) return now - ms(text);
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `${flag} must be a date like 2025-01-31 or 2025-01-31T12:00:00Z, epoch milliseconds, or a duration back from now like 7d; got "${text}"`,
    );
  return t;
}

export interface BacktestFlags {
  from: string;
  to?: string;
  config?: string;
  step?: string;
  json?: boolean;
}

export interface BacktestIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env?: NodeJS.ProcessEnv;
  now?: number;
  /** Where the progress bar goes (drawn only on a terminal; default stderr). */
  progressStream?: NodeJS.WriteStream;
  /** Signal sources that answer for past times from the store (see AlertsCommandOptions). */
  signals?: (store: Store, config: Config) => Promise<SignalSource[]>;
}

/** `alerts backtest`: refuses a store that does not exist yet (it never creates one), shows progress on a terminal. */
export async function backtestCommand(opts: BacktestFlags, io: BacktestIo): Promise<void> {
  const now = io.now ?? Date.now();
  const from = parseWhen(opts.from, now, '--from');
  const to = opts.to ? parseWhen(opts.to, now, '--to') : now;
  if (from >= to) throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', '--from must be before --to');
  let stepMs: number | undefined;
  if (opts.step) {
    if (!/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(opts.step) || ms(opts.step) <= 0)
      throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', `--step must be a duration like 1m, got "${opts.step}"`);
    stepMs = ms(opts.step);
  }
  const config = loadConfig({ file: opts.config, env: io.env });
  const store = await openExistingStore(config.storage.url, 'alerts backtest');
  const bar = progressBar('backtest [{bar}] {percentage}% | {value}/{total} evaluations | ETA {eta_formatted}', {
    stream: io.progressStream,
    quiet: opts.json,
  });
  let r: Awaited<ReturnType<typeof backtest>>;
  try {
    const signals = new SignalRegistry();
    for (const src of (await io.signals?.(store, config)) ?? []) signals.register(src);
    r = await backtest({
      signals,
      config: alertsConfigOf(config.alerts),
      store,
      from,
      to,
      stepMs,
      onProgress: (done, total) => {
        if (done === 1) bar.start(total);
        bar.update(done);
      },
    });
  } finally {
    bar.stop();
    await store.close();
  }
  const replayed = r.rules - r.notReplayed.length;
  const noData = replayed > 0 && r.withoutData.length >= replayed;
  const notReplayedLine = r.notReplayed.length
    ? `not replayed: ${r.notReplayed.map((n) => `${n.rule} (${n.signals.join(', ')})`).join(', ')}: these rules read figures another module publishes while serve runs, which the store keeps no history of here, so they are left out of the counts (not counted as zero)\n`
    : '';
  if (opts.json) {
    const { sent: _sent, ...rest } = r;
    io.out(
      `${JSON.stringify(
        {
          ...rest,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          dataFrom: r.dataFrom === null ? null : new Date(r.dataFrom).toISOString(),
          firings: r.firings.map((f) => ({
            ...f,
            firedAt: new Date(f.firedAt).toISOString(),
            resolvedAt: f.resolvedAt === null ? null : new Date(f.resolvedAt).toISOString(),
          })),
          noData,
          // the first spelling, kept for scripts that read it: every other key of this answer is camelCase
          no_data: noData,
        },
        null,
        2,
      )}\n`,
    );
    return;
  }
  const days = (to - from) / 86_400_000;
  io.out(
    `${new Date(from).toISOString()} .. ${new Date(to).toISOString()} (${days.toFixed(2)} days, ${r.evaluations} evaluations every ${r.stepMs / 1000}s)\n`,
  );
  if (r.skippedEvaluations > 0 && r.dataFrom !== null)
    io.out(
      `the store's first calls in this period are in the hour from ${new Date(r.dataFrom).toISOString()}: the ${r.skippedEvaluations} steps before it were not evaluated (no rule has data there)\n`,
    );
  if (noData || replayed === 0) {
    io.out(
      noData
        ? 'no rule had data over this period, so there is nothing to count: the store holds no calls (or rollups) between these times\n'
        : 'no rule could be replayed, so there is nothing to count\n',
    );
    io.out(notReplayedLine);
    return;
  }
  io.out(`notifications: ${r.notifications} (${(r.notifications / Math.max(days, 1 / 24)).toFixed(1)} per day)\n`);
  for (const [rc, n] of Object.entries(r.byReceiver).sort((a, b) => b[1] - a[1])) io.out(`  to ${rc}: ${n}\n`);
  const rows = Object.entries(r.byRule).sort((a, b) => b[1].notifications - a[1].notifications);
  if (rows.length) {
    io.out('by alert (notifications / times it started firing):\n');
    for (const [name, v] of rows)
      io.out(`  ${name.padEnd(28)} ${String(v.notifications).padStart(5)} / ${v.firings}\n`);
  }
  if (r.firings.length) {
    const shown = r.firings.slice(0, FIRINGS_SHOWN);
    io.out(
      `firing (${r.firings.length > shown.length ? `the first ${shown.length} of ${r.firings.length}; --json lists all` : 'when'}):\n`,
    );
    for (const f of shown) {
      const labels = Object.entries(f.labels)
        .filter(([k]) => k !== 'alertname' && k !== 'severity')
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const until = f.resolvedAt === null ? 'still firing' : `to ${new Date(f.resolvedAt).toISOString()}`;
      io.out(`  ${new Date(f.firedAt).toISOString()} ${until}  ${f.alertname}${labels ? ` ${labels}` : ''}\n`);
    }
  }
  if (r.withoutData.length)
    io.out(
      `no data for: ${r.withoutData.join(', ')} (no calls in their windows over this period: before the store's first calls, too few for a baseline, or minute rollups past retention)\n`,
    );
  io.out(notReplayedLine);
}
