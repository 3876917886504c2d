// An OTLP collector that is down: calls are served as usual (the trace sink has its own lane), and the spans that
// could not be exported are counted as dropped, never silently lost nor retried without bound.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, parseMetrics, type Stack, startStack } from './helpers.js';

describe('OTLP collector down', () => {
  let s: Stack;
  beforeAll(async () => {
    // Port 1 on loopback: nothing listens, every export is refused.
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0 },
      config: { telemetry: { otlpEndpoint: 'http://127.0.0.1:1' } },
    });
  });
  afterAll(() => s.close());

  it('serves every call and counts the calls whose spans were shed', async () => {
    const t0 = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const r = await request(`${s.base}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': `otlp-down-${i}` },
          body: JSON.stringify({
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: 'hi' }],
            stream: i % 2 === 0,
          }),
        });
        await r.body.text();
        return r.statusCode;
      }),
    );
    expect(statuses.every((st) => st === 200)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(5_000);
    await s.waitForCalls(20);
    let dropped = 0;
    for (let i = 0; i < 300 && dropped < 20; i++) {
      const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
      dropped = metricValue(m, 'llmscope_recorder_dropped_total', { sink: 'traces' });
      if (dropped < 20) await new Promise((r) => setTimeout(r, 100));
    }
    expect(dropped).toBe(20);
    // The store has every call regardless.
    for (let i = 0; i < 20; i++) expect(await s.app.ctx.store.getCall(`otlp-down-${i}`)).not.toBeNull();
  }, 60_000);
});
