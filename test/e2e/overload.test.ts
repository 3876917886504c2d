// Overload protection: past server.maxConcurrentCalls calls in flight, or server.maxBufferedBytes of request bodies
// held by them, a new call is answered at once with 503, Retry-After and the OpenAI error shape, and counted —
// instead of queueing and growing memory. Calls admitted before the limit finish normally.
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { metricValue, parseMetrics, type Stack, startStack } from './helpers.js';

const server = (limits: Record<string, number>) => ({
  server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', ...limits },
});

async function burst(s: Stack, n: number, content: string) {
  return Promise.all(
    Array.from({ length: n }, async (_, k) => {
      const r = await request(`${s.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `burst-${k}` },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], max_tokens: 4 }),
      });
      const body = (await r.body.json()) as { error?: { code: string; type: string; message: string } };
      return { status: r.statusCode, retryAfter: r.headers['retry-after'], requestId: r.headers['x-request-id'], body };
    }),
  );
}

describe('overload protection', () => {
  let s: Stack | null = null;
  afterEach(async () => {
    await s?.close();
    s = null;
  });

  it('at 4× server.maxConcurrentCalls, the calls past the cap get 503 + Retry-After at once; the rest are served', async () => {
    s = await startStack({ sim: { ttftMs: 400, tpotMs: 0 }, config: server({ maxConcurrentCalls: 8 }) });
    const t0 = performance.now();
    const out = await burst(s, 32, 'hello');
    const ok = out.filter((r) => r.status === 200);
    const shed = out.filter((r) => r.status === 503);
    expect(ok).toHaveLength(8);
    expect(shed).toHaveLength(24);
    for (const r of shed) {
      expect(r.retryAfter).toBe('1');
      expect(r.requestId).toMatch(/^burst-/);
      expect(r.body.error?.code).toBe('overloaded');
      expect(r.body.error?.type).toBe('server_error');
      expect(r.body.error?.message).toContain('server.maxConcurrentCalls');
    }
    expect(performance.now() - t0).toBeLessThan(5_000);
    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    expect(metricValue(m, 'llmscope_gateway_shed_total', { reason: 'concurrency' })).toBe(24);
    // Shed calls never reached the upstream nor the ledger; the admitted ones are recorded.
    await s.waitForCalls(8);
    expect(s.calls.filter((c) => c.status === 'ok')).toHaveLength(8);
    // Once the burst is over, calls are admitted again.
    const after = await burst(s, 4, 'again');
    expect(after.every((r) => r.status === 200)).toBe(true);
  });

  it('request bodies held by calls in flight stay under server.maxBufferedBytes', async () => {
    s = await startStack({
      sim: { ttftMs: 400, tpotMs: 0 },
      config: server({ maxConcurrentCalls: 1000, maxBufferedBytes: 4 * 1024 * 1024 }),
    });
    const mb = 'word '.repeat(200_000); // 1 MB of prompt per call
    const out = await burst(s, 16, mb);
    const ok = out.filter((r) => r.status === 200).length;
    const shed = out.filter((r) => r.status === 503);
    // At most 4 bodies of 1 MB fit in 4 MiB at once (the JSON around each makes it 3 in all likelihood).
    expect(ok).toBeGreaterThanOrEqual(3);
    expect(ok).toBeLessThanOrEqual(4);
    expect(shed).toHaveLength(16 - ok);
    for (const r of shed) expect(r.body.error?.message).toContain('server.maxBufferedBytes');
    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    expect(metricValue(m, 'llmscope_gateway_shed_total', { reason: 'memory' })).toBe(16 - ok);
  });
});
