// `llmscope check-config`: validates a config file and prints every problem with its path — the schema's, then the
// start-up checks `serve` makes (startup-checks.ts), so a config that passes here is one serve starts with.
import type { Command } from 'commander';
import { applyEnv, envSourceOf, readConfigFile, validateConfig } from '../config/index.js';
import { startupChecks } from './startup-checks.js';
import { storedKeyCount } from './stored-keys.js';

export interface CheckConfigIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

/**
 * Checks one config file; returns the exit code (0 ok, 1 problems). Opens the configured store only to count its
 * virtual keys when the no-open-relay rule depends on them, as serve does.
 */
export async function checkConfig(file: string, io: CheckConfigIo): Promise<number> {
  const raw = applyEnv(readConfigFile(file), io.env);
  const r = validateConfig(raw);
  if (!r.ok) {
    // a value from an environment variable is named by the variable, not by the file it is not in
    for (const i of r.issues) io.err(`${envSourceOf(i.path, raw, io.env) ?? file}: ${i.path}: ${i.message}\n`);
    return 1;
  }
  const { errors, warnings } = startupChecks(r.config, io.env, await storedKeyCount(r.config));
  for (const w of warnings) io.err(`${file}: warning: ${w.path}: ${w.message}\n`);
  if (errors.length > 0) {
    for (const e of errors) io.err(`${file}: ${e.path}: ${e.message}\n`);
    io.err(`${file}: serve would not start with this config (${errors.length} problem(s))\n`);
    return 1;
  }
  io.out(`${file}: ok (${r.config.providers.length} providers, ${r.config.routes.length} routes)\n`);
  return 0;
}

export function registerCheckConfigCommand(program: Command): void {
  program
    .command('check-config')
    .description('validate a config file with the checks serve makes; exit non-zero with the path of each error')
    .option('-c, --config <file>', 'YAML config file (env LLMSCOPE_CONFIG)')
    .action(async (flags: { config?: string }) => {
      const file = flags.config ?? process.env.LLMSCOPE_CONFIG;
      if (!file) {
        process.stderr.write('check-config needs --config FILE (or LLMSCOPE_CONFIG)\n');
        process.exit(2);
      }
      const code = await checkConfig(file, {
        out: (s) => process.stdout.write(s),
        err: (s) => process.stderr.write(s),
        env: process.env,
      });
      if (code !== 0) process.exitCode = code;
    });
}
