// The declarations of the `llmscope` commands that live in src/cli/: their names, arguments, options and help. Each
// action loads its command's module only when it runs (`await import()`), so `llmscope --help`, `--version` or one
// command do not load the whole app (the gateway, the store, every capability) first.
import type { Command } from 'commander';
import { BILL_FORMATS } from '../cost/bill-formats.js';
import { SCENARIOS } from '../simulator/scenario.js';
import type { DemoFlags } from './demo.js';
import type { Common, CreateFlags, KeysIo } from './keys.js';
import type { ReconcileFlags } from './reconcile.js';
import type { ServeFlags } from './serve.js';

/** The options `serve` and `demo` share. */
export function addServeOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML config file (env LLMSCOPE_CONFIG)')
    .option('-p, --port <n>', 'port to listen on (default 8080, env LLMSCOPE_PORT)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1, env LLMSCOPE_HOST)')
    .option('--upstream <url>', 'route every model to this OpenAI-compatible base URL (no config needed)')
    .option('--provider-name <name>', 'provider name recorded for --upstream (default: from the host)')
    .option(
      '--workers <n>',
      'gateway processes sharing the port: N ≥ 2 adds a recorder process, "auto" = cores − 1 (default 1, env LLMSCOPE_WORKERS)',
    );
}

export function registerServeCommand(program: Command): void {
  addServeOptions(program.command('serve').description('run the gateway, API, dashboard and alert engine')).action(
    async (flags: ServeFlags) => (await import('./serve.js')).serveCommand(flags),
  );
}

export function registerDemoCommand(program: Command): void {
  addServeOptions(
    program.command('demo').description('serve with a simulated LLM upstream, production-like traffic and incidents'),
  )
    .option('--rps <n>', 'generated requests per second', '8')
    .option('--scenario <name>', `what happens: ${SCENARIOS.join(', ')}`, 'incident')
    .option('--incident-every <duration>', 'length of one incident cycle (incident and cost-spike scenarios)', '10m')
    .option('--hallucination-rate <share>', 'share of grounded answers that are hallucinated', '0.04')
    .action(async (flags: DemoFlags) => (await import('./demo.js')).demoCommand(flags));
}

export function registerCheckConfigCommand(program: Command): void {
  program
    .command('check-config')
    .description(
      'validate a config file with the checks serve makes (without one: the defaults and LLMSCOPE_* variables serve would start with); exit non-zero with the path of each error',
    )
    .option('-c, --config <file>', 'YAML config file (env LLMSCOPE_CONFIG)')
    .action(async (flags: { config?: string }) => {
      const file = flags.config ?? process.env.LLMSCOPE_CONFIG;
      const { checkConfig } = await import('./check-config.js');
      const code = await checkConfig(file, {
        out: (s) => process.stdout.write(s),
        err: (s) => process.stderr.write(s),
        env: process.env,
      });
      if (code !== 0) process.exitCode = code;
    });
}

export function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description(
      "compare tracked spend with a provider's bill (OpenAI or Anthropic cost export, or date,provider,model,amount_usd CSV)",
    )
    .requiredOption('--bill <file>', 'the bill: CSV or JSON cost export')
    .option('--from <date>', 'first day to compare (default: the bill’s first day)')
    .option('--to <date>', 'last day to compare (default: the bill’s last day)')
    .option('--format <format>', `bill format: ${BILL_FORMATS.join(', ')} (default: detected)`)
    .option('-c, --config <file>', 'YAML config file (env LLMSCOPE_CONFIG), for storage.url and pricing')
    .option('--json', 'print the full report as JSON')
    .option('--no-save', 'do not keep the result in the store')
    .action(async (flags: ReconcileFlags) => {
      const { reconcileCommand } = await import('./reconcile.js');
      await reconcileCommand(flags, { out: (s) => process.stdout.write(s) });
    });
}

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description(
      'copy a SQLite store (calls, rollups, spend, quality data, alert state) into PostgreSQL; safe to run again',
    )
    .requiredOption('--from <url>', 'the SQLite store serve wrote, e.g. sqlite:./llmscope-data/llmscope.db')
    .option(
      '--to <url>',
      'the PostgreSQL database, e.g. postgres://llmscope:PASSWORD@db:5432/llmscope (default: $LLMSCOPE_STORAGE_URL)',
    )
    // kept as typed (checked by migrateCommand); the default a number, so --help shows it as before
    .option('--batch <n>', 'calls per transaction (1-500)', (v: string) => v, 500 as number | string)
    .option('--json', 'print the summary as JSON')
    .action(async (flags: { from: string; to?: string; batch: number | string; json?: boolean }) =>
      (await import('./migrate.js')).migrateCommand(flags),
    );
}

export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description('copy the SQLite store to a file while serve keeps running (online backup), then check the copy')
    .requiredOption('--to <file>', 'the backup file to write, e.g. /backups/llmscope-2025-06-01.db')
    .option('-c, --config <file>', 'config whose storage.url names the store (default: LLMSCOPE_CONFIG)')
    .option('--from <url>', 'the store itself, sqlite:PATH (default: storage.url of the config)')
    .option('--force', 'replace --to if it exists')
    .action(async (flags: { to: string; config?: string; from?: string; force?: boolean }) =>
      (await import('./backup.js')).backupCommand(flags),
    );
}

const processIo = (): KeysIo => ({
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
});

export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('manage virtual keys (lsk_...) kept in the store: create, list, revoke, rotate');
  const common = (c: Command) =>
    c
      .option('-c, --config <file>', 'YAML config file (env LLMSCOPE_CONFIG), for storage.url')
      .option('--json', 'print JSON');
  const run = async (p: (m: typeof import('./keys.js')) => Promise<number>) => {
    const code = await p(await import('./keys.js'));
    if (code !== 0) process.exitCode = code;
  };

  common(
    keys
      .command('create <name>')
      .description('create a key and print it once (alone on stdout)')
      .option('--user <id>', 'calls with this key are attributed to this user')
      .option('--team <name>', 'calls with this key are attributed to this team')
      .option('--feature <name>', 'calls with this key are attributed to this feature')
      .option(
        '--trust-headers <list>',
        'attribution headers calls may still set: user,team,feature,session (default feature,session)',
      )
      .option('--rpm <n>', 'requests per minute this key may send')
      .option('--tpm <n>', 'tokens per minute this key may use')
      .option(
        '--models <list>',
        'models this key may call: names or patterns, e.g. gpt-4o-mini,claude-* (default: all)',
      )
      .option('--expires-in <duration>', 'lifetime: a number and a unit (ms, s, m, h, d), e.g. 30d, 12h')
      .option('--expires-at <iso>', 'expiry time, ISO 8601 with a zone, e.g. 2026-12-31T23:59:59Z'),
  ).action((name: string, flags: CreateFlags) => run((m) => m.keysCreate(name, flags, processIo())));

  common(
    keys
      .command('list')
      .description('list keys (never the keys themselves: id, name, prefix, owner, limits, expiry)')
      .option('--all', 'include revoked keys'),
  ).action((flags: Common & { all?: boolean }) => run((m) => m.keysList(flags, processIo())));

  common(
    keys.command('revoke <id-or-name>').description('revoke a key; serving replicas refuse it within a second'),
  ).action((id: string, flags: Common) => run((m) => m.keysRevoke(id, flags, processIo())));

  common(
    keys
      .command('rotate <id-or-name>')
      .description('give a key a new secret (same id, owner and limits) and print it once; the old one stops'),
  ).action((id: string, flags: Common) => run((m) => m.keysRotate(id, flags, processIo())));
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerTokensCommand(program: Command): void {
  const tokens = program.command('tokens').description('dashboard and /api tokens with a role and a team scope');
  tokens
    .command('create')
    .description('make a token: prints it once, and the auth.tokens entry (its hash) for the config')
    .requiredOption('--name <name>', 'who or what holds it (lowercase, unique in auth.tokens)')
    .requiredOption('--role <role>', 'viewer, operator or admin')
    .option('--team <team>', 'only this team’s calls, spend, quality and alerts (repeat for several)', collect)
    .option('--feature <feature>', 'only this feature’s (repeat for several)', collect)
    .option('--json', 'print {token, entry} as JSON')
    .action(async (o: { name: string; role: string; team?: string[]; feature?: string[]; json?: boolean }) =>
      (await import('./tokens.js')).tokensCreateCommand(o),
    );
}
