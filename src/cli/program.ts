// The `llmscope` command's subcommands, declared in one place (main.ts runs it; tests read its options).
import { Command } from 'commander';
import { registerAlertsCommand } from '../alerts/cli.js';
import { registerExportCommand } from '../alerts/export/cli.js';
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

/** The `llmscope` program with every subcommand registered (nothing is run or loaded until a command runs). */
export function buildProgram(): Command {
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
  return program;
}
