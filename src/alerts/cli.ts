// `llmscope alerts backtest --from D --to D`: how many notifications the rules would have sent over stored history.
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { LlmscopeError } from '../errors.js';
import { createStore } from '../store/index.js';
import { backtest } from './backtest.js';
import { alertsConfigOf, ms } from './config.js';

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

export function registerAlertsCommand(program: Command): void {
  const alerts = program.command('alerts').description('the built-in alert rules');
  alerts
    .command('backtest')
    .description('run the alert rules over stored history and count the notifications they would have sent')
    .requiredOption('--from <when>', 'start: a date, ISO time, epoch ms, or a duration back from now (7d)')
    .option('--to <when>', 'end (default now)')
    .option('--config <file>', 'llmscope config file (rules, routes, storage)')
    .option('--step <duration>', 'time between evaluations (default: alerts.evaluationInterval, at least 1m)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { from: string; to?: string; config?: string; step?: string; json?: boolean }) => {
      const now = Date.now();
      const from = parseWhen(opts.from, now, '--from');
      const to = opts.to ? parseWhen(opts.to, now, '--to') : now;
      if (from >= to) throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', '--from must be before --to');
      let stepMs: number | undefined;
      if (opts.step) {
        if (!/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(opts.step))
          throw new LlmscopeError(
            'LLMSCOPE_ERR_CONFIG_INVALID',
            `--step must be a duration like 1m, got "${opts.step}"`,
          );
        stepMs = ms(opts.step);
      }
      const config = loadConfig({ file: opts.config });
      const store = createStore(config.storage.url);
      try {
        await store.migrate();
        const r = await backtest({ config: alertsConfigOf(config.alerts), store, from, to, stepMs });
        const out = process.stdout;
        if (opts.json) {
          const { sent: _sent, ...rest } = r;
          out.write(
            `${JSON.stringify({ ...rest, from: new Date(from).toISOString(), to: new Date(to).toISOString() }, null, 2)}\n`,
          );
          return;
        }
        const days = (to - from) / 86_400_000;
        out.write(
          `${new Date(from).toISOString()} .. ${new Date(to).toISOString()} (${days.toFixed(2)} days, ${r.evaluations} evaluations every ${r.stepMs / 1000}s)\n`,
        );
        out.write(
          `notifications: ${r.notifications} (${(r.notifications / Math.max(days, 1 / 24)).toFixed(1)} per day)\n`,
        );
        for (const [rc, n] of Object.entries(r.byReceiver).sort((a, b) => b[1] - a[1])) out.write(`  to ${rc}: ${n}\n`);
        const rows = Object.entries(r.byRule).sort((a, b) => b[1].notifications - a[1].notifications);
        if (rows.length) {
          out.write('by alert (notifications / times it started firing):\n');
          for (const [name, v] of rows)
            out.write(`  ${name.padEnd(28)} ${String(v.notifications).padStart(5)} / ${v.firings}\n`);
        }
        if (r.withoutData.length)
          out.write(
            `no data for: ${r.withoutData.join(', ')} (signals from other modules, or rollups past retention)\n`,
          );
      } finally {
        await store.close();
      }
    });
}
