// QA14: a judge whose upstream is slow (answers after its timeout) fails open for itself only. Before, a call's
// evaluators ran one after another inside the job of its batch of calls, and the batch's results were stored when
// its last call was done: a judge waiting out its timeout on each call held every call's grounding, attribution and
// consistency results back (12 calls × 0.8 s here; 32 × 30 s with the default timeout), and a full queue dropped
// them. Now the judge runs on a runner of its own and its results are stored by themselves.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app-context.js';
import { buildQualityModule, type QualityModule } from '../../src/quality/module.js';
import { metricValue, parseMetrics, type Stack, startStack } from './helpers.js';

const SOURCES = `Answer only from these sources.
The Acme Widget 3000 was released on March 14, 2021. It weighs 2.4 kilograms and costs 499 dollars. Its battery
lasts 18 hours on a single charge, and it was designed by Maria Okafor at the Acme laboratory in Rotterdam.`;

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = any;

describe('a slow judge (QA14)', () => {
  let s: Stack;
  let qm: QualityModule | undefined;
  const ids: string[] = [];

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0, outputTokens: 8 },
      config: {
        quality: {
          concurrency: 1,
          sampling: { judge: 1 },
          judge: {
            provider: 'simulator',
            model: 'judge-model',
            timeoutMs: 800,
            maxRetries: 0,
            // The simulator answers the judge after 5 s: every judge call times out.
            headers: { 'x-simulator-ttft-ms': '5000', 'x-simulator-reply': '{"verdict":"pass","score":0.9}' },
          },
        },
        telemetry: { logLevel: 'info', captureContent: true },
      } as never,
      app: {
        modules: [
          async (ctx: AppContext) => {
            qm = await buildQualityModule(ctx);
            return qm;
          },
        ],
      },
    });
    const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    for (let i = 0; i < 12; i++) {
      const wrong = i % 2 === 1;
      const { response } = await client.chat.completions
        .create(
          {
            model: 'gpt-4o-mini',
            messages: [
              { role: 'system', content: SOURCES },
              { role: 'user', content: 'When was the Acme Widget 3000 released, and what does it weigh?' },
            ],
          },
          {
            headers: {
              'x-simulator-reply': wrong
                ? 'The Acme Widget 3000 was released on June 2, 2019 and weighs 7.9 kilograms.'
                : 'The Acme Widget 3000 was released on March 14, 2021 and weighs 2.4 kilograms.',
            },
          },
        )
        .withResponse();
      ids.push(response.headers.get('x-request-id') as string);
    }
  }, 30_000);

  afterAll(async () => {
    await s?.close();
  });

  it("stores every call's local checks while the judge waits out its timeouts, then the judge's errors", async () => {
    const t0 = Date.now();
    await s.waitForCalls(12);
    await s.app.ctx.recorder.flush();
    // Grounding for all 12 within 3 s, though the 12 judge calls take 12 × 0.8 s one at a time.
    let grounded = 0;
    while (Date.now() - t0 < 3_000) {
      grounded = 0;
      for (const id of ids) {
        const r = (await (await fetch(`${s.base}/api/quality/requests/${id}`)).json()) as Json;
        if (r.evaluations.some((e: Json) => e.evaluator === 'grounding')) grounded++;
      }
      if (grounded === ids.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(grounded).toBe(ids.length);
    const wrong = (await (await fetch(`${s.base}/api/quality/requests/${ids[1]}`)).json()) as Json;
    expect(wrong.evaluations.find((e: Json) => e.evaluator === 'grounding').verdict).toBe('fail');

    // Then the judge's own results: verdict error (fail open), each judge call bounded by its timeout.
    expect(await qm?.idle(30_000)).toBe(true);
    for (const id of ids) {
      const r = (await (await fetch(`${s.base}/api/quality/requests/${id}`)).json()) as Json;
      const judge = r.evaluations.find((e: Json) => e.evaluator === 'judge');
      expect(judge?.verdict, id).toBe('error');
      expect(judge.duration_ms).toBeLessThan(3_000);
      expect(r.evaluations.map((e: Json) => e.evaluator).sort()).toEqual(
        ['attribution', 'consistency', 'grounding', 'judge'].sort(),
      );
    }
    const m = parseMetrics(await (await fetch(`${s.base}/metrics`)).text());
    expect(metricValue(m, 'llm_evaluations_total', { evaluator: 'judge', verdict: 'error' })).toBe(12);
    // Each call counted once as evaluated, and the wrong answers once as flagged, though stored in two writes.
    const sum = (await (await fetch(`${s.base}/api/quality/summary`)).json()) as Json;
    expect(sum.total).toMatchObject({ responses: 12, evaluated: 12, flagged: 6 });
  }, 60_000);
});
