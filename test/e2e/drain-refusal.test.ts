// A call that arrives while llmscope drains for shutdown is refused with 503 shutting_down by llmscope itself: the
// upstream never sees it, so it is not recorded as an LLM call (it was recorded as upstream_error, blaming the
// upstream), only counted in llmscope_gateway_shed_total{reason="shutting_down"}, as calls shed at a limit are.
import { connect } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, type Stack, startStack } from './helpers.js';

describe('a call refused while draining', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 400, tpotMs: 0, outputTokens: 4 } });
  });
  afterAll(() => s.sim.close());

  it('is answered 503 shutting_down, not recorded as a call, and counted as shed', async () => {
    const url = new URL(s.base);
    const chat = (id: string) =>
      JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: id }], stream: false });
    // A call in flight keeps the server draining for a while.
    const slow = request(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'drain-slow' },
      body: chat('slow'),
    });
    // A connection whose request has begun (so close() does not drop it as idle) but whose headers end only once
    // the server drains.
    const sock = connect(Number(url.port), url.hostname);
    await new Promise<void>((ok) => sock.once('connect', () => ok()));
    sock.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: ${url.host}\r\n`);
    let answer = '';
    sock.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    const sockClosed = new Promise<void>((ok) => sock.once('close', () => ok()));
    await new Promise((r) => setTimeout(r, 100));
    const closed = s.app.close();
    await new Promise((r) => setTimeout(r, 50));
    const body = chat('late');
    sock.write(
      `content-type: application/json\r\nx-request-id: drain-late\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await sockClosed;
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer.toLowerCase()).toContain('retry-after:');
    const json = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
    expect(json.error.code).toBe('shutting_down');

    expect((await slow).statusCode).toBe(200);
    await closed;
    expect(s.calls.map((c) => c.requestId)).toEqual(['drain-slow']);
    expect(s.sim.stats.requests).toBe(1);
    const m = parseMetrics(await s.app.ctx.registry.metrics());
    expect(m.get('llmscope_gateway_shed_total{reason="shutting_down"}')).toBe(1);
    expect([...m.keys()].filter((k) => k.startsWith('llm_requests_total'))).toHaveLength(1);
  });
});
