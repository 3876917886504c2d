// Hostile and careless clients against the built CLI, in one process and with `serve --workers 2`, over raw sockets
// (an SDK would never send these): a client that hangs up mid-upload is a cancelled call, not an upstream error;
// what node's HTTP parser refuses (headers over its limit, bytes that are not HTTP) is answered in the error shape
// with node's status; a compressed body on /api/ingest is a 415 that says so; JSON nested 100,000 deep on a gateway
// route is passed on in --workers mode as in one process, never a 503 it would retry for ever. After each, the
// process still serves.
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { killServe, type ServeProcess, startServeProcess, until } from './helpers.js';

/** Writes `data` on a fresh connection (then half-closes it when `end`), and collects the answer until it closes. */
function raw(base: string, data: string | Buffer, opts: { end?: boolean; destroyAfterMs?: number } = {}) {
  const u = new URL(base);
  return new Promise<string>((resolve) => {
    const s = connect(Number(u.port), u.hostname);
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', () => {});
    s.on('close', () => resolve(Buffer.concat(got).toString('latin1')));
    s.on('connect', () => {
      s.write(data);
      if (opts.end) s.end();
      if (opts.destroyAfterMs !== undefined) setTimeout(() => s.destroy(), opts.destroyAfterMs);
    });
  });
}

/** The status and JSON body of a raw HTTP/1.1 answer. */
function parse(answer: string): { status: number; body: Record<string, unknown> | null } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
  const at = answer.indexOf('\r\n\r\n');
  const text = at < 0 ? '' : answer.slice(at + 4);
  return { status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

const CHAT = '{"model": "m", "messages": [{"role": "user", "content": "hi"}]}';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
});
afterAll(() => sim?.close());

describe.each([
  ['one process', [] as string[]],
  ['--workers 2', ['--workers', '2']],
])('hostile input: %s', (_name, extra) => {
  let s: ServeProcess;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-hostile-'));
    s = await startServeProcess({ LLMSCOPE_PORT: '0', LLMSCOPE_STORAGE_URL: `sqlite:${join(dir, 'llmscope.db')}` }, [
      '--upstream',
      sim.url,
      ...extra,
    ]);
  }, 60_000);
  afterAll(() => killServe(s?.proc));

  const logLines = () => s.stdout.join('');
  const stillServes = async () => {
    const r = await fetch(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: CHAT,
    });
    expect(r.status).toBe(200);
  };

  it('a client that hangs up mid-upload: its call is recorded cancelled (499), not a 500 blamed on the upstream', async () => {
    const id = `hostile-cut-${extra.length}`;
    const head = `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nx-request-id: ${id}\r\ncontent-length: ${CHAT.length + 500}\r\n\r\n`;
    // Less than its Content-Length, then the connection closed (a crashed or impatient client).
    await raw(s.base, head + CHAT, { destroyAfterMs: 200 });
    const call = await until(async () => {
      const r = await fetch(`${s.base}/api/requests/${id}`);
      return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : null;
    });
    expect(call).toMatchObject({ status: 'cancelled', http_status: 499, error_type: 'client_closed_request' });
    // The same on /api/ingest: nothing stored, nothing logged as an error.
    await raw(
      s.base,
      'POST /api/ingest HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n[{"provider"',
      { destroyAfterMs: 200 },
    );
    await stillServes();
    expect(logLines()).not.toMatch(/"level":"error"/);
  });

  it("what node's parser refuses is answered in the error shape, with node's status", async () => {
    const big = parse(
      await raw(s.base, `GET /api/requests?meta.x=${'a'.repeat(20_000)} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`),
    );
    expect(big.status).toBe(431);
    expect(big.body).toMatchObject({ error: { code: 'request_headers_too_large', type: 'invalid_request_error' } });
    const both = parse(
      await raw(
        s.base,
        'POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
      ),
    );
    expect(both.status).toBe(400);
    expect(both.body).toMatchObject({ error: { code: 'malformed_request' } });
    expect((both.body as { error: { message: string } }).error.message).toMatch(/not valid HTTP\/1\.1/);
    await stillServes();
  });

  it('a request target that is not a path (asterisk-form `*`, absolute-form) is routed by its path, not a 500', async () => {
    for (const target of ['*', 'http://elsewhere.example/nothing-here']) {
      const r = parse(await raw(s.base, `GET ${target} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n`));
      expect(r.status).toBe(404);
      expect(r.body).toMatchObject({ error: { code: 'not_found' } });
    }
    expect(logLines()).not.toMatch(/"level":"error"/);
  });

  it('a wrong method on /v1/traces or /v1/logs: 405 naming the path the client used', async () => {
    for (const path of ['/v1/traces', '/v1/logs']) {
      const r = await fetch(`${s.base}${path}`, { method: 'GET' });
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('POST');
      // OTLP routes answer errors as a google.rpc.Status (src/otlp/status.ts)
      const e = (await r.json()) as { message: string };
      expect(e.message).toMatch(new RegExp(`^${path} `));
    }
  });

  it('a gzip body on /api/ingest is a 415 that names the encoding, not its bytes quoted as bad JSON', async () => {
    const r = await fetch(`${s.base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.alloc(1024 * 1024)),
    });
    expect(r.status).toBe(415);
    const e = ((await r.json()) as { error: { code: string; message: string } }).error;
    expect(e.code).toBe('unsupported_media_type');
    expect(e.message).toMatch(/content-encoding "gzip"/);
  });

  it("a gzip body on a gateway route is a 415 in the route's own shape that names the encoding", async () => {
    const chat = await fetch(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(CHAT),
    });
    expect(chat.status).toBe(415);
    expect(await chat.json()).toMatchObject({
      error: { code: 'unsupported_media_type', message: expect.stringMatching(/content-encoding "gzip"/) },
    });
    const messages = await fetch(`${s.base}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'anthropic-version': '2023-06-01' },
      body: gzipSync(JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 8, messages: [] })),
    });
    expect(messages.status).toBe(415);
    expect(await messages.json()).toMatchObject({ type: 'error', error: { message: expect.stringMatching(/gzip/) } });
    await stillServes();
  });

  it('JSON nested 100,000 deep on a gateway route: never a 503 to retry; the next call is answered', async () => {
    const deep = `{"model": "m", "messages": [{"role": "user", "content": ${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}]}`;
    const r = await fetch(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: deep,
    });
    expect(r.status).not.toBe(503);
    // With --workers too, the body goes on to the upstream as in one process, which answers it: the recorder process's
    // hooks here (keys, budgets) read nothing of it but the estimate the worker makes, so the body does not cross the
    // IPC channel (a worker could not pack it, and said so with a 400, before eba0bc8). Only a hook that rewrites the
    // body (privacy.maskUpstream) still needs it whole there, and such a body gets that 400 then.
    const text = await r.text();
    expect(text).not.toMatch(/nested too deeply/);
    await stillServes();
  });
});
