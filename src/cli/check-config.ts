// `llmscope check-config`: validates a config file and prints every problem with its path — the schema's, then the
// start-up checks `serve` makes (startup-checks.ts), so a config that passes here is one serve starts with.
import type { Command } from 'commander';
import { applyEnv, type Config, envSourceOf, readConfigFile, validateConfig } from '../config/index.js';
import { type StartupProblem, startupChecks } from './startup-checks.js';
import { storedKeyCount } from './stored-keys.js';

export interface CheckConfigIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

/**
 * Alert receivers whose secret's environment variable is not set. `serve` starts with them (its alert engine logs
 * the same warning, and such a receiver only logs), but a notification that was meant to page someone would not:
 * check-config says so before. An email receiver without its SMTP user or password variable sends without
 * authentication, which most SMTP servers refuse.
 */
export function receiverEnvWarnings(config: Config, env: NodeJS.ProcessEnv): StartupProblem[] {
  if (!config.alerts.enabled) return [];
  const out: StartupProblem[] = [];
  config.alerts.receivers.forEach((r, i) => {
    const check = (
      path: string,
      name: string | undefined,
      what: string,
      consequence = 'only logs (as serve warns at start-up)',
    ) => {
      if (name && !env[name])
        out.push({
          path: `alerts.receivers[${i}].${path}`,
          message: `${name} (${what}) is not set in this environment, so receiver "${r.name}" ${consequence}`,
        });
    };
    if (r.webhook && !r.webhook.url) check('webhook.urlEnv', r.webhook.urlEnv, 'webhook URL');
    if (r.pagerduty) check('pagerduty.routingKeyEnv', r.pagerduty.routingKeyEnv, 'PagerDuty routing key');
    if (r.slack && !r.slack.url) check('slack.urlEnv', r.slack.urlEnv, 'Slack webhook URL');
    if (r.email) {
      const noAuth = 'sends without SMTP authentication';
      check('email.smtp.userEnv', r.email.smtp.userEnv, 'SMTP user', noAuth);
      check('email.smtp.passwordEnv', r.email.smtp.passwordEnv, 'SMTP password', noAuth);
    }
  });
  return out;
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
  for (const w of [...warnings, ...receiverEnvWarnings(r.config, io.env)])
    io.err(`${file}: warning: ${w.path}: ${w.message}\n`);
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
