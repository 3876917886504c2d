// An upstream that answers a call with a redirect (a provider baseUrl written http:// where the host answers
// https://, or a moved path: 301 / 307 / 308 with Location) was recorded status ok, its prompt counted by the
// tokenizer and priced as if the call had been answered. The client gets the redirect as sent; the call is recorded
// as failed upstream, with the status and where it was sent, and no tokens.
import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

describe('reach: an upstream redirect is a failed call, not an answered one', () => {
  let s: Stack;
  let up: Server;

  beforeAll(async () => {
    // what a host answers on http:// when its API is on https:// (nginx, Cloudflare): the redirect, no body
    up = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const status = Number(req.headers['x-status'] ?? 301);
        res.writeHead(status, { location: `https://api.example.test${req.url}`, 'content-length': 0 });
        res.end();
      });
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(up.address() as { port: number }).port}/v1`;
    s = await startStack({
      config: () => ({
        providers: [
          { name: 'openai', baseUrl: url },
          { name: 'anthropic', type: 'anthropic', baseUrl: url, models: ['claude-*'] },
        ],
      }),
    });
  });
  afterAll(async () => {
    await s.close();
    await new Promise((r) => up.close(r));
  });

  const post = async (path: string, id: string, status: number, body: unknown) => {
    const r = await request(`${s.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id, 'x-status': String(status) },
      body: JSON.stringify(body),
    });
    await r.body.dump();
    return r;
  };

  it('chat completions: 301 passed to the client, recorded upstream_error with its Location, no tokens or cost', async () => {
    const r = await post('/v1/chat/completions', 'redir-chat', 301, {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Say hello to everyone in the room, please' }],
    });
    expect(r.statusCode).toBe(301);
    expect(r.headers.location).toBe('https://api.example.test/v1/chat/completions');
    const c = await s.callOf('redir-chat');
    expect(c).toMatchObject({
      status: 'upstream_error',
      httpStatus: 301,
      errorType: 'http_301',
      inputTokens: null,
      outputTokens: null,
      tokenSource: null,
      costUsd: null,
    });
    expect(c.errorMessage).toContain('https://api.example.test/v1/chat/completions');
  });

  it('Anthropic Messages, streamed: 308 the same', async () => {
    const r = await post('/v1/messages', 'redir-messages', 308, {
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      stream: true,
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    expect(r.statusCode).toBe(308);
    expect(await s.callOf('redir-messages')).toMatchObject({
      status: 'upstream_error',
      httpStatus: 308,
      errorType: 'http_308',
      inputTokens: null,
      costUsd: null,
    });
  });
});
