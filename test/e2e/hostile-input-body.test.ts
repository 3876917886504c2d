// Request bodies that arrive slowly, against the built CLI in one process and with `serve --workers 2`, over raw
// sockets: a body that stops arriving for server.bodyIdleTimeout is answered 408 in the route's error shape, its
// connection closed and the cut counted (llmscope_request_body_timeouts_total), while a slow upload that keeps moving,
// for longer than that timeout in all, is served. A body over 1 MiB is parsed as it arrives (readJsonBody).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { killServe, metricValue, parseMetrics, type ServeProcess, startServeProcess, until } from './helpers.js';

/**
 * Sends `head`, then `body` in `pieces` pieces `everyMs` apart, and stops after `stopAfter` pieces (the rest never
 * sent); collects the answer until the server closes the connection.
 */
function trickle(
  base: string,
  head: string,
  body: string,
  opts: { pieces: number; everyMs: number; stopAfter?: number },
): Promise<{ answer: string; closedAfterMs: number }> {
  const u = new URL(base);
  return new Promise((resolve) => {
    const s = connect(Number(u.port), u.hostname);
    const got: Buffer[] = [];
    const size = Math.ceil(body.length / opts.pieces);
    let sent = 0;
    let drip: NodeJS.Timeout | undefined;
    const started = Date.now();
    s.on('data', (d: Buffer) => {
      got.push(d);
      // A whole answer to a request that was sent whole: done (the connection may be kept alive).
      const text = Buffer.concat(got).toString('latin1');
      const m = /content-length: (\d+)/i.exec(text);
      const at = text.indexOf('\r\n\r\n');
      if (sent === opts.pieces && m && at >= 0 && text.length - at - 4 >= Number(m[1])) s.end();
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearInterval(drip);
      resolve({ answer: Buffer.concat(got).toString('latin1'), closedAfterMs: Date.now() - started });
    });
    s.on('connect', () => {
      s.write(head);
      drip = setInterval(() => {
        if (sent === (opts.stopAfter ?? opts.pieces)) return clearInterval(drip);
        if (s.writable) s.write(body.slice(sent * size, (sent + 1) * size));
        sent++;
      }, opts.everyMs);
    });
  });
}

/** The status, headers and JSON body of a raw HTTP/1.1 answer. */
function parse(answer: string): { status: number; head: string; body: Record<string, unknown> | null } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
  const at = answer.indexOf('\r\n\r\n');
  const text = at < 0 ? '' : answer.slice(at + 4);
  return {
    status,
    head: answer.slice(0, Math.max(0, at)),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
  };
}

const CHAT = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(2000) }] });
const MESSAGES = JSON.stringify({
  model: 'claude-x',
  max_tokens: 8,
  messages: [{ role: 'user', content: 'hi there' }],
});
const headOf = (path: string, body: string, id: string) =>
  `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nx-request-id: ${id}\r\ncontent-length: ${body.length}\r\n\r\n`;

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
});
afterAll(() => sim?.close());

describe.each([
  ['one process', [] as string[]],
  ['--workers 2', ['--workers', '2']],
])('slow request bodies: %s', (_name, extra) => {
  let s: ServeProcess;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-slow-body-'));
    const config = join(dir, 'llmscope.yaml');
    writeFileSync(
      config,
      `server:\n  bodyIdleTimeout: 1s\nproviders:\n  - name: sim\n    baseUrl: ${sim.url}\n    models: ["m"]\n  - name: claude\n    type: anthropic\n    baseUrl: ${sim.url}\n    models: ["claude-*"]\n`,
    );
    s = await startServeProcess({ LLMSCOPE_PORT: '0', LLMSCOPE_STORAGE_URL: `sqlite:${join(dir, 'llmscope.db')}` }, [
      '--config',
      config,
      ...extra,
    ]);
  }, 60_000);
  afterAll(() => killServe(s?.proc));

  it('a slow upload that keeps moving is served, though it takes longer than server.bodyIdleTimeout', async () => {
    // 10 pieces 300 ms apart: about 3 s in all, never idle for the 1 s allowed.
    const r = await trickle(s.base, headOf('/v1/chat/completions', CHAT, `slow-ok-${extra.length}`), CHAT, {
      pieces: 10,
      everyMs: 300,
    });
    expect(r.closedAfterMs).toBeGreaterThan(2500);
    expect(parse(r.answer).status).toBe(200);
  });

  it('a body over 1 MiB, parsed as it arrives: served when valid, a 400 invalid_json naming where when not', async () => {
    const content = 'many words of a long prompt '.repeat(110_000); // 3 MB
    const body = JSON.stringify({
      model: 'm',
      messages: [
        { role: 'user', content },
        { role: 'user', content: 'ok' },
      ],
    });
    const ok = await fetch(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': `big-ok-${extra.length}` },
      body,
    });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    // Streamed: llmscope adds stream_options.include_usage to the 3 MB body it forwards (in parts, not copied), reads
    // the usage from the stream, and removes it from what the client gets.
    const streamed = await fetch(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': `big-stream-${extra.length}` },
      body: JSON.stringify({ ...JSON.parse(body), stream: true }),
    });
    expect(streamed.status).toBe(200);
    const events = await streamed.text();
    expect(events).toContain('data: [DONE]');
    expect(events).not.toContain('"usage"');
    const call = await until(async () => {
      const r = await fetch(`${s.base}/api/requests/big-stream-${extra.length}`);
      return r.status === 200 ? ((await r.json()) as { token_source: string; input_tokens: number }) : null;
    });
    expect(call.token_source).toBe('usage');
    expect(call.input_tokens).toBeGreaterThan(100_000);
    // Broken at its end (a trailing comma after the last message): refused with the place it broke.
    const broken = `${body.slice(0, -2)},${body.slice(-2)}`;
    const bad = await fetch(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: broken,
    });
    expect(bad.status).toBe(400);
    const e = ((await bad.json()) as { error: { code: string; message: string } }).error;
    expect(e.code).toBe('invalid_json');
    expect(e.message).toContain(`at position ${broken.length - 2}`);
  });

  it('a body that stops arriving is answered 408 in the route error shape, its connection closed, and counted', async () => {
    const id = `slow-stall-${extra.length}`;
    // Half of the body, then nothing more (without the limit the connection stayed open for ever).
    const chat = await trickle(s.base, headOf('/v1/chat/completions', CHAT, id), CHAT, {
      pieces: 4,
      everyMs: 50,
      stopAfter: 2,
    });
    const a = parse(chat.answer);
    expect(a.status).toBe(408);
    expect(a.head).toMatch(/\r\nconnection: close/i);
    expect(a.body).toMatchObject({ error: { code: 'request_timeout', type: 'invalid_request_error' } });
    expect((a.body as { error: { message: string } }).error.message).toMatch(/server\.bodyIdleTimeout/);
    // On Anthropic's route, in Anthropic's shape.
    const messages = await trickle(s.base, headOf('/v1/messages', MESSAGES, `${id}-a`), MESSAGES, {
      pieces: 4,
      everyMs: 50,
      stopAfter: 1,
    });
    const b = parse(messages.answer);
    expect(b.status).toBe(408);
    expect(b.body).toMatchObject({
      type: 'error',
      error: { message: expect.stringMatching(/server\.bodyIdleTimeout/) },
    });
    // An /api route, relayed to the recorder under --workers, too.
    const ingest = '[{"provider": "p", "model": "m"}]';
    const api = await trickle(s.base, headOf('/api/ingest', ingest, `${id}-i`), ingest, {
      pieces: 4,
      everyMs: 50,
      stopAfter: 1,
    });
    expect(parse(api.answer).status).toBe(408);
    const counted = await until(async () => {
      const m = parseMetrics(await (await fetch(`${s.base}/metrics`)).text());
      const n = metricValue(m, 'llmscope_request_body_timeouts_total');
      return n >= 3 ? n : null;
    });
    expect(counted).toBeGreaterThanOrEqual(3);
    // The process still serves.
    const ok = await fetch(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: CHAT,
    });
    expect(ok.status).toBe(200);
  });
});
