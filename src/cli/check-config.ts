// `llmscope check-config`: validates a config file and prints every problem with its path — the schema's, then the
// start-up checks `serve` makes (startup-checks.ts), so a config that passes here is one serve starts with.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { applyEnv, type Config, envSourceOf, readConfigFile, validateConfig } from '../config/index.js';
import { readKeyFile } from '../providers/google-auth.js';
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

/** Why `path` cannot be read as a file (or a folder, with `dir`), or null when it can. */
function unreadable(path: string, dir = false): string | null {
  try {
    accessSync(path, constants.R_OK);
    const isDir = statSync(path).isDirectory();
    if (isDir !== dir) return dir ? 'not a folder' : 'a folder, not a file';
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `no such ${dir ? 'folder' : 'file'}` : (code ?? (err as Error).message);
  }
}

/**
 * Files the config names, read at start-up from where serve runs (check-config is run there too): a TLS certificate
 * or key, or a provider's Google credentials file, serve cannot read stops it (errors); cost item files, the knowledge base and the NLI model it starts without,
 * logging that it did (warnings).
 */
export function fileProblems(config: Config): { errors: StartupProblem[]; warnings: StartupProblem[] } {
  const errors: StartupProblem[] = [];
  const warnings: StartupProblem[] = [];
  const tls = config.server.tls;
  for (const what of ['cert', 'key'] as const) {
    const why = tls?.[what] ? unreadable(tls[what]) : null;
    if (why) errors.push({ path: `server.tls.${what}`, message: `cannot read ${tls?.[what]}: ${why}` });
  }
  // Both read: serve then loads them (https.createServer), and refuses to start when they are not a PEM pair.
  if (tls?.cert && tls.key && errors.length === 0)
    try {
      createSecureContext({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) });
    } catch (err) {
      errors.push({
        path: 'server.tls',
        message: `the certificate and key do not load as PEM (${(err as Error).message})`,
      });
    }
  // serve reads each key file when it starts (GoogleTokenSource) and refuses one it cannot read or that is no key
  config.providers.forEach((p, i) => {
    if (!p.googleCredentials || p.googleCredentials === 'adc') return;
    const path = `providers[${i}].googleCredentials`;
    try {
      readKeyFile(p.googleCredentials, `provider "${p.name}" googleCredentials`);
    } catch (err) {
      errors.push({ path, message: (err as Error).message });
    }
  });
  config.costs.itemFiles.forEach((f, i) => {
    const why = unreadable(f);
    if (why) warnings.push({ path: `costs.itemFiles[${i}]`, message: `${f}: ${why}; serve starts without its items` });
  });
  const kb = config.quality.knowledgeBase;
  const kbWhy = kb ? unreadable(kb, true) : null;
  if (kbWhy)
    warnings.push({
      path: 'quality.knowledgeBase',
      message: `${kb}: ${kbWhy}; serve starts without it (grounding uses the request's context only)`,
    });
  const nli = config.quality.evaluators.nli?.model;
  const nliWhy = nli ? unreadable(nli) : null;
  if (nliWhy)
    warnings.push({
      path: 'quality.evaluators.nli.model',
      message: `${nli}: ${nliWhy}; serve starts with the NLI evaluator off`,
    });
  return { errors, warnings };
}

/**
 * Checks one config file; returns the exit code (0 ok, 1 problems). Opens the configured store only to count its
 * virtual keys when the no-open-relay rule depends on them, as serve does.
 */
export async function checkConfig(path: string | undefined, io: CheckConfigIo): Promise<number> {
  // Without a file, what serve starts with without one: the defaults and the LLMSCOPE_* variables.
  const file = path ?? '(no config file: defaults and environment)';
  const raw = applyEnv(path === undefined ? {} : readConfigFile(path), io.env);
  const r = validateConfig(raw);
  if (!r.ok) {
    // a value from an environment variable is named by the variable, not by the file it is not in
    for (const i of r.issues) io.err(`${envSourceOf(i.path, raw, io.env) ?? file}: ${i.path}: ${i.message}\n`);
    return 1;
  }
  const checks = startupChecks(r.config, io.env, await storedKeyCount(r.config));
  const files = fileProblems(r.config);
  const errors = [...checks.errors, ...files.errors];
  for (const w of [...checks.warnings, ...files.warnings, ...receiverEnvWarnings(r.config, io.env)])
    io.err(`${file}: warning: ${w.path}: ${w.message}\n`);
  if (errors.length > 0) {
    for (const e of errors) io.err(`${file}: ${e.path}: ${e.message}\n`);
    io.err(`${file}: serve would not start with this config (${errors.length} problem(s))\n`);
    return 1;
  }
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  io.out(`${file}: ok (${count(r.config.providers.length, 'provider')}, ${count(r.config.routes.length, 'route')})\n`);
  return 0;
}
