// QA23: self-consistency's extra samples re-ask the call's upstream with the provider's own timeout (600 s by default),
// on the queue the judge shares. Through serve with an upstream taking 30 s to answer them (quality.concurrency 1, 5
// calls): no judge verdict and no consistency result after 25 s, the first after the first sample's 30 s. Now each
// sample waits at most quality.consistencyTimeoutMs (default 30 s), after which consistency keeps its own check and
// says the samples failed. Timing: the upstream answers samples after 20 s; the results are wanted within 10 s.
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app-context.js';
import { buildQualityModule } from '../../src/quality/module.js';
import { startStack } from './helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = any;

describe('self-consistency against a slow upstream (QA23)', () => {
  it('gives up on the extra samples after consistencyTimeoutMs, so the judge behind it is not held', async () => {
    const s = await startStack({
      sim: { ttftMs: 20_000, tpotMs: 0, outputTokens: 8 },
      config: (sim) =>
        ({
          telemetry: { logLevel: 'info', captureContent: true },
          quality: {
            concurrency: 1,
            consistencySampleCount: 2,
            consistencyTimeoutMs: 400,
            sampling: { grounding: 0, attribution: 0, consistency: 1, consistencySamples: 1, judge: 1 },
            judge: {
              baseUrl: sim.url,
              model: 'judge-model',
              headers: {
                'x-simulator-ttft-ms': '0',
                'x-simulator-reply': '{"verdict": "pass", "score": 0.9, "reason": "backed", "unsupported_claims": []}',
              },
            },
          },
        }) as never,
      app: { modules: [async (ctx: AppContext) => buildQualityModule(ctx)] },
    });
    try {
      const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
      const ids: string[] = [];
      const t0 = Date.now();
      for (let i = 0; i < 3; i++) {
        const { response } = await client.chat.completions
          .create(
            { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `When did the bridge open? (${i})` }] },
            { headers: { 'x-simulator-ttft-ms': '0', 'x-simulator-reply': 'The bridge opened in 1937.' } },
          )
          .withResponse();
        ids.push(response.headers.get('x-request-id') as string);
      }
      const verdicts = async () => {
        const out: Json[] = [];
        for (const id of ids) {
          const r = (await (await fetch(`${s.base}/api/requests/${id}`)).json()) as Json;
          out.push(...((r.evaluations ?? []) as Json[]));
        }
        return out;
      };
      let evaluations: Json[] = [];
      while (Date.now() - t0 < 10_000) {
        evaluations = await verdicts();
        if (evaluations.length >= 6) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const judged = evaluations.filter((e) => e.evaluator === 'judge');
      const consistency = evaluations.filter((e) => e.evaluator === 'consistency');
      expect(judged.map((e) => e.verdict)).toEqual(['pass', 'pass', 'pass']);
      expect(consistency).toHaveLength(3);
      for (const c of consistency) expect(c.explanation).toMatch(/extra samples failed/);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await s.close();
    }
  }, 30_000);
});
