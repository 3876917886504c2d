import { describe, expect, it } from 'vitest';
import { ModelRouter } from '../gateway/routing.js';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent, uuidv7 } from './ids.js';
import { LabelGuard, OTHER } from './label-guard.js';

describe('ids', () => {
  it('mints UUIDv7 request ids in time order', () => {
    const a = uuidv7(1_700_000_000_000);
    const b = uuidv7(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 10_000 }, () => uuidv7())).size).toBe(10_000);
    // the time in the first 48 bits, the version and variant where RFC 9562 puts them, every other digit random
    const same = Array.from({ length: 10_000 }, () => uuidv7(1_700_000_000_000));
    for (const id of same) expect(id.startsWith('018bcfe5-6800-7')).toBe(true);
    expect(new Set(same.map((id) => id[19]))).toEqual(new Set(['8', '9', 'a', 'b']));
    for (const i of [15, 16, 17, 20, 21, 22, ...Array.from({ length: 12 }, (_, k) => 24 + k)])
      expect(new Set(same.map((id) => id[i])).size).toBe(16);
    // each call's id is its own string (the scratch buffer it is written in is reused)
    const kept = uuidv7(1);
    const copy = `${kept}`;
    uuidv7(2);
    expect(kept).toBe(copy);
  });

  it('mints trace ids that start with the time and end with 80 random bits', () => {
    const a = newTraceId(1_700_000_000_000);
    const b = newTraceId(1_700_000_000_001);
    expect(a).toMatch(/^018bcfe56800[0-9a-f]{20}$/);
    expect(b.slice(0, 12)).toBe('018bcfe56801');
    expect(a < b).toBe(true);
    const same = Array.from({ length: 10_000 }, () => newTraceId(1_700_000_000_000));
    expect(new Set(same).size).toBe(10_000);
    // every hex digit of the random part shows up in every position (a fixed or missing byte would not)
    for (let i = 12; i < 32; i++) expect(new Set(same.map((t) => t[i])).size).toBe(16);
    expect(parseTraceparent(formatTraceparent(newTraceId(), newSpanId()))).not.toBeNull();
  });

  it('parses and formats W3C traceparent, rejecting invalid ones', () => {
    const t = newTraceId();
    const s = newSpanId();
    expect(parseTraceparent(formatTraceparent(t, s))).toEqual({ traceId: t, parentSpanId: s, flags: 1 });
    expect(parseTraceparent(`00-${'0'.repeat(32)}-${s}-01`)).toBeNull();
    expect(parseTraceparent(`00-${t}-${'0'.repeat(16)}-01`)).toBeNull();
    expect(parseTraceparent(`ff-${t}-${s}-01`)).toBeNull();
    expect(parseTraceparent('garbage')).toBeNull();
    expect(parseTraceparent(undefined)).toBeNull();
  });
});

describe('LabelGuard', () => {
  it('admits a budget of values per label, then folds into __other__ and counts', () => {
    const overflow: string[] = [];
    const g = new LabelGuard(3, 1000, (l) => overflow.push(l));
    expect(['a', 'b', 'c', 'a'].map((v) => g.value('model', v))).toEqual(['a', 'b', 'c', 'a']);
    expect(g.value('model', 'd')).toBe(OTHER);
    expect(overflow).toEqual(['model']);
    expect(g.value('feature', 'x')).toBe('x');
  });

  it('caps series per metric', () => {
    const g = new LabelGuard(100, 2, () => {});
    expect(g.series_('m', ['a', 'b'])).toEqual(['a', 'b']);
    expect(g.series_('m', ['a', 'c'])).toEqual(['a', 'c']);
    expect(g.series_('m', ['x', 'y'])).toEqual([OTHER, OTHER]);
    expect(g.series_('m', ['a', 'b'])).toEqual(['a', 'b']);
  });
});

describe('ModelRouter', () => {
  const p = (name: string, models: string[] = []) => ({
    name,
    type: 'openai-compatible' as const,
    baseUrl: `http://${name}/v1`,
    models,
    headers: {},
    connections: 1,
    timeout: '1s',
  });

  it('routes explicit routes first, then provider patterns', () => {
    const r = new ModelRouter(
      [p('openai', ['gpt-*']), p('vllm', ['meta-llama/*'])],
      [{ model: 'fast', provider: 'vllm', upstreamModel: 'meta-llama/x' }],
    );
    expect(r.resolve('gpt-4o')?.provider.name).toBe('openai');
    expect(r.resolve('meta-llama/Llama-3')?.provider.name).toBe('vllm');
    expect(r.resolve('fast')).toMatchObject({ upstreamModel: 'meta-llama/x' });
    expect(r.resolve('claude-3')).toBeNull();
    expect(r.knownPatterns()).toEqual(['fast', 'gpt-*', 'meta-llama/*']);
  });

  it('sends everything to a single provider without patterns', () => {
    const r = new ModelRouter([p('upstream')], []);
    expect(r.resolve('anything')?.provider.name).toBe('upstream');
  });
});
