// Loading config: YAML file (optional) + environment overrides + CLI flags, validated once and frozen.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { LlmscopeError, missingIsRequired } from '../errors.js';
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
    message: i.code === 'unrecognized_keys' ? unknownKeyMessage(i.message, i.path, i.keys) : i.message,
  }));
}

/** A schema without its optional, default and transform wrappers. */
function unwrapped(s: unknown): unknown {
  for (let n = 0; n < 16 && s; n++) {
    const def = (s as { _zod?: { def?: { innerType?: unknown; type?: string; in?: unknown } } })._zod?.def;
    if (def?.innerType) s = def.innerType;
    else if (def?.type === 'pipe') s = def.in;
    else break;
  }
  return s;
}

/** The keys the config object at `path` takes (none known: an empty list). */
function keysAt(path: readonly PropertyKey[]): string[] {
  let s: unknown = configSchema;
  for (const p of path) {
    s = unwrapped(s);
    s =
      typeof p === 'number'
        ? (s as { _zod?: { def?: { element?: unknown } } })?._zod?.def?.element
        : (s as { shape?: Record<string, unknown> })?.shape?.[String(p)];
  }
  const shape = (unwrapped(s) as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

/** Edits (insert, delete, replace, swap two neighbours) from a to b: "prot" is one from "port". */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, (before[j - 2] as number) + 1);
      row[j] = d;
    }
    before = prev;
    prev = row;
  }
  return prev[b.length] as number;
}

/**
 * zod's "Unrecognized key" with what to write instead: the known key a typo is closest to (`baseURL` → `baseUrl`,
 * `provders` → `providers`), else the keys that place takes.
 */
function unknownKeyMessage(message: string, path: readonly PropertyKey[], keys: readonly string[]): string {
  const known = keysAt(path);
  if (known.length === 0) return message;
  const hints = keys.map((k) => {
    const low = k.toLowerCase();
    let best: string | undefined;
    let bestD = Math.max(1, Math.min(2, Math.floor(k.length / 4)));
    for (const c of known) {
      const d = c.toLowerCase() === low ? 0 : editDistance(low, c.toLowerCase());
      if (d <= bestD) {
        best = c;
        bestD = d;
      }
    }
    return best;
  });
  if (hints.every((h) => h !== undefined)) return `${message}; did you mean ${hints.map((h) => `"${h}"`).join(', ')}?`;
  return `${message}; ${path.length ? 'this section' : 'the top level'} takes ${known.join(', ')}`;
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
  const r = configSchema.safeParse(raw ?? {}, { error: missingIsRequired });
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
