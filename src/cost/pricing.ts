// Prices: which catalog entry (or config override) a model name means, which of its effective-dated prices and
// long-context tiers applies to a call, and what the call costs. Pure; no I/O.
import type { AppliedPrice, AppliedToolPrice, BuiltInTool, LlmCall, ToolUses } from '../calls/index.js';
import { type BillingUnit, billedUnitsOf, UNIT_ENDPOINTS, unitsUnknown } from '../calls/units.js';
import { DAY_MS } from '../time.js';
import {
  CATALOG,
  type CatalogEntry,
  type PriceTier,
  type PriceVersion,
  type ServiceTierPrice,
} from './catalog/index.js';
import { openModelsCatalog } from './catalog/open-models.js';
import { catalogToolPrice } from './catalog/tools.js';
import type { PriceOverride, PricingConfig, ToolPriceRule } from './config.js';
import { type UnitPrices, unitCostOf, unitPriceOf, unitPricesOf } from './units.js';

/** USD per 1M tokens, the unit providers publish. */
export interface PerMillion {
  input: number;
  cachedInput: number;
  output: number;
  cacheWrite: number | null;
  /** Writing a 1-hour prompt cache (Anthropic); null or absent: such writes cost `cacheWrite`. */
  cacheWrite1h?: number | null;
  /** Audio tokens' prices (Realtime, transcription); null or absent: audio tokens cost the text prices. */
  audioInput?: number | null;
  cachedAudioInput?: number | null;
  audioOutput?: number | null;
}

/** The price a model has at one moment, before the call's prompt size picks a tier. */
export interface ResolvedPrice {
  /** Catalog entry id, `config`, or `config:gpu-hours`. */
  source: string;
  entry: CatalogEntry | null;
  /** Who bills for the model (the catalog provider), when known. */
  billedBy: string | null;
  /** Canonical model name (the catalog's, or the name as called). */
  model: string;
  effectiveFrom: string | null;
  base: PerMillion;
  tiers: readonly PriceTier[];
  /** The catalog's prices for OpenAI's Flex and Priority processing, when it has them (servicePrices). */
  flex?: PerMillion | null;
  priority?: PerMillion | null;
  /** Per-unit prices (DALL·E per image, whisper-1 per minute, tts-1 per 1M characters; units.ts), when it has them. */
  units?: UnitPrices | null;
}

export interface TokenCounts {
  /** All prompt tokens, cached ones included (OpenAI's convention for `prompt_tokens`). */
  input: number;
  cachedInput: number;
  output: number;
  /** Prompt tokens written to the prompt cache (part of `input`), priced at the cache-write rate. */
  cacheWriteInput?: number;
  /** The part of `cacheWriteInput` written to a 1-hour cache, priced at the 1-hour cache-write rate. */
  cacheWrite1hInput?: number;
  /** The audio part of `input` (cached audio included), priced at the audio input rate. */
  audioInput?: number;
  /** The audio part of `cachedInput`, priced at the cached audio rate. */
  cachedAudioInput?: number;
  /** The audio part of `output`, priced at the audio output rate. */
  audioOutput?: number;
}

export interface CallPrice {
  costUsd: number | null;
  price: AppliedPrice | null;
  /** True when the model has no price: the call is counted in `llmscope_unpriced_calls_total`. */
  unpriced: boolean;
}

/** The day `dayOf` last answered for, and its answer: calls, spend rows and prices mostly fall on one day. */
let lastDay = Number.NaN;
let lastDayText = '';

/** UTC date `YYYY-MM-DD` of an epoch-ms time. */
export function dayOf(t: number): string {
  // Date truncates a fractional time toward zero; past ±8.64e15 toISOString throws, so those never match.
  const d = Math.abs(t) <= 8.64e15 ? Math.floor(Math.trunc(t) / DAY_MS) : Number.NaN;
  if (d === lastDay) return lastDayText;
  const text = new Date(t).toISOString().slice(0, 10);
  lastDay = d;
  lastDayText = text;
  return text;
}

export function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

/** The prices that apply for a prompt of `promptTokens`: the largest tier the prompt is above, else the base. */
export function pricesFor(p: { base: PerMillion; tiers: readonly PriceTier[] }, promptTokens: number): PerMillion {
  let chosen: PerMillion = p.base;
  for (const t of p.tiers)
    if (promptTokens > t.aboveInputTokens)
      chosen = {
        input: t.input,
        output: t.output,
        cachedInput: t.cachedInput ?? t.input,
        cacheWrite: t.cacheWrite ?? p.base.cacheWrite,
        cacheWrite1h: t.cacheWrite1h ?? p.base.cacheWrite1h,
        audioInput: p.base.audioInput,
        cachedAudioInput: p.base.cachedAudioInput,
        audioOutput: p.base.audioOutput,
      };
  return chosen;
}

/** Every price of `p` times `k`. */
function scaled(p: PerMillion, k: number): PerMillion {
  const m = (v: number | null | undefined) => (v == null ? null : v * k);
  return {
    input: p.input * k,
    cachedInput: p.cachedInput * k,
    output: p.output * k,
    cacheWrite: m(p.cacheWrite),
    cacheWrite1h: m(p.cacheWrite1h),
    audioInput: m(p.audioInput),
    cachedAudioInput: m(p.cachedAudioInput),
    audioOutput: m(p.audioOutput),
  };
}

/**
 * The prices of a call the answer says a service tier served (`service_tier`; `default`, `auto`, unknown or absent:
 * `standard`, the prices `pricesFor` chose). `flex`: the catalog's flex prices, else half the standard ones for an
 * OpenAI model (Flex is billed at Batch prices), else standard. `priority`: the catalog's priority prices below any
 * long-context tier (Priority excludes long context), else standard: a priority price is never invented.
 */
export function servicePrices(r: ResolvedPrice, tier: string | null | undefined, standard: PerMillion): PerMillion {
  if (tier === 'flex') {
    if (r.flex && standard === r.base) return r.flex;
    if (r.entry?.provider === 'openai') return scaled(standard, 0.5);
  } else if (tier === 'priority' && r.priority && standard === r.base) return r.priority;
  return standard;
}

/**
 * Cost in USD: uncached input × input price + cached input × cached price + cache-write input × cache-write price
 * + output × output price. `input` includes the cached and cache-written tokens (as providers report
 * `prompt_tokens`), so only the rest pays the full price; a model without a cache-write price charges its input
 * price for them. Reasoning tokens are part of `output` (OpenAI counts them in completion_tokens). The audio parts
 * (`audioInput`, `cachedAudioInput`, `audioOutput`: parts of input, cached input and output) pay the audio prices
 * where the model has them, the text prices where it does not.
 */
export function costOf(tokens: TokenCounts, prices: PerMillion): number {
  const input = Math.max(0, tokens.input);
  const cached = Math.min(Math.max(0, tokens.cachedInput), input);
  const written = Math.min(Math.max(0, tokens.cacheWriteInput ?? 0), input - cached);
  const hour = Math.min(Math.max(0, tokens.cacheWrite1hInput ?? 0), written);
  const uncached = input - cached - written;
  const output = Math.max(0, tokens.output);
  // Sum in per-million units, then round to a millionth of those (1e-12 USD, far below a token of the cheapest
  // model) so binary fractions do not show: 119 × 0.15 + 21 × 0.6 is 0.00003045, not 0.000030449999999999995.
  let perMillion =
    uncached * prices.input +
    cached * prices.cachedInput +
    (written - hour) * (prices.cacheWrite ?? prices.input) +
    hour * (prices.cacheWrite1h ?? prices.cacheWrite ?? prices.input) +
    output * prices.output;
  if (tokens.audioInput || tokens.audioOutput) {
    // The audio parts move from the text prices to the audio ones (the same when the model has no audio price).
    const audioIn = Math.min(Math.max(0, tokens.audioInput ?? 0), input);
    const audioCached = Math.min(Math.max(0, tokens.cachedAudioInput ?? 0), audioIn, cached);
    const audioUncached = Math.min(audioIn - audioCached, uncached);
    const audioOut = Math.min(Math.max(0, tokens.audioOutput ?? 0), output);
    const audioInputPrice = prices.audioInput ?? prices.input;
    perMillion +=
      audioUncached * (audioInputPrice - prices.input) +
      audioCached * ((prices.cachedAudioInput ?? prices.audioInput ?? prices.cachedInput) - prices.cachedInput) +
      audioOut * ((prices.audioOutput ?? prices.output) - prices.output);
  }
  return Math.round(perMillion * 1e6) / 1e12;
}

/**
 * The audio prices a model charges (per 1M), each absent one at the price it defaults to in `costOf` (audio input:
 * the input price; cached audio: audio input; audio output: the output price); null for a model without audio prices,
 * whose audio tokens cost the text prices.
 */
export function audioPricesOf(
  p: PerMillion,
): { audioInput: number; cachedAudioInput: number; audioOutput: number } | null {
  if (p.audioInput == null && p.cachedAudioInput == null && p.audioOutput == null) return null;
  return {
    audioInput: p.audioInput ?? p.input,
    cachedAudioInput: p.cachedAudioInput ?? p.audioInput ?? p.cachedInput,
    audioOutput: p.audioOutput ?? p.output,
  };
}

/**
 * The audio parts of a Realtime call's tokens, from its `realtime.audio_tokens` event, or of a transcription's input,
 * from its `audio.tokens` event (none: no audio).
 */
export function audioTokensOf(
  call: Pick<LlmCall, 'endpoint' | 'events'>,
): Pick<TokenCounts, 'audioInput' | 'cachedAudioInput' | 'audioOutput'> | null {
  // A Realtime call's audio (its `realtime.audio_tokens` event), or a transcription's audio input (`audio.tokens`).
  const name =
    call.endpoint === 'realtime'
      ? 'realtime.audio_tokens'
      : call.endpoint === 'audio.transcriptions' || call.endpoint === 'audio.translations'
        ? 'audio.tokens'
        : null;
  if (name === null) return null;
  for (const e of call.events) {
    if (e.name !== name || !e.attributes) continue;
    const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
    return {
      audioInput: n(e.attributes.input_audio_tokens),
      cachedAudioInput: n(e.attributes.cached_audio_tokens),
      audioOutput: n(e.attributes.output_audio_tokens),
    };
  }
  return null;
}

function tierPerMillion(t: ServiceTierPrice | undefined): PerMillion | null {
  if (!t) return null;
  return { input: t.input, cachedInput: t.cachedInput ?? t.input, output: t.output, cacheWrite: null };
}

function toPerMillion(v: PriceVersion | PriceOverride): PerMillion {
  const input = v.input ?? 0;
  return {
    input,
    output: v.output ?? 0,
    cachedInput: v.cachedInput ?? input,
    cacheWrite: v.cacheWrite ?? null,
    cacheWrite1h: ('cacheWrite1h' in v ? v.cacheWrite1h : undefined) ?? null,
    audioInput: v.audioInput ?? null,
    cachedAudioInput: v.cachedAudioInput ?? null,
    audioOutput: v.audioOutput ?? null,
  };
}

/** The version of an entry's prices in effect at `t` (the first one for calls before it). */
export function versionAt(entry: CatalogEntry, t: number): PriceVersion {
  const day = dayOf(t);
  let v = entry.prices[0] as PriceVersion;
  for (const p of entry.prices) if (p.from <= day) v = p;
  return v;
}

function globRegex(pattern: string): RegExp {
  const esc = pattern
    .toLowerCase()
    .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*');
  return new RegExp(`^${esc}$`);
}

const PREFIXES =
  /^(openai|anthropic|google|gemini|models|deepseek|mistral|groq|together|fireworks|vertex_ai|bedrock|converse)\//;

/** A Bedrock model or inference-profile ARN, up to the id it names. */
const BEDROCK_ARN =
  /^arn:aws[a-z-]*:bedrock:[^:/]*:[^:/]*:(foundation-model|inference-profile|system-defined-inference-profile)\//;

/**
 * A Bedrock model id's cross-region inference profile (`us.`, `eu.`, `apac.`, `global.`, ...) and vendor prefixes:
 * `us.anthropic.claude-sonnet-4-5-20250929-v1:0`. Regional profiles that cost more than the vendor's price are
 * named in full by catalog/bedrock.ts, which the name as given finds first.
 */
const BEDROCK_ID =
  /^(?:(?:us|us-gov|eu|apac|jp|au|ca|global)\.)?(?:anthropic|meta|mistral|amazon|cohere|ai21|deepseek|openai|qwen|writer)\./;

/**
 * Names to try for a model, most specific first: as given, then without host prefixes, Bedrock profile, vendor
 * and version (`-v1:0`), Vertex's `@version`, snapshot dates and Gemini's `-001` versions. Only decorations are
 * taken off, never part of the model's own name: `gpt-4o-mini` never becomes `gpt-4o`.
 */
export function candidateNames(model: string): string[] {
  const out: string[] = [];
  const add = (s: string): void => {
    if (s && !out.includes(s)) out.push(s);
  };
  let n = model.trim().toLowerCase();
  add(n);
  while (PREFIXES.test(n)) {
    n = n.replace(PREFIXES, '');
    add(n);
  }
  if (BEDROCK_ARN.test(n)) {
    n = n.replace(BEDROCK_ARN, '');
    add(n);
  }
  // Bedrock (us.anthropic.claude-3-5-sonnet-20241022-v2:0, openai.gpt-oss-120b-1:0) and Vertex
  // (claude-3-5-sonnet-v2@20241022, claude-sonnet-4-5@20250929, mistral-large-2411@001) spellings.
  const bedrock = BEDROCK_ID.test(n);
  if (bedrock) {
    n = n.replace(BEDROCK_ID, '');
    add(n);
  }
  const at = n.indexOf('@');
  if (at > 0) {
    n = n.slice(0, at);
    add(n);
  }
  if (bedrock || at > 0) {
    n = n.replace(/-v\d+(:\d+)?$/, '').replace(/-\d+:\d+$/, '');
    add(n);
  }
  // OpenRouter writes claude-3.5-sonnet for claude-3-5-sonnet.
  n = n.replace(/^claude-(\d)\.(\d)/, 'claude-$1-$2');
  add(n);
  const undated = n
    .replace(/-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$/, '')
    .replace(/-preview-\d{2}-\d{2}$/, '')
    .replace(/^(gemini-.+)-00\d$/, '$1');
  add(undated);
  if (undated.endsWith('-latest')) add(undated.slice(0, -'-latest'.length));
  else add(`${undated}-latest`);
  return out;
}

interface Override {
  rule: PriceOverride;
  re: RegExp;
}

/** Resolves model names to prices: config overrides first, then the catalog (aliases, snapshots, effective dates). */
/** Catalog providers by the host names of their APIs. */
const API_HOSTS: readonly [RegExp, string][] = [
  [/(^|\.)openai\.com$/, 'openai'],
  [/(^|\.)anthropic\.com$/, 'anthropic'],
  [/(^|\.)googleapis\.com$/, 'google'],
  [/(^|\.)mistral\.ai$/, 'mistral'],
  [/(^|\.)deepseek\.com$/, 'deepseek'],
  [/(^|\.)groq\.com$/, 'groq'],
  [/(^|\.)together\.(xyz|ai)$/, 'together'],
  [/(^|\.)fireworks\.ai$/, 'fireworks'],
];

/** Which catalog provider bills each gateway provider, told by its base URL's host (others are left out). */
export function billersOf(providers: readonly { name: string; baseUrl: string }[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of providers) {
    let host: string;
    try {
      host = new URL(p.baseUrl).hostname.toLowerCase();
    } catch {
      continue;
    }
    const hit = API_HOSTS.find(([re]) => re.test(host));
    if (hit) out.set(p.name, hit[1]);
  }
  return out;
}

/**
 * Catalog providers that resell open-weight models under their own prices (open-models.ts). Their entries price a
 * call only when that host serves it (by provider name or base URL) or the model is named with the host's prefix:
 * the same weights on a team's own vLLM or Ollama are not billed at Groq's or Together's rates.
 */
const RESELLERS: ReadonlySet<string> = new Set(openModelsCatalog.entries.map((e) => e.provider));

export class PriceBook {
  private readonly index = new Map<string, CatalogEntry[]>();
  private readonly overrides: Override[];
  private readonly toolRules: { rule: ToolPriceRule; re: RegExp | null }[];
  private readonly aliases: Map<string, string>;
  private readonly cache = new Map<string, CatalogEntry | null>();
  /** resolveForCall's answers by provider and model, with the day (a day number) each is for. */
  private readonly resolved = new Map<string, { day: number; price: ResolvedPrice | null }>();

  /** `billers`: the catalog provider billing each gateway provider, when its name alone does not say (billersOf). */
  constructor(
    pricing: Pick<PricingConfig, 'catalog' | 'models' | 'aliases'> & { tools?: readonly ToolPriceRule[] },
    readonly catalog: readonly CatalogEntry[] = CATALOG,
    private readonly billers: ReadonlyMap<string, string> = new Map(),
  ) {
    if (pricing.catalog)
      for (const e of catalog)
        for (const name of [e.id, e.model, ...(e.aliases ?? [])]) {
          const k = name.toLowerCase();
          const list = this.index.get(k) ?? [];
          if (!list.includes(e)) list.push(e);
          this.index.set(k, list);
        }
    this.overrides = pricing.models.map((rule) => ({ rule, re: globRegex(rule.model) }));
    this.toolRules = (pricing.tools ?? []).map((rule) => ({
      rule,
      re: rule.model === undefined ? null : globRegex(rule.model),
    }));
    this.aliases = new Map(Object.entries(pricing.aliases).map(([k, v]) => [k.toLowerCase(), v]));
  }

  /** The catalog entry a model name means (null when unknown); `provider` breaks ties between hosts. */
  entryFor(model: string, provider: string | null = null): CatalogEntry | null {
    const key = `${provider ?? ''}\u0000${model}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const target = this.aliases.get(model.toLowerCase()) ?? model;
    const biller = provider === null ? null : (this.billers.get(provider) ?? provider);
    let found: CatalogEntry | null = null;
    for (const name of candidateNames(target)) {
      const list = this.index.get(name);
      if (!list || list.length === 0) continue;
      found =
        list.find((e) => e.provider === biller) ??
        list.find((e) => !RESELLERS.has(e.provider) || e.id.toLowerCase() === name) ??
        null;
      if (found) break;
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, found);
    return found;
  }

  /**
   * Who serves `model`, told by its name alone, for a call whose span names an agent framework where its provider
   * belongs (decision 165; otlp withModelProvider): null when the catalog does not know it (or knows it only from a
   * host reselling open weights). A Bedrock model id or ARN (`us.anthropic.claude-sonnet-4-20250514-v1:0`) is
   * `bedrock`, as the catalog's Bedrock entries are, since AWS bills it whichever vendor's price it costs; a Vertex
   * AI spelling (`claude-sonnet-4-5@20250929`) `google`, the catalog's name for Google's APIs; any other name its
   * entry's provider (`gemini-2.5-flash` google, `gpt-4o` openai). A LiteLLM route prefix that names the cloud wins:
   * `vertex_ai/` google, `bedrock/` (and `converse/`) bedrock, whatever the name after it.
   */
  providerOfModel(model: string): string | null {
    const e = this.entryFor(model, null);
    if (e === null) return null;
    const lower = model.trim().toLowerCase();
    // A LiteLLM route that names the cloud (CrewAI's `vertex_ai/claude-sonnet-4-5`, `bedrock/...`): who bills it
    const route = /^(vertex_ai|bedrock|converse)\//.exec(lower)?.[1];
    if (route !== undefined) return route === 'vertex_ai' ? 'google' : 'bedrock';
    const n = lower.replace(PREFIXES, '');
    if (BEDROCK_ARN.test(n) || BEDROCK_ID.test(n)) return 'bedrock';
    if (/^[a-z][\w.-]*@[\w.-]+$/.test(n)) return 'google';
    return e.provider;
  }

  /** The price of `model` called through `provider` at time `t`, or null when nothing prices it. */
  resolve(model: string, provider: string | null, t: number): ResolvedPrice | null {
    const day = dayOf(t);
    const lower = model.toLowerCase();
    for (const { rule, re } of this.overrides) {
      if (rule.provider !== undefined && rule.provider !== provider) continue;
      if (rule.effectiveFrom !== undefined && day < rule.effectiveFrom) continue;
      if (!re.test(lower)) continue;
      if (rule.gpuHours)
        return {
          source: 'config:gpu-hours',
          entry: null,
          billedBy: provider,
          model,
          effectiveFrom: rule.effectiveFrom ?? null,
          base: { input: 0, cachedInput: 0, output: 0, cacheWrite: null, cacheWrite1h: null },
          tiers: [],
        };
      if (rule.sameAs !== undefined) {
        const e = this.entryFor(rule.sameAs, null);
        if (!e) continue;
        return this.fromEntry(e, t);
      }
      return {
        source: 'config',
        entry: null,
        billedBy: provider,
        model,
        effectiveFrom: rule.effectiveFrom ?? null,
        base: toPerMillion(rule),
        tiers: rule.tiers,
        units: unitPricesOf(rule),
      };
    }
    const e = this.entryFor(model, provider);
    return e ? this.fromEntry(e, t) : null;
  }

  private fromEntry(e: CatalogEntry, t: number): ResolvedPrice {
    const v = versionAt(e, t);
    return {
      source: e.id,
      entry: e,
      billedBy: e.provider,
      model: e.model,
      effectiveFrom: v.from,
      base: toPerMillion(v),
      tiers: v.tiers ?? [],
      flex: tierPerMillion(v.flex),
      priority: tierPerMillion(v.priority),
      units: unitPricesOf(v),
    };
  }

  /** Dates in [from, to] on which a model's catalog price changed. */
  priceChanges(model: string, provider: string | null, from: number, to: number): string[] {
    const e = this.entryFor(model, provider);
    if (!e) return [];
    const a = dayOf(from);
    const b = dayOf(to);
    return e.prices
      .slice(1)
      .map((p) => p.from)
      .filter((d) => d > a && d <= b);
  }

  /**
   * `resolve` for pricing calls, remembered per provider and model for the day (what it answers depends on the
   * model, the provider and the day only): one map lookup per call instead of the override scan and two dates.
   */
  private resolveForCall(model: string, provider: string, t: number): ResolvedPrice | null {
    const key = `${provider}\u0000${model}`;
    const hit = this.resolved.get(key);
    const day = Math.abs(t) <= 8.64e15 ? Math.floor(Math.trunc(t) / DAY_MS) : Number.NaN;
    if (hit !== undefined && hit.day === day) return hit.price;
    const price = this.resolve(model, provider, t);
    if (this.resolved.size > 10_000) this.resolved.clear();
    this.resolved.set(key, { day, price });
    return price;
  }

  /**
   * What `model` is priced per at `t`, as `provider`'s call would be: a unit (decision 118), null when it is priced but
   * not per unit (by the token), undefined when no price names it. What /api/ingest checks a record's units by.
   */
  billingUnitOf(model: string, provider: string, t: number): BillingUnit | null | undefined {
    const u = this.resolveForCall(model, provider, t);
    if (!u) return undefined;
    if (u.units?.perImage) return 'image';
    if (u.units?.perMinute !== undefined) return 'second';
    if (u.units?.perMillionCharacters !== undefined) return 'character';
    return null;
  }

  /** The cost of a finished call and the prices applied. */
  priceCall(call: LlmCall): CallPrice {
    // A call llmscope refused before it reached the provider cost nothing.
    if (call.internal && call.internal.upstreamStartAt === null && call.source === 'gateway')
      return { costUsd: 0, price: null, unpriced: false };
    const resolved = this.resolveForCall(call.model, call.provider, call.startedAt);
    if (call.inputTokens === null && call.outputTokens === null) {
      // Billed per unit (an image, a second of audio, a character; units.ts): its recorded units at the unit price.
      // (and a Realtime session's whisper-1 input transcription, its seconds on an event)
      const units = billedUnitsOf(call);
      if (units !== null && resolved?.units) {
        const cost = unitCostOf(resolved.units, units);
        if (cost !== null)
          return {
            costUsd: cost,
            price: {
              ...applied(resolved, 0),
              unit: units.unit,
              unitPrice: unitPriceOf(resolved.units, units) as number,
              units: units.count,
            },
            unpriced: false,
          };
      }
      // An ingested record of a model priced per unit that said neither its cost nor its units (decision 152): its
      // cost is unknown, and counted as unpriced rather than shown as $0.
      if (units === null && resolved?.units && unitsUnknown(call))
        return { costUsd: null, price: null, unpriced: true };
      // A platform call of a model billed by its tokens that recorded its units but no token usage (a gpt-image-1
      // span sent over OTLP without gen_ai.usage, a proxied answer without usage): its cost is unknown, and counted
      // unpriced as a per-unit model's call without its count is, not left with a null cost and the model's price.
      if (resolved && !resolved.units && UNIT_ENDPOINTS.has(call.endpoint) && (units !== null || unitsUnknown(call)))
        return { costUsd: null, price: null, unpriced: true };
      // Unknown usage: the cost is unknown, never a silent 0. Units recorded for a model no price names: unpriced.
      return { costUsd: null, price: resolved ? applied(resolved, 0) : null, unpriced: !resolved && units !== null };
    }
    if (!resolved) return { costUsd: null, price: null, unpriced: true };
    const tokens: TokenCounts = {
      input: call.inputTokens ?? 0,
      cachedInput: call.cachedInputTokens ?? 0,
      cacheWriteInput: call.cacheWriteInputTokens ?? 0,
      cacheWrite1hInput: call.internal?.cacheWrite1hInputTokens ?? 0,
      output: call.endpoint === 'embeddings' ? 0 : (call.outputTokens ?? 0),
    };
    const audio = audioTokensOf(call);
    if (audio) Object.assign(tokens, audio);
    const tier = call.internal?.serviceTier;
    const standard = pricesFor(resolved, tokens.input);
    const prices = tier === undefined ? standard : servicePrices(resolved, tier, standard);
    const price = toApplied(prices, resolved.source, tokens);
    const uses = call.internal?.toolUses;
    if (uses === undefined) return { costUsd: costOf(tokens, prices), price, unpriced: false };
    price.tools = this.toolPrices(call, resolved, uses, call.internal?.toolUnitPrices);
    return { costUsd: withTools(costOf(tokens, prices), price.tools), price, unpriced: false };
  }

  /**
   * The price of each built-in tool a call used, USD per use: the first `pricing.tools` rule for the tool, the call's
   * provider and model, else the catalog's for who bills the call (catalog/tools.ts); null when neither has one.
   * `given`: the prices per use an ingested record named (they come first).
   */
  toolPrices(
    call: Pick<LlmCall, 'provider' | 'model'>,
    resolved: ResolvedPrice,
    uses: ToolUses,
    given?: Partial<Record<BuiltInTool, number>>,
  ): AppliedToolPrice[] {
    const out: AppliedToolPrice[] = [];
    const lower = call.model.toLowerCase();
    const biller = resolved.entry?.provider ?? this.billers.get(call.provider) ?? call.provider;
    for (const tool of Object.keys(uses) as BuiltInTool[]) {
      const units = uses[tool] ?? 0;
      if (!(units > 0)) continue;
      const own = given?.[tool];
      if (own !== undefined) {
        out.push({ tool, unitPrice: own, units });
        continue;
      }
      const rule = this.toolRules.find(
        ({ rule, re }) =>
          rule.tool === tool &&
          (rule.provider === undefined || rule.provider === call.provider) &&
          (re === null || re.test(lower)),
      )?.rule;
      const perThousand = rule !== undefined ? rule.perThousand : catalogToolPrice(biller, tool, resolved.model);
      out.push({ tool, unitPrice: perThousand === null ? null : perThousand / 1000, units });
    }
    return out;
  }
}

/**
 * The per-token prices a call was charged. With 1-hour cache writes among its cache writes (a split the record does
 * not keep), `cacheWrite` is what its cache-written tokens cost on average, so `cost_usd` is still the record's
 * tokens at the record's prices.
 */
function toApplied(p: PerMillion, source: string, tokens?: TokenCounts): AppliedPrice {
  const out: AppliedPrice = { input: p.input / 1e6, cachedInput: p.cachedInput / 1e6, output: p.output / 1e6, source };
  const written = tokens ? Math.min(Math.max(0, tokens.cacheWriteInput ?? 0), tokens.input - tokens.cachedInput) : 0;
  const hour = tokens ? Math.min(Math.max(0, tokens.cacheWrite1hInput ?? 0), written) : 0;
  if (hour > 0) {
    const five = p.cacheWrite ?? p.input;
    out.cacheWrite = ((written - hour) * five + hour * (p.cacheWrite1h ?? five)) / written / 1e6;
  } else if (p.cacheWrite !== null) out.cacheWrite = p.cacheWrite / 1e6;
  // A call with audio tokens priced at audio prices keeps those too, so its record still explains its cost.
  const audio = tokens && (tokens.audioInput || tokens.audioOutput) ? audioPricesOf(p) : null;
  if (audio) {
    out.audioInput = audio.audioInput / 1e6;
    out.cachedAudioInput = audio.cachedAudioInput / 1e6;
    out.audioOutput = audio.audioOutput / 1e6;
  }
  return out;
}

function applied(r: ResolvedPrice, promptTokens: number): AppliedPrice {
  return toApplied(pricesFor(r, promptTokens), r.source);
}

/**
 * A call's cost with its built-in tools' charges added (units × unit price; an unpriced tool adds nothing), rounded
 * as costOf rounds.
 */
export function withTools(cost: number, tools: readonly AppliedToolPrice[]): number {
  let sum = cost;
  for (const t of tools) if (t.unitPrice !== null) sum += t.units * t.unitPrice;
  return Math.round(sum * 1e12) / 1e12;
}

/** Whole days between two UTC dates, inclusive. */
export function daysBetween(fromDay: string, toDay: string): string[] {
  const out: string[] = [];
  for (let t = dayStart(fromDay); t <= dayStart(toDay); t += DAY_MS) out.push(dayOf(t));
  return out;
}
