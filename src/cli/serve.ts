// `llmscope serve` and `llmscope demo`: one process with the gateway, API, dashboard and capability modules.
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { type Fleet, startFleet, workerCount } from '../cluster/primary.js';
import { type Config, type ConfigInput, loadConfig } from '../config/index.js';
import { LlmscopeError } from '../errors.js';
import { type App, createApp } from '../server.js';
import { afterLinesWritten } from '../telemetry/logging.js';
import { builtinModules } from './modules.js';
import { holdServeLock } from './serve-lock.js';
import { formatProblems, startupChecks } from './startup-checks.js';
import { storedKeyCount } from './stored-keys.js';

export interface ServeFlags {
  config?: string;
  port?: string;
  host?: string;
  upstream?: string;
  providerName?: string;
  workers?: string;
}

export function parsePort(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', `--port must be an integer 0-65535, got "${v}"`);
  return n;
}

/** `--workers N|auto` as the config value (the config's checks then say what is out of range). */
export function parseWorkers(v: string): number | 'auto' {
  if (v === 'auto') return 'auto';
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isInteger(n) || n < 1)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `--workers must be a whole number of gateway processes (1 or more) or "auto" (one per core, less one), got "${v}"`,
    );
  return n;
}

/** Provider name for a bare --upstream URL (the GenAI convention's names where the host is well known). */
export function providerNameFor(url: string): string {
  const host = new URL(url).hostname;
  const known: Record<string, string> = {
    'api.openai.com': 'openai',
    'api.groq.com': 'groq',
    'api.together.xyz': 'together',
    'api.mistral.ai': 'mistral_ai',
    'api.deepseek.com': 'deepseek',
    'openrouter.ai': 'openrouter',
    'api.fireworks.ai': 'fireworks',
  };
  return known[host] ?? 'upstream';
}

/** Loads config from file/env and applies serve's flags on top. */
export function configFromFlags(flags: ServeFlags, extra?: (raw: Record<string, unknown>) => void): Config {
  const port = parsePort(flags.port);
  if (flags.upstream) {
    let protocol: string | undefined;
    try {
      protocol = new URL(flags.upstream).protocol;
    } catch {}
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `--upstream must be an absolute http(s) URL such as https://api.openai.com/v1, got "${flags.upstream}"`,
      );
    }
  }
  // said, not ignored: an empty --host listened on the default address, a --provider-name without --upstream named nothing
  if (flags.host !== undefined && flags.host.trim() === '')
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      '--host must be an address such as 127.0.0.1 or 0.0.0.0, got ""',
    );
  if (flags.providerName !== undefined && !/^[a-z0-9][a-z0-9._-]*$/.test(flags.providerName))
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `--provider-name takes lowercase letters, digits, ".", "_" or "-" (as providers[].name), got "${flags.providerName}"`,
    );
  if (flags.providerName !== undefined && !flags.upstream)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      '--provider-name names the provider of --upstream URL; pass --upstream too (a config file names its providers itself)',
    );
  return loadConfig({
    file: flags.config,
    overrides: (raw) => {
      const r = raw as ConfigInput & Record<string, unknown>;
      const server = { ...((r.server as object) ?? {}) } as Record<string, unknown>;
      if (port !== undefined) server.port = port;
      if (flags.host) server.host = flags.host;
      if (flags.workers !== undefined) server.workers = parseWorkers(flags.workers);
      r.server = server as ConfigInput['server'];
      if (flags.upstream) {
        r.providers = [{ name: flags.providerName ?? providerNameFor(flags.upstream), baseUrl: flags.upstream }];
        r.routes = [];
      }
      extra?.(r);
      return r;
    },
  });
}

/**
 * Runs serve's start-up checks (the ones `check-config` reports): throws one error listing every problem, and writes
 * the warnings to `warn`.
 */
export function assertStartable(
  config: Config,
  warn: (line: string) => void = (l) => process.stderr.write(l),
  storedKeys = 0,
): void {
  const { errors, warnings } = startupChecks(config, process.env, storedKeys);
  for (const w of warnings) warn(`warning: ${w.path}: ${w.message}\n`);
  if (errors.length > 0)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      errors.length === 1
        ? `cannot start: ${formatProblems(errors)}`
        : `cannot start:\n${formatProblems(errors, '  ')}`,
    );
}

/** A listen error as one line that says which address and what to do; other errors as they are. */
export function listenError(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  const where = `${host}:${port}`;
  if (code === 'EADDRINUSE')
    return new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `port ${port} is already in use on ${host} (another llmscope, or another program); stop it, or pick a free port with --port N (or LLMSCOPE_PORT)`,
    );
  if (code === 'EACCES')
    return new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `not allowed to listen on ${where} (ports below 1024 need privileges); pick another port with --port N`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `cannot listen on ${where}: ${host} is not an address of this machine; use --host 127.0.0.1 or 0.0.0.0`,
    );
  return err as Error;
}

/** Throws listenError's message when host:port cannot be listened on, before anything (store, modules) is opened. */
export async function assertCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  try {
    await new Promise<void>((ok, fail) => {
      probe.once('error', fail);
      probe.listen(port, host, () => ok());
    });
  } catch (err) {
    throw listenError(err, host, port);
  } finally {
    await new Promise<void>((ok) => probe.close(() => ok()));
  }
}

/**
 * `x`, whose close() also lets go of the serve lock (serve-lock.ts): the process exiting drops it anyway, but an app
 * closed and started again in one process (the demo's tests, an app embedding llmscope) must not find it held.
 */
function releasedOnClose<T extends { close(): Promise<void> }>(x: T, release: (() => void) | null): T {
  if (release === null) return x;
  const close = x.close.bind(x);
  return Object.assign(x, { close: () => close().finally(release) });
}

/**
 * The signals that stop `serve` gracefully (drain, record, exit 0): SIGTERM (supervisors, `docker stop`, `kill`),
 * SIGINT (Ctrl-C) and SIGHUP (the terminal closed, a supervisor's HUP: llmscope has no configuration to reload, so a
 * HUP stops it as SIGTERM does rather than killing it with the calls waiting to be written). Each is heard once: the
 * same signal again during the drain ends the process at once (the default action), any other is ignored.
 */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * Each stop signal starts the drain. SIGTERM and SIGINT are heard once: the same one again during the drain (a second
 * Ctrl-C) gets its default action and ends the process at once. SIGHUP is heard every time and never forces: a closing
 * terminal can deliver two (the shell passes one on to its jobs, the kernel sends another when the shell exits), and
 * the second must not throw away the calls the first is draining.
 */
function onStopSignals(stop: (signal: string) => Promise<void>, logger: Logger): void {
  for (const signal of STOP_SIGNALS) {
    if (signal === 'SIGHUP') process.on(signal, () => void stop(signal));
    else
      process.once(signal, () => {
        process.once(signal, () => stopAtOnce(signal, logger));
        void stop(signal);
      });
  }
}

/**
 * The same stop signal again during the drain: said (the operator and the log shipper see why the drain did not
 * finish), the line written out, and the signal's default action taken, so the process ends by it as before. The line
 * goes out with pino's asynchronous writes still in flight (a write of the lines before it, or of it, may be running on
 * libuv's pool when the signal comes): the signal is taken once they land, or after STOP_WRITE_MS whatever stdout does.
 */
function stopAtOnce(signal: NodeJS.Signals, logger: Logger): void {
  logger.warn(
    { event: 'shutdown_forced', signal },
    `received ${signal} again while draining: stopping at once; calls still in flight are cut and not recorded, and calls finished but not yet written are lost`,
  );
  // no listener left for the signal: its default action ends the process
  afterLinesWritten(logger, () => process.kill(process.pid, signal), STOP_WRITE_MS);
}

/** How long a forced stop waits for its log line to be written. */
const STOP_WRITE_MS = 1000;

/**
 * `serve` with `server.workers` ≥ 2: the recorder process and its gateway workers (src/cluster/); SIGTERM, SIGINT or
 * SIGHUP drain every worker, then the recorder, and exit 0.
 */
export async function runFleet(config: Config, n: number): Promise<Fleet> {
  assertStartable(config, undefined, await storedKeyCount(config));
  await assertCanListen(config.server.host, config.server.port);
  const release = holdServeLock(config.storage.url);
  let fleet: Fleet;
  try {
    fleet = releasedOnClose(await startFleet(config, n, { modules: builtinModules() }), release);
  } catch (err) {
    release?.();
    throw listenError(err, config.server.host, config.server.port);
  }
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    fleet.app.ctx.logger.info({ event: 'shutdown', signal }, `received ${signal}, draining ${n} workers`);
    try {
      await fleet.close();
      process.exit(0);
    } catch (err) {
      process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
      process.exit(1);
    }
  };
  onStopSignals(stop, fleet.app.ctx.logger);
  // SIGUSR2: a rolling restart of the gateway workers (gunicorn's HUP, nginx's reload of its workers): each replaced in
  // turn, the fleet serving meanwhile. Ignored while one runs or while stopping. (Its default action would end the
  // recorder at once, and with it every worker.)
  process.on('SIGUSR2', () => {
    if (!stopping) void fleet.roll();
  });
  return fleet;
}

/** Starts the app and wires SIGTERM, SIGINT and SIGHUP to a graceful shutdown that exits 0. */
export async function runApp(config: Config, onStop?: () => Promise<void>): Promise<App> {
  assertStartable(config, undefined, await storedKeyCount(config));
  await assertCanListen(config.server.host, config.server.port);
  const release = holdServeLock(config.storage.url);
  let app: App;
  try {
    app = releasedOnClose(await createApp(config, { modules: builtinModules() }), release);
  } catch (err) {
    release?.();
    throw err;
  }
  try {
    await app.listen();
  } catch (err) {
    await app.close().catch(() => {});
    await onStop?.().catch(() => {});
    throw listenError(err, config.server.host, config.server.port);
  }
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    app.ctx.logger.info({ event: 'shutdown', signal }, `received ${signal}, draining`);
    try {
      await onStop?.();
      await app.close();
      process.exit(0);
    } catch (err) {
      process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
      process.exit(1);
    }
  };
  onStopSignals(stop, app.ctx.logger);
  // SIGUSR2 rolls gateway workers (runFleet); one process has none: said and ignored, rather than its default action
  // ending the process with the calls in flight (a systemd unit's reload sending it).
  process.on('SIGUSR2', () =>
    app.ctx.logger.warn(
      { event: 'rolling_restart_ignored' },
      'SIGUSR2 (rolling restart) replaces gateway workers; this llmscope runs in one process (server.workers: 1): ignored',
    ),
  );
  return app;
}

/**
 * The line serve prints once it serves: where, and how many gateway workers (what `auto` came to on this host, so an
 * operator who asked for it sees that a host with 2 cores runs one process).
 */
export function servingLine(
  base: string,
  workers: Config['server']['workers'],
  n: number,
  cores = availableParallelism(),
): string {
  const urls = `llmscope serving on ${base}  (OpenAI base URL: ${base}/v1, dashboard: ${base}/, metrics: ${base}/metrics)`;
  const auto = workers === 'auto' ? ` (--workers auto: ${cores} cores, less one for the recorder)` : '';
  if (n >= 2) return `${urls} with ${n} gateway workers${auto}\n`;
  return workers === 'auto' ? `${urls} in one process${auto}\n` : `${urls}\n`;
}

/** `llmscope serve`'s action (declared in ./commands.ts). */
export async function serveCommand(flags: ServeFlags): Promise<void> {
  const config = configFromFlags(flags);
  const n = workerCount(config.server.workers);
  let base: string;
  if (n >= 2) base = (await runFleet(config, n)).base;
  else {
    const app = await runApp(config);
    base = `http://${config.server.host}:${(app.server.address() as { port: number }).port}`;
  }
  process.stderr.write(servingLine(base, config.server.workers, n));
}
