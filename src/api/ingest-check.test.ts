// checkIngestBody is an exact shortcut past zod: whatever body it takes, zod takes too and gives the same records;
// whatever it declines reaches zod untouched. Checked on generated bodies mixing valid and invalid values of every
// field, in the three body forms.
import { describe, expect, it } from 'vitest';
import { ingestBodySchema } from './ingest.js';
import { checkIngestBody } from './ingest-check.js';

/** Per field: values the schema takes and values it refuses (undefined = the key left out). */
const VALUES: Record<string, { ok: unknown[]; bad: unknown[] }> = {
  request_id: { ok: [undefined, 'r-1', 'x'.repeat(128)], bad: ['', 'x'.repeat(129), null, 7] },
  trace_id: {
    ok: [undefined, null, '0123456789abcdef0123456789abcdef'],
    bad: ['0123456789ABCDEF0123456789ABCDEF', 'ab', 1],
  },
  started_at: {
    ok: [1_700_000_000_000, 0, 1.5, '2026-12-05T01:02:03Z', '2026-12-05T01:02:03.123+02:00'],
    bad: [undefined, -1, '2026-12-05', 'yesterday', null, '2026-12-05T01:02:03'],
  },
  ended_at: { ok: [undefined, 1_700_000_000_500, '2026-12-05T01:02:04Z'], bad: [null, -5, 'soon'] },
  provider: { ok: ['openai', 'p'.repeat(128)], bad: [undefined, '', 'p'.repeat(129), null] },
  model: { ok: ['gpt-4o', 'm'.repeat(256)], bad: [undefined, '', 'm'.repeat(257), 3] },
  endpoint: { ok: [undefined, 'chat.completions', 'embeddings'], bad: ['chat', null] },
  stream: { ok: [undefined, true, false], bad: ['true', null, 1] },
  status: { ok: [undefined, 'ok', 'timeout'], bad: ['fine', null] },
  http_status: { ok: [undefined, 100, 200, 599], bad: [99, 600, 200.5, null, '200'] },
  error_type: { ok: [undefined, null, 'e', 'e'.repeat(256)], bad: ['e'.repeat(257), 1] },
  error_message: { ok: [undefined, null, 'm'.repeat(2048)], bad: ['m'.repeat(2049), false] },
  user: { ok: [undefined, null, '', 'u', 'ユーザー😀'], bad: ['u'.repeat(257), {}] },
  team: { ok: [undefined, null, 't'], bad: [['t']] },
  feature: { ok: [undefined, null, 'f'], bad: [0] },
  session: { ok: [undefined, null, 's'], bad: [true] },
  input_tokens: { ok: [undefined, null, 0, 12, 2 ** 53 - 1], bad: [-1, 1.5, '3', 2 ** 60] },
  output_tokens: { ok: [undefined, null, 5], bad: [-2, 0.1] },
  cached_input_tokens: { ok: [undefined, null, 0], bad: [1e300] },
  cache_write_input_tokens: { ok: [undefined, null, 9], bad: ['9'] },
  reasoning_tokens: { ok: [undefined, null, 3], bad: [-0.5] },
  ttft_ms: { ok: [undefined, null, 0, 12.5], bad: [-1, '1'] },
  tpot_ms: { ok: [undefined, null, 3.25], bad: [-3] },
  latency_ms: { ok: [undefined, null, 200], bad: [-200, true] },
  cost_usd: { ok: [undefined, null, 0, 0.0012], bad: [-0.01, '0.1'] },
  finish_reason: { ok: [undefined, null, 'stop'], bad: ['s'.repeat(257)] },
  refusal: { ok: [undefined, true, false], bad: [0, null] },
  metadata: {
    ok: [
      undefined,
      null,
      {},
      { tenant: 't-1', 'x-y': 'z' },
      { BAD: 'checked later, as LLMSCOPE_ERR_INVALID_METADATA' },
    ],
    bad: [{ n: 1 }, ['a'], 'k=v', JSON.parse('{"__proto__":"x"}')],
  },
};
const FIELDS = Object.keys(VALUES);

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

/** A record: each field valid, or (with chance `badRate`) one of its invalid values; maybe an unknown key. */
function record(r: () => number, badRate: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const { ok, bad } = VALUES[f] as { ok: unknown[]; bad: unknown[] };
    const v = r() < badRate ? pick(r, bad) : pick(r, ok);
    if (v !== undefined) out[f] = v;
  }
  if (r() < badRate) out[pick(r, ['extra', 'constructor', 'calls', 'startedAt'])] = 1;
  return out;
}

function body(r: () => number, badRate: number): unknown {
  const n = pick(r, [1, 2, 5]);
  const records = Array.from({ length: n }, () => record(r, badRate));
  const form = r();
  if (form < 0.4) return records;
  if (form < 0.8) return r() < badRate ? { calls: records, more: 1 } : { calls: records };
  return records[0];
}

/** JSON's view of a value (what ingest gets from readJson), so a body is checked as it would arrive. */
const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe('checkIngestBody', () => {
  it('takes only bodies zod takes, giving the same records; leaves the ones it declines as they came', () => {
    const r = rng(12);
    let taken = 0;
    let declined = 0;
    for (let i = 0; i < 6000; i++) {
      const sent = json(body(r, pick(r, [0, 0.01, 0.05, 0.3])));
      const z = ingestBodySchema.safeParse(json(sent));
      const mine = json(sent);
      const fast = checkIngestBody(mine);
      if (fast === null) {
        declined++;
        expect(mine).toEqual(sent);
      } else {
        taken++;
        expect(z.success, JSON.stringify(sent).slice(0, 500)).toBe(true);
        expect(fast).toEqual(z.data);
      }
    }
    // both ways were exercised
    expect(taken).toBeGreaterThan(1000);
    expect(declined).toBeGreaterThan(1000);
  });

  it("takes what senders send: bench:ingest's records, ISO times, empty metadata, a single record", () => {
    const rec = {
      request_id: 'i-1',
      started_at: 1_700_000_000_000,
      latency_ms: 250,
      provider: 'openai',
      model: 'gpt-4o-mini',
      endpoint: 'chat.completions',
      stream: true,
      input_tokens: 100,
      output_tokens: 20,
      cached_input_tokens: 0,
      ttft_ms: 30,
      user: 'user-1',
      team: 'team-1',
      feature: 'feature-1',
      session: 's-1',
      finish_reason: 'stop',
      metadata: { tenant: 't-1' },
    };
    for (const b of [
      { calls: [rec, { ...rec, request_id: 'i-2' }] },
      [rec],
      rec,
      { started_at: '2026-12-05T01:02:03.5Z', provider: 'p', model: 'm', metadata: {} },
    ]) {
      const fast = checkIngestBody(json(b));
      expect(fast).not.toBeNull();
      expect(fast).toEqual(ingestBodySchema.parse(json(b)));
    }
  });

  it('declines an empty list, more than 10,000 records, and what is not an object', () => {
    const rec = { started_at: 1, provider: 'p', model: 'm' };
    for (const b of [[], { calls: [] }, Array(10_001).fill(rec), null, 'x', 5, [null], { calls: rec }])
      expect(checkIngestBody(json(b))).toBeNull();
    expect(checkIngestBody(Array(10_000).fill(rec))).not.toBeNull();
  });

  it('declines a record with a "__proto__" key (a read by name does not see it; zod answers for it)', () => {
    const text = '{"started_at":1,"provider":"p","model":"m","__proto__":{"x":1}}';
    expect(Object.hasOwn(JSON.parse(text), '__proto__')).toBe(true);
    for (const b of [text, `[${text}]`, `{"calls":[${text}]}`]) expect(checkIngestBody(JSON.parse(b))).toBeNull();
  });
});
