import { describe, expect, it } from 'vitest';
import { CATALOG, CATALOG_FILES } from './catalog/index.js';
import { costConfigOf } from './config.js';
import { billersOf, candidateNames, costOf, PriceBook } from './pricing.js';
import { fakeCall } from './testing.js';

const book = (pricing: unknown = {}) => new PriceBook(costConfigOf({ pricing }).pricing);
const at = (d: string) => Date.parse(`${d}T12:00:00Z`);

describe('catalog data', () => {
  it('has a source, dates in order and sane prices for every entry', () => {
    expect(CATALOG.length).toBeGreaterThan(60);
    const providers = new Set(CATALOG.map((e) => e.provider));
    for (const p of ['openai', 'anthropic', 'google', 'mistral', 'deepseek', 'groq', 'together', 'fireworks'])
      expect(providers).toContain(p);
    for (const f of CATALOG_FILES) expect(f.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const e of CATALOG) {
      expect(e.source, e.id).toMatch(/^https:\/\//);
      expect(e.id, e.id).toBe(`${e.provider}/${e.id.split('/').slice(1).join('/')}`);
      expect(e.prices.length, e.id).toBeGreaterThan(0);
      let prev = '';
      for (const v of e.prices) {
        expect(v.from, e.id).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(v.from > prev, `${e.id} dates ascend`).toBe(true);
        prev = v.from;
        // A model billed per unit (DALL·E, whisper-1, tts-1: units.ts) has token prices of 0 and positive unit prices.
        const perUnit = [
          v.perMinute,
          v.perMillionCharacters,
          ...Object.values(v.perImage ?? {}).flatMap(Object.values),
        ];
        if (perUnit.some((x) => x !== undefined))
          for (const x of perUnit) if (x !== undefined) expect(x, e.id).toBeGreaterThan(0);
        if (perUnit.every((x) => x === undefined)) expect(v.input, e.id).toBeGreaterThan(0);
        if (v.cachedInput !== undefined) expect(v.cachedInput, e.id).toBeLessThanOrEqual(v.input);
        for (const t of v.tiers ?? []) expect(t.input, e.id).toBeGreaterThan(v.input);
      }
    }
  });

  it('gives every name exactly one entry', () => {
    const owner = new Map<string, string>();
    for (const e of CATALOG)
      for (const n of [e.model, ...(e.aliases ?? [])]) {
        const k = n.toLowerCase();
        expect(owner.get(k), `${n} in ${e.id} and ${owner.get(k)}`).toBeUndefined();
        owner.set(k, e.id);
      }
  });
});

describe('pricing a call', () => {
  it('prices input, cached input and output exactly (OpenAI counts cached tokens inside prompt_tokens)', () => {
    const p = book().priceCall(
      fakeCall({ model: 'gpt-4o-mini', inputTokens: 1000, cachedInputTokens: 200, outputTokens: 500 }),
    );
    // 800 × $0.15/M + 200 × $0.075/M + 500 × $0.60/M
    expect(p.costUsd).toBeCloseTo(0.000435, 12);
    expect(p.price).toEqual({ input: 0.15e-6, cachedInput: 0.075e-6, output: 0.6e-6, source: 'openai/gpt-4o-mini' });
    expect(p.unpriced).toBe(false);
  });

  it('applies the long-context tier to the whole call once the prompt passes it', () => {
    const b = book();
    const small = b.priceCall(
      fakeCall({ provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 100_000, outputTokens: 1000 }),
    );
    expect(small.costUsd).toBeCloseTo(0.3 + 0.015, 12);
    const large = b.priceCall(
      fakeCall({
        provider: 'anthropic',
        model: 'claude-sonnet-4-5-20250929',
        inputTokens: 250_000,
        cachedInputTokens: 50_000,
        outputTokens: 1000,
      }),
    );
    // 200K × $6/M + 50K cached × $0.60/M + 1K × $22.50/M
    expect(large.costUsd).toBeCloseTo(1.2 + 0.03 + 0.0225, 12);
    expect(large.price?.output).toBeCloseTo(22.5e-6, 15);
    const gemini = b.priceCall(
      fakeCall({ provider: 'google', model: 'models/gemini-2.5-pro', inputTokens: 300_000, outputTokens: 2000 }),
    );
    expect(gemini.costUsd).toBeCloseTo(0.75 + 0.03, 12);
  });

  it('resolves dated snapshots and other spellings to their entry', () => {
    const b = book();
    const cases: [string, string][] = [
      ['gpt-4o-2024-11-20', 'openai/gpt-4o'],
      ['gpt-4o-2024-05-13', 'openai/gpt-4o-2024-05-13'],
      ['gpt-4.1-mini-2026-01-15', 'openai/gpt-4.1-mini'],
      ['openai/gpt-4o-mini', 'openai/gpt-4o-mini'],
      ['claude-3-5-sonnet-20241022', 'anthropic/claude-3-5-sonnet'],
      ['anthropic.claude-3-5-sonnet-20241022-v2:0', 'anthropic/claude-3-5-sonnet'],
      ['claude-3-5-haiku@20241022', 'anthropic/claude-3-5-haiku'],
      ['anthropic/claude-3.5-sonnet', 'anthropic/claude-3-5-sonnet'],
      ['mistral-large-2411', 'mistral/mistral-large'],
      ['mistral-small', 'mistral/mistral-small'],
      ['gemini-2.5-pro-preview-06-05', 'google/gemini-2.5-pro'],
      ['GPT-4O-MINI', 'openai/gpt-4o-mini'],
    ];
    for (const [name, id] of cases) expect(b.entryFor(name)?.id, name).toBe(id);
    const dated = b.priceCall(fakeCall({ model: 'gpt-4o-2024-08-06', inputTokens: 1_000_000, outputTokens: 0 }));
    expect(dated.costUsd).toBeCloseTo(2.5, 12);
    const old = b.priceCall(fakeCall({ model: 'gpt-4o-2024-05-13', inputTokens: 1_000_000, outputTokens: 0 }));
    expect(old.costUsd).toBeCloseTo(5, 12);
    expect(candidateNames('anthropic.claude-3-haiku-20240307-v1:0')).toContain('claude-3-haiku');
  });

  it('uses the price in effect on the day of the call', () => {
    const b = book();
    const call = { model: 'o3', inputTokens: 1_000_000, outputTokens: 1_000_000 };
    expect(b.priceCall(fakeCall({ ...call, startedAt: at('2025-05-01') })).costUsd).toBeCloseTo(50, 9);
    expect(b.priceCall(fakeCall({ ...call, startedAt: at('2025-06-10') })).costUsd).toBeCloseTo(10, 9);
    expect(b.priceChanges('o3', 'openai', at('2025-06-01'), at('2025-06-30'))).toEqual(['2025-06-10']);
    const ds = {
      provider: 'deepseek',
      model: 'deepseek-chat',
      inputTokens: 1_000_000,
      cachedInputTokens: 1_000_000,
      outputTokens: 0,
    };
    expect(b.priceCall(fakeCall({ ...ds, startedAt: at('2025-10-01') })).costUsd).toBeCloseTo(0.028, 12);
  });

  it('bills reasoning tokens as output (they are inside completion_tokens)', () => {
    const p = book().priceCall(
      fakeCall({ model: 'o4-mini', inputTokens: 100, outputTokens: 1000, reasoningTokens: 800 }),
    );
    expect(p.costUsd).toBeCloseTo((100 * 1.1 + 1000 * 4.4) / 1e6, 12);
  });

  it('charges a cancelled stream for the tokens it produced', () => {
    const p = book().priceCall(
      fakeCall({
        status: 'cancelled',
        httpStatus: 200,
        stream: true,
        inputTokens: 20,
        outputTokens: 7,
        tokenSource: 'tokenizer',
      }),
    );
    expect(p.costUsd).toBeCloseTo((20 * 0.15 + 7 * 0.6) / 1e6, 12);
  });

  it('gives an unknown model null, never 0', () => {
    const p = book().priceCall(fakeCall({ model: 'my-private-model-7b' }));
    expect(p).toEqual({ costUsd: null, price: null, unpriced: true });
  });

  it('gives unknown usage a null cost, and a call never sent upstream 0', () => {
    const b = book();
    const failed = b.priceCall(
      fakeCall({ status: 'upstream_error', httpStatus: 500, inputTokens: null, outputTokens: null }),
    );
    expect(failed.costUsd).toBeNull();
    expect(failed.unpriced).toBe(false);
    const zero = b.priceCall(fakeCall({ status: 'upstream_error', httpStatus: 500, inputTokens: 0, outputTokens: 0 }));
    expect(zero.costUsd).toBe(0);
    const refused = fakeCall({ source: 'gateway', httpStatus: 429, inputTokens: null, outputTokens: null });
    refused.internal = { upstreamStartAt: null } as never;
    expect(b.priceCall(refused).costUsd).toBe(0);
  });

  it('ignores output tokens of embeddings', () => {
    const p = book().priceCall(
      fakeCall({ model: 'text-embedding-3-small', endpoint: 'embeddings', inputTokens: 1_000_000, outputTokens: 5 }),
    );
    expect(p.costUsd).toBeCloseTo(0.02, 12);
  });
});

describe('provider-qualified model ids (Bedrock, Vertex, gateways, OTLP spans)', () => {
  it("finds the base model's entry for Bedrock profiles and ids, Vertex versions and ARNs", () => {
    const b = book();
    const cases: [string, string | null][] = [
      ['global.anthropic.claude-sonnet-4-5-20250929-v1:0', 'anthropic/claude-sonnet-4-5'],
      ['anthropic.claude-sonnet-4-5-20250929-v1:0', 'anthropic/claude-sonnet-4-5'],
      ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'bedrock/claude-sonnet-4-5-regional'],
      ['EU.anthropic.claude-sonnet-4-5-20250929-v1:0', 'bedrock/claude-sonnet-4-5-regional'],
      ['jp.anthropic.claude-haiku-4-5-20251001-v1:0', 'bedrock/claude-haiku-4-5-regional'],
      ['bedrock/us.anthropic.claude-opus-4-5-20251101-v1:0', 'bedrock/claude-opus-4-5-regional'],
      ['us.anthropic.claude-sonnet-4-20250514-v1:0', 'anthropic/claude-sonnet-4'],
      ['eu.anthropic.claude-3-5-sonnet-20240620-v1:0', 'anthropic/claude-3-5-sonnet'],
      ['apac.anthropic.claude-3-5-sonnet-20241022-v2:0', 'anthropic/claude-3-5-sonnet'],
      ['us.anthropic.claude-3-7-sonnet-20250219-v1:0', 'anthropic/claude-3-7-sonnet'],
      ['us.anthropic.claude-opus-4-1-20250805-v1:0', 'anthropic/claude-opus-4-1'],
      ['bedrock/converse/us.anthropic.claude-3-haiku-20240307-v1:0', 'anthropic/claude-3-haiku'],
      [
        'arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-opus-4-5-20251101-v1:0',
        'anthropic/claude-opus-4-5',
      ],
      [
        'arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
        'anthropic/claude-3-haiku',
      ],
      ['gemini-2.5-flash-001', 'google/gemini-2.5-flash'],
      ['vertex_ai/gemini-2.5-flash-lite-001', 'google/gemini-2.5-flash-lite'],
      ['models/gemini-2.5-pro-002', 'google/gemini-2.5-pro'],
      ['claude-sonnet-4-5@20250929', 'anthropic/claude-sonnet-4-5'],
      ['claude-3-5-sonnet-v2@20241022', 'anthropic/claude-3-5-sonnet'],
      ['vertex_ai/claude-opus-4-1@20250805', 'anthropic/claude-opus-4-1'],
      ['mistral-large-2411@001', 'mistral/mistral-large'],
      // Never a different model: only decorations come off.
      ['gpt-4o-mini', 'openai/gpt-4o-mini'],
      ['gemini-2.5-flash-lite-001', 'google/gemini-2.5-flash-lite'],
      ['gemini-embedding-001', 'google/gemini-embedding-001'],
      ['us.anthropic.claude-sonnet-9-20300101-v1:0', null],
      ['us.amazon.nova-pro-v1:0', null],
      ['deepseek-v9', null],
      ['gpt-4o-v2', null],
    ];
    for (const [name, id] of cases) expect(b.entryFor(name)?.id ?? null, name).toBe(id);
  });

  it('prices them exactly: a regional profile of Sonnet 4.5 at 1.1 ×, a global one at the vendor price', () => {
    const b = book();
    const tokens = { inputTokens: 10_000, cachedInputTokens: 2_000, cacheWriteInputTokens: 1_000, outputTokens: 500 };
    const at45 = at('2025-12-01');
    const cost = (model: string) => b.priceCall(fakeCall({ model, provider: 'bedrock', startedAt: at45, ...tokens }));
    const regional = cost('us.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(regional.costUsd).toBe((7_000 * 3.3 + 2_000 * 0.33 + 1_000 * 4.125 + 500 * 16.5) / 1e6);
    expect(regional.price?.source).toBe('bedrock/claude-sonnet-4-5-regional');
    const global = cost('global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(global.costUsd).toBe((7_000 * 3 + 2_000 * 0.3 + 1_000 * 3.75 + 500 * 15) / 1e6);
    expect(cost('claude-sonnet-4-5@20250929').costUsd).toBe(global.costUsd);
    expect(cost('gemini-2.5-flash-001').unpriced).toBe(false);
  });

  it("lets the user's own entry for the exact id win", () => {
    const b = book({ models: [{ model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', input: 2, output: 10 }] });
    const p = b.priceCall(
      fakeCall({ model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', inputTokens: 1e6, outputTokens: 0 }),
    );
    expect(p).toMatchObject({ costUsd: 2, price: { source: 'config' } });
  });

  it('has a Bedrock regional entry at 1.1 × for every Anthropic model from Sonnet 4.5 on', () => {
    const byId = new Map(CATALOG.map((e) => [e.id, e]));
    const recent = CATALOG.filter((e) => e.provider === 'anthropic' && (e.prices[0]?.from ?? '') >= '2025-09-29');
    expect(recent.length).toBeGreaterThanOrEqual(3);
    // The 2026 Claude models (added 2026-12-06 from Anthropic's pages) have no Bedrock regional entry yet: AWS's
    // prices for their geographic profiles were not checked, so those profiles are priced at the vendor price.
    const noRegional = CATALOG.filter((e) => e.provider === 'anthropic' && (e.prices[0]?.from ?? '') >= '2026-01-01');
    expect(noRegional.map((e) => e.model).sort()).toEqual([
      'claude-fable-5',
      'claude-fable-5-1',
      'claude-mythos-5',
      'claude-mythos-5-1',
      'claude-opus-4-6',
      'claude-opus-4-7',
      'claude-opus-4-8',
      'claude-opus-5',
      'claude-opus-5-5',
      'claude-sonnet-5',
      'claude-sonnet-5-5',
    ]);
    for (const e of recent) {
      const r = byId.get(`bedrock/${e.model}-regional`);
      if (noRegional.includes(e)) {
        expect(r, e.id).toBeUndefined();
        continue;
      }
      expect(r, e.id).toBeDefined();
      const [base, reg] = [e.prices.at(-1), r?.prices.at(-1)];
      for (const k of ['input', 'cachedInput', 'cacheWrite', 'cacheWrite1h', 'output'] as const)
        expect(reg?.[k], `${e.id} ${k}`).toBeCloseTo((base?.[k] ?? 0) * 1.1, 9);
      expect(reg?.from).toBe(base?.from);
    }
  });
});

describe('Anthropic 1-hour cache writes', () => {
  const call = (model: string, input: number, internal?: { cacheWrite1hInputTokens: number }) =>
    fakeCall({
      model,
      startedAt: at('2025-12-01'),
      inputTokens: input,
      cachedInputTokens: 2_000,
      cacheWriteInputTokens: 3_000,
      outputTokens: 500,
      ...(internal ? { internal: internal as never } : {}),
    });

  it('charges them at 2 × input, the rest of the writes at 1.25 ×, with a price that adds up to the cost', () => {
    const b = book();
    const p = b.priceCall(call('claude-sonnet-4-5', 10_000, { cacheWrite1hInputTokens: 1_000 }));
    expect(p.costUsd).toBe((5_000 * 3 + 2_000 * 0.3 + 2_000 * 3.75 + 1_000 * 6 + 500 * 15) / 1e6);
    expect(p.price?.cacheWrite).toBeCloseTo(4.5e-6, 18);
    const a = p.price as NonNullable<typeof p.price>;
    const fromRecord = 5_000 * a.input + 2_000 * a.cachedInput + 3_000 * (a.cacheWrite ?? 0) + 500 * a.output;
    expect(Math.round(fromRecord * 1e12) / 1e12).toBe(p.costUsd);
    // Without the split (ingest, OTLP, an older record) every write is a 5-minute one, as before.
    const five = b.priceCall(call('claude-sonnet-4-5', 10_000));
    expect(five.costUsd).toBe((5_000 * 3 + 2_000 * 0.3 + 3_000 * 3.75 + 500 * 15) / 1e6);
    expect(five.price?.cacheWrite).toBe(3.75e-6);
  });

  it('uses the long-context tier’s 1-hour rate past 200K, and the regional Bedrock one', () => {
    const b = book();
    const long = b.priceCall(call('claude-sonnet-4-5', 300_000, { cacheWrite1hInputTokens: 3_000 }));
    expect(long.costUsd).toBe((295_000 * 6 + 2_000 * 0.6 + 3_000 * 12 + 500 * 22.5) / 1e6);
    const us = b.priceCall(
      call('us.anthropic.claude-haiku-4-5-20251001-v1:0', 10_000, { cacheWrite1hInputTokens: 3_000 }),
    );
    expect(us.costUsd).toBe((5_000 * 1.1 + 2_000 * 0.11 + 3_000 * 2.2 + 500 * 5.5) / 1e6);
  });
});

describe('config overrides', () => {
  const b = book({
    models: [
      { model: 'gpt-4o-mini', provider: 'azure', input: 0.165, output: 0.66 },
      { model: 'llama-*-instruct', input: 0.2, output: 0.4, cachedInput: 0.1 },
      { model: 'prod-chat', sameAs: 'gpt-4.1' },
      { model: 'local-qwen', gpuHours: { gpus: 2, pricePerGpuHour: 2.5 } },
      { model: 'o3', input: 1, output: 2, effectiveFrom: '2025-08-01' },
    ],
    aliases: { 'team-default': 'claude-haiku-4-5' },
  });

  it('prices self-hosted models per token from config, with patterns', () => {
    const p = b.priceCall(
      fakeCall({
        provider: 'vllm',
        model: 'llama-3.1-8b-instruct',
        inputTokens: 1000,
        cachedInputTokens: 500,
        outputTokens: 1000,
      }),
    );
    expect(p.costUsd).toBeCloseTo((500 * 0.2 + 500 * 0.1 + 1000 * 0.4) / 1e6, 12);
    expect(p.price?.source).toBe('config');
  });

  it('applies a provider-specific override only to that provider', () => {
    expect(b.priceCall(fakeCall({ provider: 'azure', inputTokens: 1e6, outputTokens: 0 })).costUsd).toBeCloseTo(
      0.165,
      12,
    );
    expect(b.priceCall(fakeCall({ provider: 'openai', inputTokens: 1e6, outputTokens: 0 })).costUsd).toBeCloseTo(
      0.15,
      12,
    );
  });

  it('follows sameAs, aliases and effective dates', () => {
    expect(b.priceCall(fakeCall({ model: 'prod-chat', inputTokens: 1e6, outputTokens: 0 })).price?.source).toBe(
      'openai/gpt-4.1',
    );
    expect(b.priceCall(fakeCall({ model: 'team-default', inputTokens: 1e6, outputTokens: 0 })).costUsd).toBeCloseTo(
      1,
      12,
    );
    const o3 = { model: 'o3', inputTokens: 1e6, outputTokens: 0 };
    expect(b.priceCall(fakeCall({ ...o3, startedAt: at('2025-07-01') })).costUsd).toBeCloseTo(2, 12);
    expect(b.priceCall(fakeCall({ ...o3, startedAt: at('2025-08-02') })).costUsd).toBeCloseTo(1, 12);
  });

  it('prices GPU-hour models at 0 per token, marked as such (their cost is the GPUs’ time)', () => {
    const p = b.priceCall(fakeCall({ provider: 'vllm', model: 'local-qwen' }));
    expect(p.costUsd).toBe(0);
    expect(p.price?.source).toBe('config:gpu-hours');
  });

  it('can switch the catalog off', () => {
    expect(book({ catalog: false }).priceCall(fakeCall()).unpriced).toBe(true);
  });

  it('rejects an override priced two ways or half-priced', () => {
    expect(() => costConfigOf({ pricing: { models: [{ model: 'x', input: 1 }] } })).toThrow(/both input and output/);
    expect(() =>
      costConfigOf({ pricing: { models: [{ model: 'x', input: 1, output: 1, sameAs: 'gpt-4o' }] } }),
    ).toThrow(/one way/);
  });
});

describe('costOf', () => {
  it('never charges cached tokens twice nor counts more cached than input', () => {
    const prices = { input: 2, cachedInput: 1, output: 4, cacheWrite: null };
    expect(costOf({ input: 100, cachedInput: 500, output: 0 }, prices)).toBeCloseTo(100 / 1e6, 15);
  });

  it('gives the decimal figure, without binary-fraction noise, for what logs, APIs and exports show', () => {
    const prices = { input: 0.15, cachedInput: 0.075, output: 0.6, cacheWrite: null };
    // 119 × 0.15 + 21 × 0.6 in floating point is 30.449999999999996 per million.
    expect(String(costOf({ input: 119, cachedInput: 0, output: 21 }, prices))).toBe('0.00003045');
    expect(String(costOf({ input: 1000, cachedInput: 300, output: 7 }, prices))).toBe('0.0001317');
    expect(costOf({ input: 2e9, cachedInput: 0, output: 0 }, { ...prices, input: 75 })).toBe(150_000);
  });
});

describe('open-weight models: a reseller prices only what it serves', () => {
  const now = at('2026-06-01');
  it('leaves self-hosted copies unpriced instead of borrowing Groq or Together rates', () => {
    expect(book().resolve('Qwen/Qwen3-32B', 'vllm', now)).toBeNull();
    expect(book().resolve('deepseek-ai/DeepSeek-V3', 'ollama', now)).toBeNull();
    expect(book().resolve('llama-3.3-70b-versatile', 'upstream', now)).toBeNull();
  });

  it('prices them when the host serves them: by provider name, base URL or a host-prefixed model', () => {
    expect(book().resolve('qwen/qwen3-32b', 'groq', now)?.source).toBe('groq/qwen3-32b');
    const byUrl = new PriceBook(
      costConfigOf({}).pricing,
      undefined,
      billersOf([
        { name: 'upstream', baseUrl: 'https://api.groq.com/openai/v1' },
        { name: 'tg', baseUrl: 'https://api.together.xyz/v1' },
        { name: 'gpu-box', baseUrl: 'http://10.0.0.5:8000/v1' },
      ]),
    );
    expect(byUrl.resolve('llama-3.3-70b-versatile', 'upstream', now)?.source).toBe('groq/llama-3.3-70b-versatile');
    expect(byUrl.resolve('deepseek-ai/DeepSeek-V3', 'tg', now)?.source).toBe('together/deepseek-v3');
    expect(byUrl.resolve('deepseek-ai/DeepSeek-V3', 'gpu-box', now)).toBeNull();
    expect(book().resolve('together/deepseek-v3', 'gpu-box', now)?.source).toBe('together/deepseek-v3');
  });

  it("still prices a vendor's own models through any provider name (the zero-config --upstream case)", () => {
    expect(book().resolve('gpt-4o-mini', 'upstream', now)?.source).toBe('openai/gpt-4o-mini');
    expect(book().resolve('deepseek-chat', 'my-proxy', now)?.source).toMatch(/^deepseek\//);
  });
});
