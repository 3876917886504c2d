// `llmscope serve` and `llmscope demo`: one process with the gateway, API, dashboard and capability modules.
import type { Command } from 'commander';
import { type Config, type ConfigInput, loadConfig } from '../config/index.js';
import { LlmscopeError } from '../errors.js';
import { type App, createApp } from '../server.js';
import { builtinModules } from './modules.js';

export interface ServeFlags {
  config?: string;
  port?: string;
  host?: string;
  upstream?: string;
  providerName?: string;
}

export function parsePort(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', `--port must be an integer 0-65535, got "${v}"`);
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
    try {
      new URL(flags.upstream);
    } catch {
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `--upstream must be an absolute URL such as https://api.openai.com/v1, got "${flags.upstream}"`,
      );
    }
  }
  return loadConfig({
    file: flags.config,
    overrides: (raw) => {
      const r = raw as ConfigInput & Record<string, unknown>;
      const server = { ...((r.server as object) ?? {}) } as Record<string, unknown>;
      if (port !== undefined) server.port = port;
      if (flags.host) server.host = flags.host;
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

/** Starts the app and wires SIGTERM/SIGINT to a graceful shutdown that exits 0. */
export async function runApp(config: Config, onStop?: () => Promise<void>): Promise<App> {
  const app = await createApp(config, { modules: builtinModules() });
  await app.listen();
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
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  return app;
}

export function addServeOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML config file (env LLMSCOPE_CONFIG)')
    .option('-p, --port <n>', 'port to listen on (default 8080, env LLMSCOPE_PORT)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1, env LLMSCOPE_HOST)')
    .option('--upstream <url>', 'route every model to this OpenAI-compatible base URL (no config needed)')
    .option('--provider-name <name>', 'provider name recorded for --upstream (default: from the host)');
}

export function registerServeCommand(program: Command): void {
  addServeOptions(program.command('serve').description('run the gateway, API, dashboard and alert engine')).action(
    async (flags: ServeFlags) => {
      const config = configFromFlags(flags);
      if (config.providers.length === 0)
        process.stderr.write(
          'warning: no providers configured, so /v1/* has nowhere to go; pass --upstream URL or a config file with providers\n',
        );
      const app = await runApp(config);
      const base = `http://${config.server.host}:${(app.server.address() as { port: number }).port}`;
      process.stderr.write(
        `llmscope serving on ${base}  (OpenAI base URL: ${base}/v1, dashboard: ${base}/, metrics: ${base}/metrics)\n`,
      );
    },
  );
}
