// A browser page of another site, open in the browser of someone who runs llmscope on their machine (the loopback bind,
// a provider key in apiKeyEnv, no virtual keys: the first hour's set-up), cannot make llmscope spend its provider key.
// Such a page cannot set Authorization without a CORS preflight (the gateway answers none), but it can send "simple"
// requests: a multipart upload to /v1/audio/transcriptions or /v1/files, a body-less POST to /v1/batches/{id}/cancel.
// They reached the provider with llmscope's key (Bearer sk-...); the Realtime upgrade already refused such a page by its
// Origin. Now a keyless gateway request from another site (Origin not this host's, or Sec-Fetch-Site cross-site) is
// a 403 csrf_rejected in the route's shape and reaches no provider; a client with a key, a same-origin page, an origin
// in server.corsOrigins and a client that is not a browser are served as before. One process and serve --workers 2.
import { createServer, type Server } from 'node:http';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killServe, type ServeRun, startServeWithConfig } from './helpers.js';

const SERVER_KEY = 'sk-llmscope-own-provider-key-0123456789';
let upstream: Server;
let upstreamUrl = '';
const seen: { url?: string; authorization?: string }[] = [];

beforeAll(async () => {
  // The provider: answers every path, remembering what reached it and with which key.
  upstream = createServer((req, res) => {
    seen.push({ url: req.url, authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        req.url?.startsWith('/v1/chat/completions')
          ? JSON.stringify({
              id: 'chatcmpl-1',
              object: 'chat.completion',
              created: 1,
              model: 'gpt-4o-mini',
              choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
              usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
            })
          : '{"text":"transcribed"}',
      );
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/v1`;
});
afterAll(() => {
  upstream?.close();
});

/** A multipart body as a page's `fetch(url, {method: 'POST', body: formData, mode: 'no-cors'})` sends it. */
function audioForm(): FormData {
  const fd = new FormData();
  fd.append('model', 'whisper-1');
  fd.append('file', new Blob([Buffer.alloc(2000)]), 'a.wav');
  return fd;
}

const evil = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' };

for (const workers of [undefined, 2]) {
  describe(`a keyless gateway request from another site (${workers ? `--workers ${workers}` : 'one process'})`, () => {
    let run: ServeRun | undefined;
    beforeAll(async () => {
      run = await startServeWithConfig({
        prefix: 'qa22-cross-site-',
        workers,
        env: { QA22_PROVIDER_KEY: SERVER_KEY },
        config: (dir) => ({
          providers: [{ name: 'openai', baseUrl: upstreamUrl, apiKeyEnv: 'QA22_PROVIDER_KEY' }],
          storage: { url: `sqlite:${dir}/calls.db` },
          gpu: { collector: 'none' },
          server: { corsOrigins: ['https://mine.example'] },
        }),
      });
    }, 90_000);
    afterAll(() => killServe(run?.proc));

    const post = (path: string, headers: Record<string, string>, body?: FormData) =>
      fetch(`${run?.base}${path}`, { method: 'POST', headers, body });

    it('reaches no provider: 403 csrf_rejected in the route’s shape', async () => {
      const before = seen.length;
      const upload = await post('/v1/audio/transcriptions', evil, audioForm());
      expect(upload.status).toBe(403);
      expect(await upload.json()).toMatchObject({
        error: { type: 'permission_error', code: 'csrf_rejected', message: expect.stringContaining('evil.example') },
      });
      const cancel = await post('/v1/batches/batch_1/cancel', evil);
      expect(cancel.status).toBe(403);
      // an Origin alone (a browser without Sec-Fetch-*), and a sandboxed frame's "null"
      expect((await post('/v1/files', { origin: 'https://evil.example' }, audioForm())).status).toBe(403);
      expect((await post('/v1/batches/batch_1/cancel', { origin: 'null' })).status).toBe(403);
      // Sec-Fetch-Site alone (a browser that sent no Origin)
      expect((await post('/v1/batches/batch_1/cancel', { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
      // Anthropic's pass-through answers in Anthropic's shape
      const anthropic = await post('/v1/messages/batches/msgbatch_1/cancel', {
        ...evil,
        'anthropic-version': '2023-06-01',
      });
      expect(anthropic.status).toBe(403);
      expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
      expect(seen.slice(before)).toEqual([]);
    });

    it('serves clients with a key, same-origin pages, configured origins and non-browser clients as before', async () => {
      const base = run?.base as string;
      const host = new URL(base).host;
      const before = seen.length;
      // the official client (no Origin): the server's key goes upstream, as the loopback bind allows
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
      const t = await client.audio.transcriptions.create({
        model: 'whisper-1',
        file: await toFile(Buffer.alloc(2000), 'a.wav'),
      });
      expect(t.text).toBe('transcribed');
      // a request with a key header of its own: no browser page of another site can send one (the header needs a
      // CORS preflight, which the gateway does not answer), so it is not refused (the provider's apiKeyEnv replaces it)
      const keyed = await post('/v1/batches/batch_1/cancel', { ...evil, authorization: 'Bearer sk-the-callers-own' });
      expect(keyed.status).toBe(200);
      // this host's own page, and an origin the config names
      const same = { origin: `http://${host}`, 'sec-fetch-site': 'same-origin' };
      expect((await post('/v1/batches/batch_1/cancel', same)).status).toBe(200);
      expect((await post('/v1/batches/batch_1/cancel', { origin: 'https://mine.example' })).status).toBe(200);
      // compared as origins, as the /api guard does (a browser sends it lowercased; a client may not)
      expect((await post('/v1/batches/batch_1/cancel', { origin: 'HTTPS://Mine.Example:443' })).status).toBe(200);
      // a call route too
      const chat = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(chat.choices[0]?.message.content).toBe('hi');
      const auths = seen.slice(before).map((s) => s.authorization);
      expect(auths).toEqual([
        `Bearer ${SERVER_KEY}`,
        `Bearer ${SERVER_KEY}`,
        `Bearer ${SERVER_KEY}`,
        `Bearer ${SERVER_KEY}`,
        `Bearer ${SERVER_KEY}`,
        `Bearer ${SERVER_KEY}`,
      ]);
    });
  });
}
