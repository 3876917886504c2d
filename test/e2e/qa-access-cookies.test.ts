// llmscope's own cookies never reach the upstream. A browser page on the dashboard's site that calls the gateway
// (a team's chat page behind the same host, a Realtime WebSocket, which browsers open with the site's cookies)
// sends the dashboard's session cookie with it: that cookie is an admin's or an operator's credential for llmscope and
// must not be handed to the provider. Other cookies (the app's own) still pass, as they did.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type Stack, startStack, until } from './helpers.js';

const COOKIE = 'llmscope_session=s3ss10n.signed; app_pref=dark; llmscope_csrf=c5rf; llmscope_oidc=st4te';

describe('cookies on gateway calls', () => {
  let up: Server;
  let wss: WebSocketServer;
  const seen: IncomingHttpHeaders[] = [];
  let s: Stack;

  beforeAll(async () => {
    up = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'c1',
            object: 'chat.completion',
            created: 1,
            model: 'gpt-4o',
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
          }),
        );
      });
    });
    wss = new WebSocketServer({ server: up });
    wss.on('connection', (ws, req) => {
      seen.push(req.headers);
      ws.on('error', () => undefined);
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
    const port = (up.address() as AddressInfo).port;
    s = await startStack({ config: { providers: [{ name: 'up', baseUrl: `http://127.0.0.1:${port}/v1` }] } });
  });
  afterAll(async () => {
    await s.close();
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
    await new Promise((r) => up.close(r));
  });

  it('an HTTP call passes the app’s cookies upstream without llmscope’s session, CSRF and sign-in cookies', async () => {
    const r = await fetch(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client', cookie: COOKIE },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.status).toBe(200);
    await r.text();
    const h = seen.at(-1) as IncomingHttpHeaders;
    expect(h.authorization).toBe('Bearer sk-client');
    expect(h.cookie).toBe('app_pref=dark');
  });

  it('an HTTP call with only llmscope’s cookies sends no cookie header upstream', async () => {
    const r = await fetch(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: 'llmscope_session=abc; llmscope_csrf=def' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.status).toBe(200);
    await r.text();
    expect((seen.at(-1) as IncomingHttpHeaders).cookie).toBeUndefined();
  });

  it('a Realtime WebSocket handshake passes the app’s cookies upstream without llmscope’s', async () => {
    const before = seen.length;
    const ws = new WebSocket(`${s.base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`, {
      headers: { authorization: 'Bearer sk-client', cookie: COOKIE },
    });
    ws.on('error', () => undefined);
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    const h = await until(() => (seen.length > before ? seen.at(-1) : null));
    ws.close();
    expect(h?.authorization).toBe('Bearer sk-client');
    expect(h?.cookie).toBe('app_pref=dark');
  });
});
