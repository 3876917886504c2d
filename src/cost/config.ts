// The cost sections of the config (zod): `keys` (virtual keys), `pricing` (overrides and additions to the catalog),
// `budgets`, and `costs` (non-API cost sources, spend storage, reconciliation). Every key is optional.
// Self-contained (imports only zod) because config/schema.ts imports this file.
import { z } from 'zod';
import { BUILT_IN_TOOLS } from '../calls/index.js';
import { durationSchema } from '../time.js';

const duration = durationSchema;
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date like 2025-01-31');
const money = z.number().nonnegative();
const perMillion = z.number().nonnegative();
const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'letters, digits, "_", ".", ":" or "-" (at most 64)');

export const BUDGET_SCOPES = ['global', 'user', 'team', 'feature', 'key'] as const;
export type BudgetScope = (typeof BUDGET_SCOPES)[number];

const budgetFields = {
  period: z.enum(['day', 'month']).default('month'),
  /** USD per period. */
  limit: money,
  /** Ratios of the limit (0..1+) at which a warning is logged once per period. */
  warn: z.array(z.number().positive().max(10)).default([0.8, 1]),
  /** alert: warn only; block: answer over-budget calls with 429 budget_exceeded. */
  action: z.enum(['alert', 'block']).default('block'),
  /** Output tokens reserved when a request sets no max_tokens. */
  reserveOutputTokens: z.number().int().positive().default(4096),
};

export const budgetSchema = z
  .object({
    name,
    scope: z.enum(BUDGET_SCOPES).default('global'),
    /** One user/team/feature/key this budget applies to; absent = each value of the scope gets its own limit. */
    match: z.string().min(1).optional(),
    ...budgetFields,
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.scope === 'global' && b.match !== undefined)
      ctx.addIssue({ code: 'custom', path: ['match'], message: 'a global budget has no "match"' });
  });

export const budgetsSchema = z.array(budgetSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((b, i) => {
    if (seen.has(b.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate budget "${b.name}"` });
    seen.add(b.name);
  });
});

/** A key's model allow-list: names or patterns (`*` any characters, `?` one; as `routes` match), at most 100. */
export const keyModelsSchema = z
  .array(
    z
      .string()
      .min(1)
      .max(256)
      .regex(/^[^\p{Cc}\s]*$/u, 'a model name or pattern, without spaces or control characters'),
  )
  .max(100);

export const keySchema = z
  .object({
    /** Shown as `api_key_id` and in budgets; never the key itself. */
    id: name,
    /** `sha256:<64 hex>` of the whole `lsk_...` key (see docs/cost.md for how to compute it). */
    hash: z
      .string()
      .regex(/^sha256:[0-9a-fA-F]{64}$/, 'sha256: followed by 64 hex digits')
      .optional(),
    /** Name of an environment variable holding the plain `lsk_...` key (hashed at start, never kept). */
    keyEnv: z.string().min(1).optional(),
    user: z.string().min(1).max(256).optional(),
    team: z.string().min(1).max(256).optional(),
    feature: z.string().min(1).max(256).optional(),
    /** Attribution headers still honoured for calls with this key (user and team come from the key otherwise). */
    trustHeaders: z.array(z.enum(['user', 'team', 'feature', 'session'])).default(['feature', 'session']),
    /** This key's own budget. */
    budget: z.object(budgetFields).strict().optional(),
    /** Requests per minute this key may send (429 with Retry-After beyond it; docs/keys.md). */
    rpm: z.number().int().positive().optional(),
    /** Tokens (input + output) per minute this key may use. */
    tpm: z.number().int().positive().optional(),
    /** Models calls with this key may name (names or `*`/`?` patterns); absent or empty: every model (docs/keys.md). */
    models: keyModelsSchema.optional(),
    disabled: z.boolean().default(false),
  })
  .strict()
  .superRefine((k, ctx) => {
    if ((k.hash === undefined) === (k.keyEnv === undefined))
      ctx.addIssue({ code: 'custom', path: ['hash'], message: 'give exactly one of "hash" (sha256:...) or "keyEnv"' });
  });

export const keysSchema = z.array(keySchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((k, i) => {
    if (seen.has(k.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate key id "${k.id}"` });
    seen.add(k.id);
  });
});

const tierSchema = z
  .object({
    /** The tier applies when the prompt (input tokens, cached included) is larger than this. */
    aboveInputTokens: z.number().int().positive(),
    input: perMillion,
    output: perMillion,
    cachedInput: perMillion.optional(),
    cacheWrite: perMillion.optional(),
  })
  .strict();

export const priceOverrideSchema = z
  .object({
    /** Model name, or a pattern with `*` wildcards. */
    model: z.string().min(1),
    /** Only calls routed to this provider (config `providers[].name`). */
    provider: z.string().min(1).optional(),
    /** USD per 1M tokens. */
    input: perMillion.optional(),
    output: perMillion.optional(),
    /** USD per 1M cached input tokens (default: the input price). */
    cachedInput: perMillion.optional(),
    cacheWrite: perMillion.optional(),
    /** USD per 1M audio tokens (Realtime, transcription): input, cached input (default: audioInput), output. */
    audioInput: perMillion.optional(),
    cachedAudioInput: perMillion.optional(),
    audioOutput: perMillion.optional(),
    tiers: z.array(tierSchema).default([]),
    /**
     * Per-unit prices (docs/cost.md): USD per image by quality, then size (`{ standard: { 1024x1024: 0.04 } }`), per
     * minute of audio (billed by the second), per 1M characters of input text. Alone or beside token prices.
     */
    perImage: z
      .record(z.string(), z.record(z.string(), money))
      .superRefine((t, ctx) => {
        const qualities = Object.keys(t);
        if (qualities.length === 0 || qualities.some((q) => Object.keys(t[q] ?? {}).length === 0))
          ctx.addIssue({
            code: 'custom',
            message: 'give at least one quality with at least one size and its price per image (USD)',
          });
        for (const q of qualities) {
          if (!/^[a-z][a-z0-9_-]{0,31}$/.test(q))
            ctx.addIssue({ code: 'custom', path: [q], message: 'a quality such as standard, hd, low, medium or high' });
          for (const size of Object.keys(t[q] ?? {}))
            if (!/^[1-9]\d{1,4}x[1-9]\d{1,4}$/.test(size))
              ctx.addIssue({ code: 'custom', path: [q, size], message: 'a size such as 1024x1024' });
        }
      })
      .optional(),
    perMinute: money.optional(),
    perMillionCharacters: money.optional(),
    /** Price this model like a catalog entry (id such as `openai/gpt-4o`, or any name the catalog knows). */
    sameAs: z.string().min(1).optional(),
    /** From this date (UTC); earlier calls use the catalog. */
    effectiveFrom: day.optional(),
    /**
     * Self-hosted on GPUs billed by the hour: calls cost 0 per token (marked `config:gpu-hours`) and
     * the GPUs' time is a non-API cost, by day.
     */
    gpuHours: z.object({ gpus: z.number().positive(), pricePerGpuHour: money }).strict().optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const perToken = p.input !== undefined || p.output !== undefined;
    const perUnit = p.perImage !== undefined || p.perMinute !== undefined || p.perMillionCharacters !== undefined;
    const ways = [perToken || perUnit, p.sameAs !== undefined, p.gpuHours !== undefined].filter(Boolean).length;
    if (ways !== 1)
      ctx.addIssue({
        code: 'custom',
        // at the field that is one way too many (a rule of perMillionCharacters and sameAs: at sameAs), else at input
        path: [ways > 1 ? (p.sameAs !== undefined && (perToken || perUnit) ? 'sameAs' : 'gpuHours') : 'input'],
        message:
          'price a model one way: input/output (per 1M tokens) and/or perImage/perMinute/perMillionCharacters, sameAs (a catalog model), or gpuHours',
      });
    if (perToken && (p.input === undefined || p.output === undefined))
      ctx.addIssue({ code: 'custom', path: ['output'], message: 'give both input and output (USD per 1M tokens)' });
  });

export const toolPriceSchema = z
  .object({
    tool: z.enum(BUILT_IN_TOOLS),
    /** Only calls routed to this provider (config `providers[].name`). */
    provider: z.string().min(1).optional(),
    /** Model name, or a pattern with `*` wildcards; absent: every model. */
    model: z.string().min(1).optional(),
    /** USD per 1,000 uses (0: free). */
    perThousand: money,
  })
  .strict();

export const pricingSchema = z
  .object({
    /** Use the built-in catalog (src/cost/catalog); off = only `models` below are priced. */
    catalog: z.boolean().default(true),
    // a map by model name was refused with zod's "Invalid input: expected array, received object"
    models: z
      .array(priceOverrideSchema, {
        error: (i) =>
          `a list of model prices${i.input !== null && typeof i.input === 'object' ? ', not a map by model name' : ''}: [{ model: my-model, input: 2.5, output: 10 }] (USD per 1M tokens)`,
      })
      .default([]),
    /** Extra names for catalog models, e.g. `{ "prod-chat": "gpt-4o" }`. */
    aliases: z.record(z.string(), z.string()).default({}),
    /**
     * Prices of built-in tools billed per use (web search, file search, web fetch), before the catalog's: the first
     * rule that matches a call's tool, provider and model applies (docs/cost.md "Built-in tools").
     */
    tools: z.array(toolPriceSchema).default([]),
    /** Users kept as their own series in `llm_user_cost_usd_total` (heavy-hitters sketch); the rest are `__other__`. */
    topUsers: z.number().int().positive().max(1000).default(100),
  })
  .strict();

const itemSchema = z
  .object({
    name,
    /** From this date (UTC, inclusive); default: always. */
    from: day.optional(),
    /** Until this date (UTC, inclusive). */
    to: day.optional(),
    /** The provider whose bill carries this item, if any (reconciliation compares it with the bill's non-token lines). */
    provider: z.string().min(1).optional(),
  })
  .strict();

export const costsSchema = z
  .object({
    /** GPUs paid by the hour, whether busy or not (measured GPU use is the gpu section's). */
    gpu: z.array(itemSchema.extend({ gpus: z.number().positive(), pricePerGpuHour: money }).strict()).default([]),
    /** Vector database storage. */
    vectorDb: z.array(itemSchema.extend({ gb: z.number().nonnegative(), pricePerGbMonth: money }).strict()).default([]),
    /** Network egress: request + response bytes measured at the gateway, at this price per GB (10^9 bytes). */
    egress: z
      .object({ pricePerGb: money, name: name.default('egress') })
      .strict()
      .optional(),
    /** Fixed monthly items (seats, subscriptions, support plans), spread evenly over the month's days. */
    fixed: z.array(itemSchema.extend({ monthlyUsd: money }).strict()).default([]),
    /** Cost line item files (CSV or JSON: date, name, amount_usd[, category, provider]) loaded at start. */
    itemFiles: z.array(z.string().min(1)).default([]),
    /** How long per-minute spend aggregates are kept (daily ones follow storage retention of the store). */
    minuteRetention: duration.default('2d'),
    /** Reconciliation: a gap above this share of the bill is the `reconciliation_gap` alert signal's concern. */
    reconciliationGapThreshold: z.number().min(0).max(1).default(0.05),
  })
  .strict();

export type BudgetConfig = z.infer<typeof budgetSchema>;
export type KeyConfig = z.infer<typeof keySchema>;
export type PriceOverride = z.infer<typeof priceOverrideSchema>;
export type PricingConfig = z.infer<typeof pricingSchema>;
export type ToolPriceRule = z.infer<typeof toolPriceSchema>;
export type CostsConfig = z.infer<typeof costsSchema>;

/** The parts of the whole config the cost capability reads (so tests can pass just these). */
export interface CostConfig {
  keys: KeyConfig[];
  pricing: PricingConfig;
  budgets: BudgetConfig[];
  costs: CostsConfig;
  /** The gateway's providers (from the app's config): their base URLs tell which catalog provider bills them. */
  providers?: readonly { name: string; baseUrl: string }[];
}

/** Parses the cost sections alone (tests, tools); the app gets them through the main schema. */
export function costConfigOf(raw: {
  keys?: unknown;
  pricing?: unknown;
  budgets?: unknown;
  costs?: unknown;
}): CostConfig {
  return {
    keys: keysSchema.parse(raw.keys ?? []),
    pricing: pricingSchema.parse(raw.pricing ?? {}),
    budgets: budgetsSchema.parse(raw.budgets ?? []),
    costs: costsSchema.parse(raw.costs ?? {}),
  };
}
