// The `llmscope` command: one subcommand per job (DESIGN §3 CLI). Errors print a message, never a stack.
import { Command } from 'commander';
import { registerAlertsCommand } from '../alerts/cli.js';
import { registerExportCommand } from '../alerts/export/cli.js';
import { LlmscopeError } from '../errors.js';
import { registerBenchCommand } from '../loadgen/cli.js';
import { registerQualityCommand } from '../quality/cli.js';
import { registerSimulateCommand } from '../simulator/cli.js';
import { backtestSignalSources } from './backtest-signals.js';
import { registerBackupCommand } from './backup.js';
import { registerCheckConfigCommand } from './check-config.js';
import { registerDemoCommand } from './demo.js';
import { registerKeysCommand } from './keys.js';
import { registerMigrateCommand } from './migrate.js';
import { registerReconcileCommand } from './reconcile.js';
import { registerServeCommand } from './serve.js';
import { registerTokensCommand } from './tokens.js';

const program = new Command('llmscope')
  .description('observability for LLM services: an OpenAI-compatible gateway that measures every call')
  .version('0.1.0')
  .showHelpAfterError();

registerServeCommand(program);
registerDemoCommand(program);
registerSimulateCommand(program);
registerCheckConfigCommand(program);
registerExportCommand(program);
registerAlertsCommand(program, { backtestSignals: backtestSignalSources });
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
