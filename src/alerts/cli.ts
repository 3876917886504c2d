// `llmscope alerts backtest --from D --to D`: how many notifications the rules would have sent over stored history.
// The command's declaration; what it runs (./backtest-command.ts) is loaded only when it runs.
import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import type { SignalSource } from '../signals/index.js';
import type { Store } from '../store/store.js';
import type { BacktestFlags } from './backtest-command.js';

export interface AlertsCommandOptions {
  /**
   * The capabilities' signal sources that can answer for past times from the store (the quality module's counts, the GPU rollups), so
   * `alerts backtest` replays the rules reading them; alerts cannot import another capability, so the assembly
   * (src/cli/main.ts) passes them in.
   */
  backtestSignals?: (store: Store, config: Config) => Promise<SignalSource[]>;
}

export function registerAlertsCommand(program: Command, options: AlertsCommandOptions = {}): void {
  const alerts = program.command('alerts').description('the built-in alert rules');
  alerts
    .command('backtest')
    .description('run the alert rules over stored history and count the notifications they would have sent')
    .requiredOption('--from <when>', 'start: a date, ISO time, epoch ms, or a duration back from now (7d)')
    .option('--to <when>', 'end (default now)')
    .option('-c, --config <file>', 'llmscope config file (rules, routes, storage)')
    .option('--step <duration>', 'time between evaluations (default: alerts.evaluationInterval, at least 1m)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: BacktestFlags) => {
      const { backtestCommand } = await import('./backtest-command.js');
      await backtestCommand(opts, {
        out: (s) => process.stdout.write(s),
        err: (s) => process.stderr.write(s),
        signals: options.backtestSignals,
      });
    });
}
