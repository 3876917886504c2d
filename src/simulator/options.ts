// Options of the simulated upstream: defaults, and validation done once when the server is built (the CLI and
// per-request headers use the same checks), so a bad value is reported with its name instead of misbehaving.

export interface SimulatorOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** Time to first content token, ms. */
  ttftMs?: number;
  /** Time between content tokens, ms. */
  tpotMs?: number;
  /** Tokens generated when the request does not cap them (max_tokens / max_completion_tokens). */
  outputTokens?: number;
  /** Draw delays from a log-normal around ttftMs / tpotMs (seeded) instead of exact delays. */
  jitter?: boolean;
  /** Share of requests answered 500. */
  errorRate?: number;
  /** Share of requests answered 429. */
  rateLimitRate?: number;
  /** Share of requests accepted and never answered. */
  timeoutRate?: number;
  /** Share of requests whose connection is cut half-way. */
  cutRate?: number;
  /** Share of chat/completions requests the model refuses. */
  refusalRate?: number;
  /** Seed of every random choice (text, faults, jitter). */
  seed?: number;
  /** Embedding size when the request gives no `dimensions`. */
  embeddingDimensions?: number;
  /** Model ids listed by GET /v1/models (any model id is accepted by the other routes). */
  models?: readonly string[];
  /**
   * Chat and completions requests with `stream_options` are answered 400 "Unrecognized request argument supplied:
   * stream_options", as Azure OpenAI before api-version 2024-09-01-preview does; `'pydantic'`: 422 with FastAPI's
   * `{"detail": [{"type": "extra_forbidden", "loc": ["body", "stream_options"], ...}]}`, as a server whose request
   * model forbids extra fields does.
   */
  refuseStreamOptions?: boolean | 'pydantic';
}

export type ResolvedSimulatorOptions = Readonly<Required<SimulatorOptions>>;

export const SIMULATOR_DEFAULTS: ResolvedSimulatorOptions = {
  port: 0,
  host: '127.0.0.1',
  ttftMs: 200,
  tpotMs: 20,
  outputTokens: 64,
  jitter: false,
  errorRate: 0,
  rateLimitRate: 0,
  timeoutRate: 0,
  cutRate: 0,
  refusalRate: 0,
  seed: 42,
  embeddingDimensions: 1536,
  models: [
    'gpt-4o-mini',
    'gpt-4o',
    'gpt-4.1',
    'gpt-4.1-mini',
    'gpt-3.5-turbo-instruct',
    'claude-sonnet-4',
    'llama-3.1-8b-instruct',
    'text-embedding-3-small',
    'text-embedding-3-large',
  ],
  refuseStreamOptions: false,
};

/** Upper bounds that keep one request's memory and duration sane. */
export const MAX_OUTPUT_TOKENS = 100_000;
export const MAX_DELAY_MS = 600_000;
export const MAX_DIMENSIONS = 8192;

export class SimulatorOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulatorOptionError';
  }
}

type Kind = 'ms' | 'tokens' | 'rate' | 'port' | 'seed' | 'dimensions';

const RULES: Record<Kind, { ok: (n: number) => boolean; says: string }> = {
  ms: { ok: (n) => n >= 0 && n <= MAX_DELAY_MS, says: `a number of milliseconds from 0 to ${MAX_DELAY_MS}` },
  tokens: {
    ok: (n) => Number.isInteger(n) && n >= 0 && n <= MAX_OUTPUT_TOKENS,
    says: `an integer from 0 to ${MAX_OUTPUT_TOKENS}`,
  },
  rate: { ok: (n) => n >= 0 && n <= 1, says: 'a share from 0 to 1 (e.g. 0.05 for 5%)' },
  port: { ok: (n) => Number.isInteger(n) && n >= 0 && n <= 65535, says: 'an integer from 0 to 65535' },
  seed: { ok: (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, says: 'an integer from 0 to 4294967295' },
  dimensions: {
    ok: (n) => Number.isInteger(n) && n >= 1 && n <= MAX_DIMENSIONS,
    says: `an integer from 1 to ${MAX_DIMENSIONS}`,
  },
};

/** Checks one number; throws SimulatorOptionError naming `name` and the accepted range. */
export function checkNumber(name: string, value: unknown, kind: Kind): number {
  const rule = RULES[kind];
  if (typeof value !== 'number' || !Number.isFinite(value) || !rule.ok(value)) {
    throw new SimulatorOptionError(`${name} must be ${rule.says}, got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

/** Parses a number written as text (a CLI flag or a header), then checks it. */
export function parseNumber(name: string, text: string, kind: Kind): number {
  const trimmed = text.trim();
  const n = trimmed === '' ? Number.NaN : Number(trimmed);
  if (Number.isNaN(n)) throw new SimulatorOptionError(`${name} must be ${RULES[kind].says}, got "${text}"`);
  return checkNumber(name, n, kind);
}

const RATES = ['errorRate', 'rateLimitRate', 'timeoutRate', 'cutRate', 'refusalRate'] as const;

/** Defaults filled in and every value checked. */
export function resolveSimulatorOptions(opts: SimulatorOptions = {}): ResolvedSimulatorOptions {
  const o = { ...SIMULATOR_DEFAULTS, ...stripUndefined(opts) };
  checkNumber('port', o.port, 'port');
  checkNumber('ttftMs', o.ttftMs, 'ms');
  checkNumber('tpotMs', o.tpotMs, 'ms');
  checkNumber('outputTokens', o.outputTokens, 'tokens');
  checkNumber('seed', o.seed, 'seed');
  checkNumber('embeddingDimensions', o.embeddingDimensions, 'dimensions');
  let sum = 0;
  for (const r of RATES) sum += checkNumber(r, o[r], 'rate');
  if (sum > 1 + 1e-9) {
    throw new SimulatorOptionError(`the fault rates add up to ${sum}; together they must be at most 1`);
  }
  if (typeof o.host !== 'string' || o.host === '') throw new SimulatorOptionError('host must be a non-empty string');
  if (typeof o.jitter !== 'boolean') throw new SimulatorOptionError('jitter must be true or false');
  if (typeof o.refuseStreamOptions !== 'boolean' && o.refuseStreamOptions !== 'pydantic')
    throw new SimulatorOptionError("refuseStreamOptions must be true, false or 'pydantic'");
  return Object.freeze({ ...o, models: Object.freeze([...o.models]) });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
