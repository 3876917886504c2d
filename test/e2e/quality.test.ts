// Quality end to end: the openai client through llmscope against the simulator, with the quality module.
// Feedback (round trip, idempotence, 404), refusals, hallucination evaluations shown on /api/requests/:id, the judge
// answering through the simulator (parsed; malformed → retried → evaluator error), review sampling, and the rates
// in /api/quality/summary.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app-context.js';
import { EVAL_FEATURE } from '../../src/quality/chat-client.js';
import { buildQualityModule, type QualityModule } from '../../src/quality/module.js';
import { sampled } from '../../src/quality/sampling.js';
import { metricValue, parseMetrics, type Stack, startStack } from './helpers.js';

const SOURCES = `Answer only from these sources and cite them.
[1] The Eiffel Tower was completed in 1889 for the World's Fair in Paris. It is 330 metres tall.
[2] Gustave Eiffel's company designed and built the tower. About seven million people visit it every year,
and its wrought-iron lattice is repainted every seven years to protect it from rust.`;

async function startQualityStack(
  quality: Record<string, unknown>,
  captureContent = true,
): Promise<{ s: Stack; qm: () => QualityModule }> {
  let qm: QualityModule | undefined;
  const s = await startStack({
    sim: { ttftMs: 0, tpotMs: 0, outputTokens: 8 },
    config: { quality, telemetry: { logLevel: 'info', captureContent } } as never,
    app: {
      modules: [
        async (ctx: AppContext) => {
          qm = await buildQualityModule(ctx);
          return qm;
        },
      ],
    },
  });
  return { s, qm: () => qm as QualityModule };
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = any;

const json = async (url: string, init?: { method?: string; body?: unknown }) => {
  const r = await fetch(url, {
    method: init?.method ?? 'GET',
    headers: init?.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init?.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: r.status, body: (await r.json()) as Json };
};

const REVIEW_RATE = 0.02;

describe('quality through the gateway', () => {
  let s: Stack;
  let qm: () => QualityModule;
  let client: OpenAI;
  const ids: Record<string, string> = {};

  /** One chat call through llmscope, answered with exactly `reply`; returns its request id. */
  const ask = async (
    reply: string | null,
    extra: Record<string, string> = {},
    content = 'When was the Eiffel Tower completed?',
    history: { role: 'user' | 'assistant'; content: string }[] = [],
  ) => {
    const { response } = await client.chat.completions
      .create(
        {
          model: 'gpt-4o-mini',
          messages: [{ role: 'system', content: SOURCES }, ...history, { role: 'user', content }],
        },
        {
          headers: {
            ...(reply === null ? {} : { 'x-simulator-reply': reply }),
            'x-llmscope-feature': 'support',
            ...extra,
          },
        },
      )
      .withResponse();
    return response.headers.get('x-request-id') as string;
  };

  /** Waits until every recorded call has gone through the quality sink and its evaluations are stored. */
  const settle = async (n: number) => {
    await s.waitForCalls(n);
    await s.app.ctx.recorder.flush();
    await qm().idle();
    await s.app.ctx.recorder.flush();
  };

  beforeAll(async () => {
    ({ s, qm } = await startQualityStack({
      reviewRate: REVIEW_RATE,
      sampling: { judge: 1 },
      judge: {
        provider: 'simulator',
        model: 'judge-model',
        headers: { 'x-simulator-reply': '{"verdict":"pass","score":0.9,"reason":"the answer matches the sources"}' },
      },
    }));
    client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    // The faithful answer must stay out of the review sample (drawn by request id), so that labelling it later is
    // a `manual` addition and no test depends on which 2% random ids fall into the sample.
    let faithfulId = '';
    for (let k = 0; !faithfulId || sampled(faithfulId, REVIEW_RATE, 'review'); k++) faithfulId = `faithful-${k}`;
    ids.faithful = await ask("The Eiffel Tower was completed in 1889 for the World's Fair [1].", {
      'x-request-id': faithfulId,
    });
    // The model said 1901 in an earlier turn: its own words are no evidence, the sources (1889) still contradict it.
    ids.fabricated = await ask(
      'The Eiffel Tower was completed in 1901 [1]. It was repainted gold in 2019 [4].',
      {},
      'Are you sure?',
      [
        { role: 'user', content: 'When was the Eiffel Tower completed?' },
        { role: 'assistant', content: 'The Eiffel Tower was completed in 1901.' },
      ],
    );
    ids.refusal = await ask(null, { 'x-simulator-fault': 'refusal' });
    ids.phrase = await ask("I'm sorry, but I can't help with that request.");
    await settle(4);
  });
  afterAll(() => s.close());

  it('flags a contradicted number and a fabricated citation with their evidence, and not the faithful answer', async () => {
    const bad = await json(`${s.base}/api/requests/${ids.fabricated}`);
    expect(bad.status).toBe(200);
    const byName = Object.fromEntries((bad.body.evaluations as Json[]).map((e) => [e.evaluator, e]));
    expect(byName.grounding.verdict).toBe('fail');
    const contradicted = byName.grounding.claims.find((c: Json) => c.status === 'contradicted');
    expect(contradicted.text).toContain('1901');
    expect(contradicted.reasons.join(' ')).toMatch(/1901.*1889/);
    expect(contradicted.evidence[0].text).toContain('1889');
    expect(byName.attribution.verdict).toBe('fail');
    expect(byName.attribution.claims.find((c: Json) => c.text.startsWith('[4]')).reasons[0]).toMatch(
      /cites source \[4\]/,
    );

    const good = await json(`${s.base}/api/requests/${ids.faithful}`);
    const goodBy = Object.fromEntries((good.body.evaluations as Json[]).map((e) => [e.evaluator, e]));
    expect(goodBy.grounding.verdict).toBe('pass');
    expect(goodBy.attribution.verdict).toBe('pass');
    expect(good.body.feedback).toEqual([]);
  });

  it('runs the judge through the simulator, parses its verdict, and records its calls as llmscope-eval', async () => {
    const r = await json(`${s.base}/api/quality/requests/${ids.faithful}`);
    const judge = (r.body.evaluations as Json[]).find((e) => e.evaluator === 'judge');
    expect(judge).toMatchObject({ verdict: 'pass', score: 0.1, explanation: 'the answer matches the sources' });
    const judgeCalls = s.calls.filter((c) => c.feature === EVAL_FEATURE);
    expect(judgeCalls.length).toBeGreaterThanOrEqual(2);
    expect(judgeCalls[0]).toMatchObject({ model: 'judge-model', provider: 'simulator', status: 'ok' });
    expect(judgeCalls[0]?.inputTokens).toBeGreaterThan(0);
    const m = parseMetrics(await (await fetch(`${s.base}/metrics`)).text());
    expect(metricValue(m, 'llm_evaluations_total', { evaluator: 'judge', verdict: 'pass' })).toBeGreaterThanOrEqual(2);
    expect(metricValue(m, 'llm_evaluations_total', { evaluator: 'grounding', verdict: 'fail' })).toBe(1);
  });

  it('marks refusals (provider fault and phrase), counts them, and sends them to review', async () => {
    const calls = s.calls.filter((c) => c.feature === 'support');
    expect(calls.find((c) => c.requestId === ids.refusal)?.refusal).toBe(true);
    expect(calls.find((c) => c.requestId === ids.phrase)?.refusal).toBe(true);
    expect(calls.find((c) => c.requestId === ids.faithful)?.refusal).toBe(false);
    const m = parseMetrics(await (await fetch(`${s.base}/metrics`)).text());
    expect(metricValue(m, 'llm_refusals_total')).toBe(2);
    const q = await json(`${s.base}/api/quality/review?reason=refusal`);
    expect((q.body.data as Json[]).map((i) => i.request_id).sort()).toEqual([ids.refusal, ids.phrase].sort());
    // Refusals are not checked for hallucination.
    expect((await json(`${s.base}/api/requests/${ids.phrase}`)).body.evaluations).toEqual([]);
  });

  it('takes feedback: round trip, idempotent per source, 404 for unknown ids, thumbs-down goes to review', async () => {
    const up = await json(`${s.base}/api/feedback`, {
      method: 'POST',
      body: { request_id: ids.faithful, rating: 'up', source: 'app' },
    });
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ request_id: ids.faithful, rating: 'up', source: 'app', created: true });
    const again = await json(`${s.base}/api/feedback`, {
      method: 'POST',
      body: { request_id: ids.faithful, rating: 'up', source: 'app' },
    });
    expect(again.status).toBe(200);
    expect(again.body.created).toBe(false);
    const down = await json(`${s.base}/api/feedback`, {
      method: 'POST',
      body: { request_id: ids.fabricated, rating: 'down', comment: 'wrong year', labels: ['hallucination'] },
    });
    expect(down.status).toBe(201);

    const detail = await json(`${s.base}/api/requests/${ids.faithful}`);
    expect(detail.body.feedback).toHaveLength(1);
    expect(detail.body.feedback[0]).toMatchObject({ rating: 'up', source: 'app' });

    const missing = await json(`${s.base}/api/feedback`, {
      method: 'POST',
      body: { request_id: 'no-such-call', rating: 'up' },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ type: 'not_found_error', code: 'not_found', param: 'request_id' });
    expect(missing.body.error.message).toMatch(/no-such-call/);
    const invalid = await json(`${s.base}/api/feedback`, {
      method: 'POST',
      body: { request_id: ids.faithful, rating: 'meh' },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toMatch(/rating/);

    const m = parseMetrics(await (await fetch(`${s.base}/metrics`)).text());
    expect(metricValue(m, 'llm_feedback_total', { rating: 'up' })).toBe(1);
    expect(metricValue(m, 'llm_feedback_total', { rating: 'down' })).toBe(1);

    const review = await json(`${s.base}/api/quality/review?reason=thumbs_down`);
    const item = (review.body.data as Json[]).find((i) => i.request_id === ids.fabricated);
    expect(item.reasons).toEqual(expect.arrayContaining(['thumbs_down', 'flag:grounding']));
    expect(item.rating).toBe('down');
    expect(item.evaluations.length).toBeGreaterThan(0);
  });

  it('reports satisfaction, refusal and hallucination rates in /api/quality/summary, overall and by model', async () => {
    const r = await json(`${s.base}/api/quality/summary`);
    expect(r.status).toBe(200);
    expect(r.body.total).toMatchObject({
      responses: 4,
      refusals: 2,
      refusal_rate: 0.5,
      feedback: { up: 1, down: 1, satisfaction_rate: 0.5 },
      evaluated: 2,
      flagged: 1,
      hallucination_rate: 0.5,
    });
    const byModel = await json(`${s.base}/api/quality/summary?group_by=model`);
    expect(byModel.body.groups).toHaveLength(1);
    expect(byModel.body.groups[0]).toMatchObject({ model: 'gpt-4o-mini', responses: 4 });
    const series = await json(`${s.base}/api/quality/series?group_by=feature`);
    expect(series.body.data.reduce((n: number, p: Json) => n + p.responses, 0)).toBe(4);
    expect(series.body.data[0].feature).toBe('support');
    const bad = await json(`${s.base}/api/quality/summary?group_by=user`);
    expect(bad.status).toBe(400);
  });

  it('labels review items and turns labels into the reviewed rate (Wilson interval) and detector precision', async () => {
    const labeled = await json(`${s.base}/api/quality/review`, {
      method: 'POST',
      body: { request_id: ids.fabricated, hallucination: true, notes: 'year is wrong', reviewer: 'ann' },
    });
    expect(labeled.status).toBe(200);
    expect(labeled.body.labels).toMatchObject({ hallucination: true, notes: 'year is wrong', reviewer: 'ann' });
    await json(`${s.base}/api/quality/review`, {
      method: 'POST',
      body: { request_id: ids.phrase, refusal_correct: true },
    });
    // A call not in the queue can be labelled too (it joins as `manual`).
    const manual = await json(`${s.base}/api/quality/review`, {
      method: 'POST',
      body: { request_id: ids.faithful, hallucination: false },
    });
    expect(manual.body.reasons).toContain('manual');
    expect(
      (
        await json(`${s.base}/api/quality/review`, {
          method: 'POST',
          body: { request_id: 'nope', hallucination: true },
        })
      ).status,
    ).toBe(404);

    const sum = await json(`${s.base}/api/quality/summary`);
    expect(sum.body.total.detectors.grounding).toMatchObject({ flagged_reviewed: 1, confirmed: 1, precision: 1 });
    expect(sum.body.total.detectors.refusal).toMatchObject({ flagged_reviewed: 1, confirmed: 1, precision: 1 });
    expect(sum.body.total.reviewed.labeled_total).toBe(3);
    const pending = await json(`${s.base}/api/quality/review?status=labeled`);
    expect(pending.body.data).toHaveLength(3);
  });
});

describe('content capture off', () => {
  it('stores evaluations with ids, scores and counts only: no quote of the prompt, answer or sources', async () => {
    const { s, qm } = await startQualityStack({ reviewRate: 0 }, false);
    try {
      const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
      const { response } = await client.chat.completions
        .create(
          {
            model: 'gpt-4o-mini',
            messages: [
              { role: 'system', content: SOURCES },
              { role: 'user', content: 'When was the Eiffel Tower completed?' },
            ],
          },
          { headers: { 'x-simulator-reply': 'The Eiffel Tower was completed in 1901 by Napoleon [4].' } },
        )
        .withResponse();
      const id = response.headers.get('x-request-id') as string;
      await s.waitForCalls(1);
      await s.app.ctx.recorder.flush();
      await qm().idle();
      await s.app.ctx.recorder.flush();
      const r = await json(`${s.base}/api/requests/${id}`);
      const byName = Object.fromEntries((r.body.evaluations as Json[]).map((e) => [e.evaluator, e]));
      expect(byName.grounding).toMatchObject({ verdict: 'fail' });
      expect(byName.grounding.claims[0]).toMatchObject({ text: 'claim#1', status: 'contradicted' });
      expect(byName.grounding.explanation).toMatch(/worst claim#1 score [\d.]+, evidence context#\d/);
      const stored = JSON.stringify(r.body.evaluations);
      for (const quote of ['Eiffel', 'Napoleon', '1901', '1889', 'completed']) expect(stored).not.toContain(quote);
    } finally {
      await s.close();
    }
  });
});

describe('the judge answering malformed JSON', () => {
  it('retries, then records an evaluator error, and traffic still flows', async () => {
    const { s, qm } = await startQualityStack({
      sampling: { judge: 1, grounding: 0, attribution: 0, consistency: 0 },
      judge: {
        provider: 'simulator',
        model: 'judge-model',
        maxRetries: 2,
        headers: { 'x-simulator-reply': 'Looks fine to me!' },
      },
    });
    try {
      const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
      const { response } = await client.chat.completions
        .create(
          { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
          { headers: { 'x-simulator-reply': 'Hello there.' } },
        )
        .withResponse();
      const id = response.headers.get('x-request-id') as string;
      await s.waitForCalls(1);
      await s.app.ctx.recorder.flush();
      await qm().idle();
      await s.app.ctx.recorder.flush();
      const r = await json(`${s.base}/api/requests/${id}`);
      expect(r.body.evaluations).toHaveLength(1);
      expect(r.body.evaluations[0]).toMatchObject({ evaluator: 'judge', verdict: 'error' });
      expect(r.body.evaluations[0].explanation).toMatch(/malformed judge verdict after 3 attempt/);
      expect(s.calls.filter((c) => c.feature === EVAL_FEATURE)).toHaveLength(3);
      const m = parseMetrics(await (await fetch(`${s.base}/metrics`)).text());
      expect(metricValue(m, 'llm_evaluations_total', { evaluator: 'judge', verdict: 'error' })).toBe(1);
      const sum = await json(`${s.base}/api/quality/summary`);
      expect(sum.body.total).toMatchObject({ responses: 1, evaluated: 0, hallucination_rate: null });
    } finally {
      await s.close();
    }
  });
});

describe('review sampling', () => {
  it('queues the configured share of calls (by request id) and every thumbs-down', async () => {
    const { s } = await startQualityStack({ reviewRate: 0.05 });
    try {
      const t = Date.now() - 60_000;
      const records = Array.from({ length: 2000 }, (_, i) => ({
        request_id: `sample-${i}`,
        started_at: t + i,
        latency_ms: 5,
        provider: 'simulator',
        model: 'gpt-4o-mini',
      }));
      const ingest = await fetch(`${s.base}/api/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(records),
      });
      expect(ingest.status).toBeLessThan(300);
      await s.waitForCalls(2000);
      await s.app.ctx.recorder.flush();
      let sampledIds: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await json(
          `${s.base}/api/quality/review?reason=sample&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
        );
        sampledIds = sampledIds.concat((page.body.data as Json[]).map((i) => i.request_id));
        cursor = page.body.next_cursor;
      } while (cursor);
      // 5% of 2000 = 100; a binomial 99.9% band is about ±30.
      expect(sampledIds.length).toBeGreaterThan(70);
      expect(sampledIds.length).toBeLessThan(130);
      // Thumbs-down calls are always queued, sampled or not.
      const notSampled = records
        .map((r) => r.request_id)
        .filter((id) => !sampledIds.includes(id))
        .slice(0, 5);
      for (const id of notSampled)
        expect(
          (await json(`${s.base}/api/feedback`, { method: 'POST', body: { request_id: id, rating: 'down' } })).status,
        ).toBe(201);
      const down = await json(`${s.base}/api/quality/review?reason=thumbs_down&limit=500`);
      expect((down.body.data as Json[]).map((i) => i.request_id).sort()).toEqual([...notSampled].sort());
    } finally {
      await s.close();
    }
  });
});

describe('self-consistency with extra samples from the upstream', () => {
  it('asks the same model again, records those calls as llmscope-eval, and compares', async () => {
    const { s, qm } = await startQualityStack({
      sampling: { grounding: 0, attribution: 0, consistency: 1, consistencySamples: 1 },
      consistencySampleCount: 2,
    });
    try {
      const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
      const { response } = await client.chat.completions
        .create(
          { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'When did the bridge open?' }] },
          { headers: { 'x-simulator-reply': 'The bridge opened in 1937. It carried 1.5 million cars in 1938.' } },
        )
        .withResponse();
      const id = response.headers.get('x-request-id') as string;
      await s.waitForCalls(3);
      await s.app.ctx.recorder.flush();
      await qm().idle();
      const samples = s.calls.filter((c) => c.feature === EVAL_FEATURE);
      expect(samples).toHaveLength(2);
      expect(samples[0]).toMatchObject({ model: 'gpt-4o-mini', provider: 'simulator' });
      const r = await json(`${s.base}/api/requests/${id}`);
      const c = (r.body.evaluations as Json[]).find((e) => e.evaluator === 'consistency');
      expect(c.explanation).toMatch(/against 2 extra sample/);
      // The simulator's samples are unrelated text, so the answer's claims are not backed by them.
      expect(c.verdict).toBe('fail');
    } finally {
      await s.close();
    }
  });
});

describe('feedback as soon as the answer shows', () => {
  it('writes the call still on its way to the store first, instead of answering 404', async () => {
    const { s } = await startQualityStack({});
    try {
      const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
      for (let i = 0; i < 3; i++) {
        const { response } = await client.chat.completions
          .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
          .withResponse();
        const id = response.headers.get('x-request-id') as string;
        // Clicked at once: the store's lane is still lingering (storage.flushInterval) with the call.
        const r = await json(`${s.base}/api/feedback`, { method: 'POST', body: { request_id: id, rating: 'up' } });
        expect(r.status).toBe(201);
      }
    } finally {
      await s.close();
    }
  });
});
