// The one config schema (zod): every key optional, defaults here, `Config` inferred from it.
import { z } from 'zod';
import { alertsSchema } from '../alerts/config.js';
import { budgetsSchema, costsSchema, keysSchema, pricingSchema } from '../cost/config.js';
import { gpuConfigSchema } from '../gpu/config.js';
import { qualityConfigSchema } from '../quality/config.js';
import { DURATION_PATTERN, durationMs, durationSchema, timerDurationSchema } from '../time.js';

const duration = durationSchema;
/** What `server.workers` takes, said whenever a value is refused (0 and 300 as much as "many"). */
const WORKERS_EXPECTED = 'a whole number of gateway processes from 1 to 256, or "auto" (one per core, less one)';

export const providerSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" or "-"'),
    /** The wire format the upstream speaks: its calls come in on that format's routes (docs/send-calls.md). */
    type: z.enum(['openai-compatible', 'anthropic', 'openai-responses', 'gemini']).default('openai-compatible'),
    /** http(s) only: anything else (ftp://, file://) passed the check and then stopped serve with undici's error. */
    baseUrl: z.url({ protocol: /^https?$/, message: 'an absolute http(s) URL such as https://api.openai.com/v1' }),
    /** Name of the environment variable holding the upstream's API key (the key itself never sits in config). */
    apiKeyEnv: z.string().optional(),
    /**
     * Google credentials llmscope holds for a Vertex AI provider: the path of a service account's key JSON, or `adc`
     * (Application Default Credentials). It mints the OAuth token (cloud-platform scope) and sends it as
     * `Authorization: Bearer` when the client sends none of its own or used a virtual key (docs/send-calls.md).
     */
    googleCredentials: z.string().min(1).optional(),
    /** Model name patterns this provider serves (`*` wildcards); used when no `routes` entry matches. */
    models: z.array(z.string()).default([]),
    /** Extra headers sent upstream (not secrets). */
    headers: z.record(z.string(), z.string()).default({}),
    /**
     * At most this many connections to this upstream per gateway process: a call past it waits for one to free (its
     * wait counts in its TTFT). Unset: no cap, each call in flight has its own (server.maxConcurrentCalls bounds them);
     * a default of 128 made the 129th concurrent stream wait for a whole stream to end before it began.
     */
    connections: z.number().int().positive().optional(),
    timeout: duration.default('600s'),
  })
  .strict();

export const routeSchema = z
  .object({
    model: z.string().min(1),
    provider: z.string().min(1),
    /** Model name sent upstream, when it differs from the one the client asked for. */
    upstreamModel: z.string().optional(),
  })
  .strict();

/**
 * A token for /api and the dashboard with its own role and optional scope (docs/security.md). The token itself never
 * sits in the config: `tokenHash` is its `sha256:<hex>` (`llmscope tokens create` prints both once), or `tokenEnv`
 * names the environment variable holding it.
 */
export const authTokenSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._@-]*$/, 'lowercase letters, digits, ".", "_", "@" or "-"')
      .max(64)
      .refine((n) => n !== 'admin', { message: '"admin" is the name of server.adminToken; choose another' }),
    role: z.enum(['viewer', 'operator', 'admin']),
    tokenHash: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, '"sha256:" and 64 lowercase hex digits (llmscope tokens create prints it)')
      .optional(),
    tokenEnv: z.string().min(1).optional(),
    /** Only calls, spend, quality and alerts of these teams (and features) are visible. */
    teams: z.array(z.string().min(1)).min(1).optional(),
    features: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()
  .refine((t) => (t.tokenHash === undefined) !== (t.tokenEnv === undefined), {
    message: 'give exactly one of tokenHash or tokenEnv',
  })
  .refine((t) => t.role !== 'admin' || (t.teams === undefined && t.features === undefined), {
    message: 'an admin sees every team; give teams/features to viewer or operator tokens only',
  });

const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/;

/** Sign-in with an OpenID Connect issuer (authorization code + PKCE); groups map to roles (docs/security.md). */
export const oidcSchema = z
  .object({
    /** The issuer URL (its /.well-known/openid-configuration is read); https, or http on loopback for development. */
    issuer: z.url().refine((u) => u.startsWith('https://') || LOOPBACK_HOST.test(new URL(u).hostname), {
      message: 'https (plain http only for an issuer on loopback)',
    }),
    clientId: z.string().min(1),
    /** Environment variable holding the client secret; without it llmscope is a public client (PKCE only). */
    clientSecretEnv: z.string().min(1).optional(),
    /** This llmscope's callback as registered with the issuer, ending in /auth/oidc/callback. */
    redirectUrl: z.url().refine((u) => new URL(u).pathname === '/auth/oidc/callback', {
      message: 'the URL of /auth/oidc/callback on this llmscope, e.g. https://llmscope.example.com/auth/oidc/callback',
    }),
    scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']),
    groupsClaim: z.string().min(1).default('groups'),
    nameClaim: z.string().min(1).default('email'),
    /** Group → role (and scope); the first entry whose group the user is in wins; in none of them: no sign-in. */
    groups: z
      .array(
        z
          .object({
            group: z.string().min(1),
            role: z.enum(['viewer', 'operator', 'admin']),
            teams: z.array(z.string().min(1)).min(1).optional(),
            features: z.array(z.string().min(1)).min(1).optional(),
          })
          .strict()
          .refine((g) => g.role !== 'admin' || (g.teams === undefined && g.features === undefined), {
            message: 'an admin sees every team; give teams/features to viewer or operator groups only',
          }),
      )
      .min(1),
  })
  .strict();

/** server.bodyLimit's form, as its message says it. */
const BODY_LIMIT = 'bytes, a whole number above 0, e.g. 52428800 for 50 MiB (the default)';

export const configSchema = z
  .object({
    server: z
      .object({
        // a blank host (LLMSCOPE_HOST=" ") was taken as a non-loopback host; refused as a blank port is
        host: z
          .string()
          .regex(/^\S+$/, 'a host name or IP address to listen on (127.0.0.1, 0.0.0.0, ::), not blank or with spaces')
          .default('127.0.0.1'),
        port: z.number('a port number from 0 to 65535').int().min(0).max(65535).default(8080),
        adminToken: z.string().min(8, 'at least 8 characters').optional(),
        // zod said "Invalid input: expected number, received string" for 10mb and "Too small: expected number to be >0"
        bodyLimit: z
          .number({ error: BODY_LIMIT })
          .int({ error: BODY_LIMIT })
          .positive({ error: BODY_LIMIT })
          .default(50 * 1024 * 1024),
        shutdownGrace: duration.default('30s'),
        /**
         * Longest pause between two pieces of a request body (nginx's client_body_timeout): past it the request is
         * answered 408 and its connection closed. A slow upload that keeps moving is never cut.
         */
        // a timer duration: a longer one than Node keeps would fire after 1 ms (every body paused for a moment 408)
        bodyIdleTimeout: timerDurationSchema
          .refine((d) => (typeof d === 'string' && !DURATION_PATTERN.test(d)) || durationMs(d) >= 1000, 'at least 1s')
          .default('60s'),
        /**
         * Gateway calls in flight at once; past it, a new call gets 503 with Retry-After (overload protection: memory
         * and latency stay bounded instead of growing with the queue).
         */
        maxConcurrentCalls: z.number().int().positive().default(4096),
        /** Request-body bytes that calls in flight may hold in all; past it, a new call gets 503 with Retry-After. */
        maxBufferedBytes: z
          .number()
          .int()
          .positive()
          .default(512 * 1024 * 1024),
        /** How long a dashboard sign-in lasts. */
        sessionTtl: duration.default('12h'),
        /**
         * Whether to believe X-Forwarded-Proto / X-Forwarded-Host: `true` for any peer, or the proxies' addresses.
         * Decides the session cookie's `Secure` flag and the host cross-origin requests are checked against.
         */
        trustProxy: z
          .union([z.boolean(), z.array(z.string().min(1))], {
            error: "true, false, or the proxies' addresses, e.g. ['10.0.0.5']",
          })
          .default(false),
        /** Browser origins (e.g. https://grafana.example.com) allowed to call /api with a bearer token (CORS). */
        corsOrigins: z
          .array(z.string().regex(/^https?:\/\/[^/]+$/, 'an origin like https://host:port (no path)'))
          .default([]),
        /** When set, GET /metrics needs `Authorization: Bearer <metricsToken>` (or the admin token). */
        metricsToken: z.string().min(8, 'at least 8 characters').optional(),
        /** Serve HTTPS with this PEM certificate (chain) and key, for setups without a TLS-terminating proxy. */
        tls: z
          .object({ cert: z.string().min(1), key: z.string().min(1) })
          .strict()
          .optional(),
        /**
         * Off loopback, a provider with a server-side key (apiKeyEnv) and no virtual keys would relay anyone's calls
         * on that key; `serve` refuses to start so unless this says the exposure is intended.
         */
        allowUnauthenticatedGateway: z.boolean().default(false),
        /**
         * Gateway processes sharing the port (`serve --workers`): 1 serves everything in one process; N ≥ 2 runs N
         * workers for /v1 plus one recorder process (store, enrichers, sinks, modules); `auto` is one per core, less one.
         */
        workers: z
          .union([z.number().int().min(1, WORKERS_EXPECTED).max(256, WORKERS_EXPECTED), z.literal('auto')], {
            error: WORKERS_EXPECTED,
          })
          .default(1),
        /**
         * With workers: a gateway worker that has not said it serves this long after it was started, or that has not
         * answered the recorder's heartbeat for this long (a busy loop, SIGSTOP), is killed and started again.
         */
        // a timer's delay: a longer one fired after 1 ms, killing every worker as it started (start_timeout)
        workerTimeout: timerDurationSchema
          // (a value that is not a duration at all is refused by the union: this check leaves it be)
          .refine(
            (d) => (typeof d === 'string' && !DURATION_PATTERN.test(d)) || durationMs(d) >= 1000,
            'at least 1s (a worker needs about a second to start)',
          )
          .default('30s'),
      })
      .strict()
      .prefault({}),
    providers: z.array(providerSchema).default([]),
    routes: z.array(routeSchema).default([]),
    storage: z
      .object({
        url: z.string().default('sqlite:./llmscope-data/llmscope.db'),
        /**
         * How long finished calls wait to be written together (one transaction per batch is far cheaper than one per
         * call). A crash (SIGKILL, OOM kill, power loss of the process) loses at most the calls that finished in the
         * last flushInterval, plus those finished while the last write ran.
         */
        // a timer's interval: a longer one than 24 days fired every millisecond
        flushInterval: timerDurationSchema.default('50ms'),
        /** `every-call`: write as soon as calls finish (flushInterval 0): less lost in a crash, more CPU per call. */
        durability: z.enum(['batch', 'every-call']).default('batch'),
        /**
         * SQLite: write calls, spend and quality records from a thread of their own (its own connection), so the
         * event loop serving calls never runs a transaction. `false` writes them on the event loop, one thread, for a
         * host that cannot give the thread a core.
         */
        writerThread: z.boolean().default(true),
        retention: z
          .object({
            raw: duration.default('30d'),
            minute: duration.default('7d'),
            hour: duration.default('400d'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    recorder: z
      .object({ capacity: z.number().int().positive().default(10_000) })
      .strict()
      .prefault({}),
    telemetry: z
      .object({
        serviceName: z.string().default('llmscope'),
        otlpEndpoint: z
          .url({ protocol: /^https?$/, message: 'an absolute http(s) URL such as http://otel-collector:4318' })
          .optional(),
        /** Link template to the user's tracing UI, e.g. http://jaeger:16686/trace/{trace_id}. */
        traceUrlTemplate: z.string().optional(),
        logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        logFormat: z.enum(['json', 'ecs']).default('json'),
        captureContent: z.boolean().default(false),
        /**
         * Log lines kept with each call (GET /api/requests/:id `logs`): the first this many that carried its
         * request_id, as written to stdout; later ones are counted (`logs_dropped`). 0 keeps none.
         */
        callLogLines: z.number().int().min(0).max(1000).default(50),
        labelBudget: z.number().int().positive().default(100),
        labelHardCap: z.number().int().positive().default(1000),
      })
      .strict()
      .prefault({}),
    privacy: z
      .object({
        /**
         * Redact personal data and secrets (emails, phones, payment cards, IBANs, national ids, IP addresses, keys and
         * tokens, plus `patterns`) in a call's text before anything keeps or sends it on: captured content, quality
         * evidence and the review queue, LLM-judge requests. Counted in llmscope_redactions_total{kind}.
         */
        redact: z.boolean().default(true),
        /** Extra patterns: a kind name (a metric label value) and a JavaScript regular expression. */
        patterns: z
          .array(
            z
              .object({
                name: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'lowercase letters, digits and _ (at most 32)'),
                pattern: z.string().min(1),
              })
              .strict()
              .refine(
                (p) => {
                  try {
                    new RegExp(p.pattern, 'g');
                    return true;
                  } catch {
                    return false;
                  }
                },
                { message: 'not a valid regular expression', path: ['pattern'] },
              ),
          )
          .max(50)
          .default([]),
        /**
         * Also redact the prompt before it goes upstream, so the provider never receives what the patterns find. It
         * costs time on every call (docs/privacy.md) and changes what the model sees (`[redacted-email]`).
         */
        maskUpstream: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    // Sections owned by later capabilities; validated by their own schemas as they land.
    keys: keysSchema.default([]),
    pricing: pricingSchema.prefault({}),
    budgets: budgetsSchema.default([]),
    costs: costsSchema.prefault({}),
    quality: qualityConfigSchema.prefault({}),
    alerts: alertsSchema.prefault({}),
    gpu: gpuConfigSchema.prefault({}),
    auth: z
      .object({
        tokens: z
          .array(authTokenSchema)
          .default([])
          .refine((ts) => new Set(ts.map((t) => t.name)).size === ts.length, { message: 'token names must be unique' }),
        oidc: oidcSchema.optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ProviderConfig = z.infer<typeof providerSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;

export { durationMs } from '../time.js';
