// `llmscope export prometheus|alertmanager|grafana --out DIR [--config FILE]`: files for the user's own stack,
// generated from the same rules the built-in engine runs.
import type { Command } from 'commander';
import { LlmscopeError } from '../../errors.js';
import { EXPORT_TARGETS, type ExportTarget } from './targets.js';

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write Prometheus rules, an Alertmanager config or Grafana dashboards for your own stack')
    .argument('<target>', `one of: ${EXPORT_TARGETS.join(', ')}`)
    .requiredOption('--out <dir>', 'folder to write into (created if missing)')
    .option(
      '-c, --config <file>',
      'llmscope config file (rules, SLOs, receivers); default LLMSCOPE_CONFIG or built-in defaults',
    )
    .action(async (target: string, opts: { out: string; config?: string }) => {
      if (!EXPORT_TARGETS.includes(target as ExportTarget))
        throw new LlmscopeError(
          'LLMSCOPE_ERR_CONFIG_INVALID',
          `unknown export target "${target}"; use one of: ${EXPORT_TARGETS.join(', ')}`,
        );
      // loaded here, not at the top: `llmscope --help` and the other commands need none of it
      const [{ loadConfig }, { alertsConfigOf }, { exportFiles, writeFiles }] = await Promise.all([
        import('../../config/index.js'),
        import('../config.js'),
        import('./files.js'),
      ]);
      const config = loadConfig({ file: opts.config });
      const files = exportFiles(target as ExportTarget, alertsConfigOf(config.alerts));
      let written: string[];
      try {
        written = writeFiles(opts.out, files);
      } catch (err) {
        throw new LlmscopeError(
          'LLMSCOPE_ERR_CONFIG_INVALID',
          `cannot write the ${target} files into --out ${opts.out}: ${(err as Error).message}`,
        );
      }
      for (const p of written) process.stdout.write(`wrote ${p}\n`);
    });
}
