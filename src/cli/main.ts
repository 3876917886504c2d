// The `llmscope` command: one subcommand per job (DESIGN §3 CLI). Errors print a message, never a stack.
// The commands are declared here; each loads what it runs only when it runs (see ./commands.ts), so `--help` and
// one command do not load the whole app.
import { Command } from 'commander';
import { registerAlertsCommand } from '../alerts/cli.js';
import { registerExportCommand } from '../alerts/export/cli.js';
import { LlmscopeError } from '../errors.js';
import { registerBenchCommand } from '../loadgen/cli.js';
import { registerQualityCommand } from '../quality/cli.js';
import { registerSimulateCommand } from '../simulator/cli.js';
import {
  registerBackupCommand,
  registerCheckConfigCommand,
  registerDemoCommand,
  registerKeysCommand,
  registerMigrateCommand,
  registerReconcileCommand,
  registerServeCommand,
  registerTokensCommand,
} from './commands.js';

const program = new Command('llmscope')
  .description('observability for LLM services: an OpenAI-compatible gateway that measures every call')
  .version('0.1.0')
  .showHelpAfterError('(add --help for usage)');

registerServeCommand(program);
registerDemoCommand(program);
registerSimulateCommand(program);
registerCheckConfigCommand(program);
registerExportCommand(program);
registerAlertsCommand(program, {
  backtestSignals: async (store, config) =>
    (await import('./backtest-signals.js')).backtestSignalSources(store, config),
});
registerReconcileCommand(program);
registerBenchCommand(program);
registerQualityCommand(program);
registerMigrateCommand(program);
registerBackupCommand(program);
registerKeysCommand(program);
registerTokensCommand(program);

// `llmscope ... | head`: when the reader goes away early, stop quietly (as other command-line tools do), no EPIPE stack.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const msg = err instanceof LlmscopeError ? err.message : ((err as Error)?.message ?? String(err));
  process.stderr.write(`llmscope: ${msg}\n`);
  process.exit(1);
}
