// @google/genai 2.x's Interactions API (`ai.interactions.create/get/cancel/delete`, POST /v1beta/interactions) and the
// resources beside it (agents, environments, credentials, triggers, voices, webhooks) through `llmscope serve`: an app
// whose client uses them keeps working with only its base URL changed. They are passed through unrecorded, as the
// API's files and caches are: method, path, query, key and body as the client sent them, routed by the body's model
// (else to the gemini format's default provider), and the client gets the upstream's answer. They were a 404
// ("unknown route POST /v1beta/interactions"). The upstream here is a small recording server.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeRun, startServeWithConfig } from './helpers.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const interaction = (id: string, status: string) => ({
  id,
  status,
  model: 'gemini-2.5-flash',
  outputs: [{ type: 'text', text: 'Hello there.' }],
  usage: { total_input_tokens: 3, total_output_tokens: 3, total_tokens: 6 },
});

describe('Gemini Interactions API through llmscope serve (@google/genai 2.x)', () => {
  let serve: ServeRun;
  let upstream: Server;
  const seen: Seen[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const url = req.url ?? '';
        seen.push({ method: req.method ?? '', url, headers: req.headers, body });
        const path = url.split('?')[0] as string;
        const json = (status: number, v: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json', 'x-upstream': path });
          res.end(JSON.stringify(v));
        };
        if (path.startsWith('/google/v1beta/interactions/int_1/cancel'))
          return json(200, interaction('int_1', 'cancelled'));
        if (path === '/google/v1beta/interactions/int_1' && req.method === 'DELETE') return json(200, {});
        if (path === '/google/v1beta/interactions/int_1') return json(200, interaction('int_1', 'completed'));
        if (path === '/google/v1beta/interactions' && req.method === 'POST')
          return json(200, interaction('int_1', 'completed'));
        if (path === '/google/v1beta/agents') return json(200, { agents: [{ name: 'agents/a1' }] });
        json(404, { error: { code: 404, message: `no ${path}`, status: 'NOT_FOUND' } });
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const up = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    serve = await startServeWithConfig({
      prefix: 'qa26-interactions-',
      config: (dir) => ({
        storage: { url: `sqlite:${dir}/llmscope.db` },
        providers: [
          { name: 'openai', baseUrl: `${up}/openai/v1`, models: ['gpt-*'] },
          { name: 'gemini', type: 'gemini', baseUrl: `${up}/google/v1beta`, models: ['gemini-*'] },
        ],
      }),
    });
  });
  afterAll(async () => {
    await serve?.stop();
    await new Promise((r) => upstream.close(r));
  });

  it('passes interactions.create, get, cancel and delete through with key, path and body as sent, unrecorded', async () => {
    const ai = new GoogleGenAI({ apiKey: 'gemini-client-key', httpOptions: { baseUrl: serve.base } });
    const created = await ai.interactions.create({ model: 'gemini-2.5-flash', input: 'Say hello.' });
    expect(created).toMatchObject({
      id: 'int_1',
      status: 'completed',
      outputs: [{ type: 'text', text: 'Hello there.' }],
    });
    const post = seen.at(-1) as Seen;
    expect(post).toMatchObject({ method: 'POST', url: '/google/v1beta/interactions' });
    expect(JSON.parse(post.body)).toEqual({ model: 'gemini-2.5-flash', input: 'Say hello.' });
    expect(post.headers['x-goog-api-key']).toBe('gemini-client-key');

    expect(await ai.interactions.get('int_1')).toMatchObject({ id: 'int_1', status: 'completed' });
    expect(seen.at(-1)).toMatchObject({ method: 'GET', url: '/google/v1beta/interactions/int_1?stream=false' });
    expect(await ai.interactions.cancel('int_1')).toMatchObject({ status: 'cancelled' });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/google/v1beta/interactions/int_1/cancel' });
    await ai.interactions.delete('int_1');
    expect(seen.at(-1)).toMatchObject({ method: 'DELETE', url: '/google/v1beta/interactions/int_1' });

    // the answers are passed on, not recorded as calls
    const list = (await (await fetch(`${serve.base}/api/requests`)).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });

  it('passes the resources beside interactions (agents) through, and an upstream 404 comes back as sent', async () => {
    const r = await fetch(`${serve.base}/v1beta/agents`, { headers: { 'x-goog-api-key': 'gemini-client-key' } });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ agents: [{ name: 'agents/a1' }] });
    expect(seen.at(-1)).toMatchObject({ method: 'GET', url: '/google/v1beta/agents' });
    const missing = await fetch(`${serve.base}/v1beta/webhooks/w9`, { headers: { 'x-goog-api-key': 'k' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-upstream')).toBe('/google/v1beta/webhooks/w9');
  });
});
