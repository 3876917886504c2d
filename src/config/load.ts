// Loading config: YAML file (optional) + environment overrides + CLI flags, validated once and frozen.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { LlmscopeError } from '../errors.js';
import { type Config, configSchema } from './schema.js';

export interface ConfigIssue {
  path: string;
  message: string;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] };

function issuesOf(err: z.ZodError): ConfigIssue[] {
  return err.issues.map((i) => ({
    path: i.path.length
      ? i.path
          .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
          .join('.')
          .replace(/\.\[/g, '[')
      : '(root)',
    message: i.message,
  }));
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Applies LLMSCOPE_* environment overrides onto raw (unvalidated) config. */
export function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(raw);
  const section = (k: string): Record<string, unknown> => {
    const cur = out[k];
    if (cur && typeof cur === 'object' && !Array.isArray(cur)) return cur as Record<string, unknown>;
    const fresh: Record<string, unknown> = {};
    out[k] = fresh;
    return fresh;
  };
  if (env.LLMSCOPE_HOST) section('server').host = env.LLMSCOPE_HOST;
  if (env.LLMSCOPE_PORT) section('server').port = Number(env.LLMSCOPE_PORT);
  if (env.LLMSCOPE_WORKERS)
    section('server').workers = env.LLMSCOPE_WORKERS === 'auto' ? 'auto' : Number(env.LLMSCOPE_WORKERS);
  if (env.LLMSCOPE_ADMIN_TOKEN) section('server').adminToken = env.LLMSCOPE_ADMIN_TOKEN;
  if (env.LLMSCOPE_METRICS_TOKEN) section('server').metricsToken = env.LLMSCOPE_METRICS_TOKEN;
  if (env.LLMSCOPE_STORAGE_URL) section('storage').url = env.LLMSCOPE_STORAGE_URL;
  if (env.LLMSCOPE_LOG_LEVEL) section('telemetry').logLevel = env.LLMSCOPE_LOG_LEVEL;
  const otlp = env.LLMSCOPE_OTLP_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (otlp) section('telemetry').otlpEndpoint = otlp;
  return out;
}

/** Validates raw config; every problem comes back with its path. */
export function validateConfig(raw: unknown): ConfigResult {
  const r = configSchema.safeParse(raw ?? {});
  if (!r.success) return { ok: false, issues: issuesOf(r.error) };
  const providers = new Set(r.data.providers.map((p) => p.name));
  const issues: ConfigIssue[] = [];
  r.data.providers.forEach((p, i) => {
    if (r.data.providers.findIndex((q) => q.name === p.name) !== i)
      issues.push({ path: `providers[${i}].name`, message: `duplicate provider name "${p.name}"` });
  });
  r.data.routes.forEach((route, i) => {
    if (!providers.has(route.provider))
      issues.push({
        path: `routes[${i}].provider`,
        message: `unknown provider "${route.provider}"; declared providers: ${[...providers].join(', ') || '(none)'}`,
      });
  });
  if (issues.length) return { ok: false, issues };
  return { ok: true, config: r.data };
}

/** Reads a YAML config file into raw config; a missing file path is an error with a clear message. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `cannot read config file ${path}: ${(err as Error).message}`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', `${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', `${path} must hold a YAML mapping at the top level`);
  return doc as Record<string, unknown>;
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Raw overrides applied last (from CLI flags). */
  overrides?: (raw: Record<string, unknown>) => Record<string, unknown>;
}

/** Loads, validates and freezes the config; throws one LlmscopeError listing every issue. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.LLMSCOPE_CONFIG;
  let raw = file ? readConfigFile(file) : {};
  raw = applyEnv(raw, env);
  if (opts.overrides) raw = opts.overrides(raw);
  const r = validateConfig(raw);
  if (!r.ok) {
    const list = r.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n');
    throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', `invalid config${file ? ` in ${file}` : ''}:\n${list}`);
  }
  return deepFreeze(r.config);
}
