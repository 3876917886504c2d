// The gateway when the upstream misbehaves or the client leaves early: unreachable, silent past the timeout,
// cutting a stream half-way, a client gone before the upstream answered. Each call is answered as DESIGN says
// and recorded with the right status.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCall, Sink } from '../../src/calls/index.js';
import { type App, createApp } from '../../src/server.js';
import { configOf, selfSignedCert, until } from './helpers.js';

type Behaviour = (req: IncomingMessage, res: ServerResponse) => void;

const chunk = (content: string) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

describe('gateway upstream failures', () => {
  let upstream: Server;
  /** An HTTPS upstream that a provider names with http:// (a baseUrl with the wrong scheme). */
  let tlsUpstream: HttpsServer;
  let behaviour: Behaviour = () => {};
  const bodies: string[] = [];
  let app: App;
  let base: string;
  const calls: LlmCall[] = [];
  const capture: Sink = { name: 'capture', write: (b) => void calls.push(...b) };
  const callFor = async (id: string): Promise<LlmCall> => {
    for (let i = 0; i < 200; i++) {
      await app.ctx.recorder.flush();
      const c = calls.find((x) => x.requestId === id);
      if (c) return c;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`call ${id} not recorded`);
  };
  const post = (id: string, body: object, signal?: AbortSignal) =>
    request(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...body }),
      signal,
    });

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let b = '';
      req.on('data', (c) => {
        b += c;
      });
      req.on('end', () => {
        bodies.push(b);
        behaviour(req, res);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    const tls = selfSignedCert('llmscope-upstream-tls-');
    tlsUpstream = createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (_req, res) =>
      res.end('{}'),
    );
    await new Promise<void>((r) => tlsUpstream.listen(0, '127.0.0.1', r));
    const tlsPort = (tlsUpstream.address() as AddressInfo).port;
    const config = configOf({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
      providers: [
        { name: 'flaky', baseUrl: `http://127.0.0.1:${port}/v1`, timeout: '300ms', models: ['gpt-*'] },
        { name: 'gone', baseUrl: 'http://127.0.0.1:1/v1', models: ['gone-*'] },
        { name: 'tls', baseUrl: `http://127.0.0.1:${tlsPort}/v1`, models: ['tls-*'] },
      ],
      storage: { url: 'sqlite::memory:' },
    });
    app = await createApp(config, { sinks: [capture], logDestination: { write: () => {} } });
    base = await app.listen();
  });
  afterAll(async () => {
    await app.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
    tlsUpstream.closeAllConnections();
    await new Promise((r) => tlsUpstream.close(r));
  });

  it('answers 502 in the OpenAI error shape when the upstream is unreachable, and records upstream_error', async () => {
    const r = await request(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'unreachable' },
      body: JSON.stringify({ model: 'gone-1', messages: [] }),
    });
    expect(r.statusCode).toBe(502);
    const body = (await r.body.json()) as { error: { code: string; message: string } };
    expect(body.error.message).toContain('cannot reach provider "gone"');
    const c = await callFor('unreachable');
    expect(c).toMatchObject({ status: 'upstream_error', httpStatus: 502, provider: 'gone' });
  });

  it('says the upstream closed the connection, not that it cannot be reached, when it drops a call it accepted (QA48)', async () => {
    // reached, the request read, then the connection closed without an answer (a crash, a restart, a proxy)
    behaviour = (_req, res) => res.destroy();
    const r = await post('dropped', {});
    expect(r.statusCode).toBe(502);
    const body = (await r.body.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('upstream_unreachable');
    expect(body.error.message).toMatch(/^provider "flaky" at http:\/\/127\.0\.0\.1:\d+ closed the connection before/);
    expect(body.error.message).not.toContain('check providers[].baseUrl');
    const c = await callFor('dropped');
    expect(c).toMatchObject({ status: 'upstream_error', httpStatus: 502, provider: 'flaky' });
    expect(c.errorMessage).toContain('closed the connection');
  });

  it('says an http:// baseUrl may name a TLS port when the upstream closes every call without a byte', async () => {
    // An HTTPS server read a plain HTTP request and closed the connection: undici's SocketError, as in the QA48 case
    // above. Before, the message told the user to retry and read the upstream's logs, nothing of the baseUrl's scheme.
    const r = await post('wrong-scheme', { model: 'tls-1' });
    expect(r.statusCode).toBe(502);
    const body = (await r.body.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('upstream_unreachable');
    expect(body.error.message).toMatch(/^provider "tls" at http:\/\/127\.0\.0\.1:\d+ closed the connection before/);
    expect(body.error.message).toContain('if every call to it ends so, its baseUrl may say http:// for a TLS port');
  });

  it('answers a timeout error when the upstream stays silent past providers[].timeout, and records timeout', async () => {
    behaviour = () => {};
    const r = await post('silent', {});
    expect(r.statusCode).toBe(504);
    expect(((await r.body.json()) as { error: { message: string } }).error.message).toContain(
      'did not answer within 300 ms',
    );
    expect(await callFor('silent')).toMatchObject({ status: 'timeout', httpStatus: 504 });
  });

  it('passes a stream cut half-way on to the client as a cut, and records what arrived', async () => {
    behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('Hello'));
      res.write(chunk(' world'));
      setTimeout(() => res.destroy(), 30);
    };
    const r = await post('cut', { stream: true });
    expect(r.statusCode).toBe(200);
    let received = '';
    await expect(
      (async () => {
        for await (const part of r.body) received += part.toString();
      })(),
    ).rejects.toThrow();
    expect(received).toContain('Hello');
    const c = await callFor('cut');
    expect(c).toMatchObject({
      status: 'upstream_error',
      httpStatus: 502,
      errorType: 'upstream_stream_cut',
      tokenSource: 'tokenizer',
    });
    expect(c.outputTokens).toBeGreaterThanOrEqual(2);
    expect(c.ttftMs).not.toBeNull();
  });

  it('asks for usage by adding stream_options to the body, leaving the rest of it byte for byte', async () => {
    behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${chunk('ok')}data: [DONE]\n\n`);
    };
    bodies.length = 0;
    const sent = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi "there"' }],
      stream: true,
      temperature: 0.5,
    };
    const r = await request(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `  ${JSON.stringify(sent, null, 2)}`,
    });
    await r.body.text();
    expect(JSON.parse(bodies[0] as string)).toEqual({ ...sent, stream_options: { include_usage: true } });
    expect(bodies[0]).toContain(JSON.stringify(sent, null, 2).slice(1));
  });

  it('records a call whose client left before the upstream answered as cancelled (499), and cancels the upstream request', async () => {
    let upstreamClosed = false;
    const ac = new AbortController();
    // The client leaves as soon as the upstream has the request (a fixed wait could outlast the provider's 300 ms
    // timeout on a busy machine, and the call would be recorded as timed out).
    behaviour = (req) => {
      req.socket.once('close', () => {
        upstreamClosed = true;
      });
      ac.abort();
    };
    const pending = post('early-leaver', {}, ac.signal).catch(() => null);
    await pending;
    const c = await callFor('early-leaver');
    expect(c).toMatchObject({ status: 'cancelled', httpStatus: 499, errorType: 'client_closed_request' });
    await until(() => upstreamClosed, 5_000, 10).catch(() => undefined);
    expect(upstreamClosed).toBe(true);
  });
  it("keeps what went wrong on the call: the upstream's error message (redacted), a non-JSON body's start, llmscope's own", async () => {
    behaviour = (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            message: "Invalid 'user': ann@example.com is not allowed",
            type: 'invalid_request_error',
            code: null,
          },
        }),
      );
    };
    const bad = await post('err-json', {});
    expect(bad.statusCode).toBe(400);
    await bad.body.text();
    const a = await callFor('err-json');
    expect(a).toMatchObject({
      errorType: 'invalid_request_error',
      errorMessage: "Invalid 'user': [redacted-email] is not allowed",
    });

    behaviour = (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end(`<html><body>502 Bad Gateway ${'x'.repeat(2000)}</body></html>`);
    };
    await (await post('err-html', {})).body.text();
    const b = await callFor('err-html');
    expect(b.errorType).toBe('http_502');
    expect(b.errorMessage?.startsWith('<html><body>502 Bad Gateway')).toBe(true);
    expect(b.errorMessage?.length).toBeLessThanOrEqual(512);

    const r = await request(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'err-own' },
      body: JSON.stringify({ model: 'gone-1', messages: [] }),
    });
    await r.body.text();
    expect((await callFor('err-own')).errorMessage).toContain('cannot reach provider "gone"');
    // The stored record and the API carry it too.
    await app.ctx.recorder.flush();
    const detail = (await (await request(`${base}/api/requests/err-json`)).body.json()) as { error_message: string };
    expect(detail.error_message).toBe("Invalid 'user': [redacted-email] is not allowed");
  });
});
