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

/** The environment overrides: which variable sets which config key, and how its text is read. */
const ENV_OVERRIDES: readonly {
  variable: string;
  section: string;
  key: string;
  read?: (v: string) => unknown;
  /** Its value is never repeated in a message (a token, a URL that may hold a password). */
  secret?: boolean;
}[] = [
  { variable: 'LLMSCOPE_HOST', section: 'server', key: 'host' },
  // Digits only, as --port and --workers take them: Number would read "0x1F90" as 8080 and a blank " " as 0 (a random
  // port); anything else is left as text, which the schema refuses with what to give instead.
  { variable: 'LLMSCOPE_PORT', section: 'server', key: 'port', read: (v) => (/^\s*\d+\s*$/.test(v) ? Number(v) : v) },
  {
    variable: 'LLMSCOPE_WORKERS',
    section: 'server',
    key: 'workers',
    read: (v) => (/^\s*\d+\s*$/.test(v) ? Number(v) : v),
  },
  { variable: 'LLMSCOPE_ADMIN_TOKEN', section: 'server', key: 'adminToken', secret: true },
  { variable: 'LLMSCOPE_METRICS_TOKEN', section: 'server', key: 'metricsToken', secret: true },
  { variable: 'LLMSCOPE_STORAGE_URL', section: 'storage', key: 'url', secret: true },
  { variable: 'LLMSCOPE_LOG_LEVEL', section: 'telemetry', key: 'logLevel' },
  { variable: 'LLMSCOPE_OTLP_ENDPOINT', section: 'telemetry', key: 'otlpEndpoint' },
  { variable: 'OTEL_EXPORTER_OTLP_ENDPOINT', section: 'telemetry', key: 'otlpEndpoint' },
];

/** The overrides `env` makes, in the order they apply (a later one for the same key is ignored, as applyEnv does). */
function overridesIn(env: NodeJS.ProcessEnv) {
  const seen = new Set<string>();
  const out: {
    variable: string;
    path: string;
    text: string;
    value: unknown;
    secret: boolean;
    section: string;
    key: string;
  }[] = [];
  for (const o of ENV_OVERRIDES) {
    const text = env[o.variable];
    const path = `${o.section}.${o.key}`;
    if (!text || seen.has(path)) continue;
    seen.add(path);
    out.push({ ...o, path, text, value: o.read ? o.read(text) : text, secret: o.secret === true });
  }
  return out;
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
  for (const o of overridesIn(env)) section(o.section)[o.key] = o.value;
  return out;
}

/**
 * The environment variable the value behind a config issue came from, as it reads in a message (`LLMSCOPE_WORKERS="x"`,
 * a secret's name alone), or null when the value is the file's or a flag's: `raw` is the config as validated, so a
 * value a flag put over the variable's is the flag's.
 */
export function envSourceOf(issuePath: string, raw: Record<string, unknown>, env: NodeJS.ProcessEnv): string | null {
  for (const o of overridesIn(env)) {
    if (issuePath !== o.path && !issuePath.startsWith(`${o.path}.`) && !issuePath.startsWith(`${o.path}[`)) continue;
    const sec = raw[o.section];
    const now = sec && typeof sec === 'object' ? (sec as Record<string, unknown>)[o.key] : undefined;
    if (!Object.is(now, o.value)) return null;
    return o.secret ? o.variable : `${o.variable}=${JSON.stringify(o.text)}`;
  }
  return null;
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
    // A value from an environment variable is named by the variable, not by the file it is not in.
    const from = r.issues.map((i) => envSourceOf(i.path, raw, env));
    const list = r.issues
      .map((i, n) => `  ${i.path}${from[n] ? ` (from the environment variable ${from[n]})` : ''}: ${i.message}`)
      .join('\n');
    const where = from.every((f) => f !== null) ? ' from the environment' : file ? ` in ${file}` : '';
    throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', `invalid config${where}:\n${list}`);
  }
  return deepFreeze(r.config);
}
