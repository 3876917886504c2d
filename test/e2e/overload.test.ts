// Overload protection: past server.maxConcurrentCalls calls in flight, or server.maxBufferedBytes of request bodies
// held by them, a new call is answered at once with 503, Retry-After and the OpenAI error shape, and counted —
// instead of queueing and growing memory. Calls admitted before the limit finish normally.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { metricValue, parseMetrics, type Stack, startStack } from './helpers.js';

const server = (limits: Record<string, number>) => ({
  server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', ...limits },
});

/** `n` calls sent at once; each answer with `ms`, the time from the burst's start to its headers. */
async function burst(s: Stack, n: number, content: string) {
  const t0 = performance.now();
  return Promise.all(
    Array.from({ length: n }, async (_, k) => {
      const r = await request(`${s.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `burst-${k}` },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], max_tokens: 4 }),
      });
      const ms = performance.now() - t0;
      const body = (await r.body.json()) as { error?: { code: string; type: string; message: string } };
      return {
        status: r.statusCode,
        retryAfter: r.headers['retry-after'],
        requestId: r.headers['x-request-id'],
        body,
        ms,
      };
    }),
  );
}

/** An Anthropic-format upstream that answers count_tokens after `holdMs`, counting what it was sent. */
async function slowAnthropic(holdMs: number): Promise<{ server: Server; url: string; seen: () => number }> {
  let seen = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen++;
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ input_tokens: 7 }));
      }, holdMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen: () => seen };
}

async function countTokens(s: Stack, content: string) {
  const r = await request(`${s.base}/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'k' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content }] }),
  });
  const body = (await r.body.json()) as { type?: string; error?: { type: string; message: string } };
  return { status: r.statusCode, retryAfter: r.headers['retry-after'], body };
}

describe('overload protection', () => {
  let s: Stack | null = null;
  let upstream: Server | null = null;
  afterEach(async () => {
    await s?.close();
    s = null;
    upstream?.close();
    upstream = null;
  });

  it('at 4× server.maxConcurrentCalls, the calls past the cap get 503 + Retry-After at once; the rest are served', async () => {
    // The admitted calls are held 3 s by the upstream: every call of the burst arrives while they are (with 400 ms, a
    // busy machine got some of the 32 to llmscope only after a slot was free again, and more than 8 were admitted).
    s = await startStack({ sim: { ttftMs: 3_000, tpotMs: 0 }, config: server({ maxConcurrentCalls: 8 }) });
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
    // At once: each refusal within 5 s of the burst, and before any admitted call is answered (a call queued for a
    // slot would be answered after one).
    const lastShed = Math.max(...shed.map((r) => r.ms));
    expect(lastShed).toBeLessThan(5_000);
    expect(lastShed).toBeLessThan(Math.min(...ok.map((r) => r.ms)));
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
    // Held 3 s by the upstream, so every body of the burst arrives while the admitted ones are held (see above).
    s = await startStack({
      sim: { ttftMs: 3_000, tpotMs: 0 },
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

  // Requests relayed unrecorded (count_tokens, files, batches...) are held by llmscope like calls: a flood of them
  // must not grow memory past server.maxBufferedBytes nor hold more than server.maxConcurrentCalls connections.
  it("pass-through requests count against both limits, and are refused in their route's error shape", async () => {
    // Held 3 s, so every request of the burst arrives while the admitted ones are held (see above).
    const slow = await slowAnthropic(3_000);
    upstream = slow.server;
    s = await startStack({
      config: {
        ...server({ maxConcurrentCalls: 1000, maxBufferedBytes: 4 * 1024 * 1024 }),
        providers: [{ name: 'anthropic-slow', type: 'anthropic', baseUrl: slow.url, models: ['claude-*'] }],
      },
    });
    const mb = 'word '.repeat(200_000);
    const out = await Promise.all(Array.from({ length: 12 }, () => countTokens(s as Stack, mb)));
    const ok = out.filter((r) => r.status === 200).length;
    const shed = out.filter((r) => r.status === 503);
    expect(ok).toBeGreaterThanOrEqual(3);
    expect(ok).toBeLessThanOrEqual(4);
    expect(slow.seen()).toBe(ok);
    expect(shed).toHaveLength(12 - ok);
    for (const r of shed) {
      expect(r.retryAfter).toBe('1');
      expect(r.body.type).toBe('error');
      expect(r.body.error?.type).toBe('overloaded_error');
      expect(r.body.error?.message).toContain('server.maxBufferedBytes');
    }
    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    expect(metricValue(m, 'llmscope_gateway_shed_total', { reason: 'memory' })).toBe(12 - ok);
    // Their bytes are given back when they are answered.
    const again = await Promise.all(Array.from({ length: 3 }, () => countTokens(s as Stack, mb)));
    expect(again.map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('pass-through requests count against server.maxConcurrentCalls', async () => {
    const slow = await slowAnthropic(3_000);
    upstream = slow.server;
    s = await startStack({
      config: {
        ...server({ maxConcurrentCalls: 4 }),
        providers: [{ name: 'anthropic-slow', type: 'anthropic', baseUrl: slow.url, models: ['claude-*'] }],
      },
    });
    const out = await Promise.all(Array.from({ length: 10 }, () => countTokens(s as Stack, 'hi')));
    expect(out.filter((r) => r.status === 200)).toHaveLength(4);
    expect(out.filter((r) => r.status === 503 && r.body.error?.type === 'overloaded_error')).toHaveLength(6);
    expect(slow.seen()).toBe(4);
  });

  it('shutdown waits for pass-through requests in flight, as for calls', async () => {
    const slow = await slowAnthropic(600);
    upstream = slow.server;
    s = await startStack({
      config: { providers: [{ name: 'anthropic-slow', type: 'anthropic', baseUrl: slow.url, models: ['claude-*'] }] },
    });
    const pending = countTokens(s, 'hi');
    while (slow.seen() === 0) await new Promise((r) => setTimeout(r, 10));
    const closing = s.close();
    s = null;
    const r = await pending;
    await closing;
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ input_tokens: 7 });
  });
});
