// `llmscope check-config`: validates a config file and prints every problem with its path.
import type { Command } from 'commander';
import { applyEnv, readConfigFile, validateConfig } from '../config/index.js';

export function registerCheckConfigCommand(program: Command): void {
  program
    .command('check-config')
    .description('validate a config file; exit non-zero with the path of each error')
    .option('-c, --config <file>', 'YAML config file (env LLMSCOPE_CONFIG)')
    .action((flags: { config?: string }) => {
      const file = flags.config ?? process.env.LLMSCOPE_CONFIG;
      if (!file) {
        process.stderr.write('check-config needs --config FILE (or LLMSCOPE_CONFIG)\n');
        process.exit(2);
      }
      const r = validateConfig(applyEnv(readConfigFile(file), process.env));
      if (r.ok) {
        process.stdout.write(
          `${file}: ok (${r.config.providers.length} providers, ${r.config.routes.length} routes)\n`,
        );
        return;
      }
      for (const i of r.issues) process.stderr.write(`${file}: ${i.path}: ${i.message}\n`);
      process.exit(1);
    });
}
