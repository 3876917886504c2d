// Drop-in for Gemini: an app whose @google/genai client also uses the API's other resources (context caches, files,
// batches, operations) keeps working with its base URL pointed at llmscope. Each such call is passed through to the
// gemini provider unrecorded, with method, path, query, key and body as the client sent them, and the client gets the
// upstream's answer. files.upload is Google's resumable upload: its first request goes to /upload/v1beta/files, beside
// the API's base path, and its answer names the URL the bytes go to. The upstream here is a small recording server.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

describe('reach: the Gemini API’s other resources pass through unrecorded', () => {
  let s: Stack;
  let upstream: Server;
  let up: string;
  const seen: Seen[] = [];
  let ai: GoogleGenAI;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const url = req.url ?? '';
        seen.push({ method: req.method ?? '', url, headers: req.headers, body });
        const path = url.split('?')[0] as string;
        const json = (v: unknown, extra: Record<string, string> = {}) => {
          res.writeHead(200, { 'content-type': 'application/json', ...extra });
          res.end(JSON.stringify(v));
        };
        // Google answers the start with the URL the bytes go to, on its own host; the SDK sends them to that path on
        // its base URL's host (llmscope), which passes them on beside the provider's base path as the start was
        if (path === '/google/upload/v1beta/files' && req.headers['x-goog-upload-command'] === 'start')
          return json(
            {},
            {
              'x-goog-upload-url':
                'https://generativelanguage.googleapis.com/upload/v1beta/files?upload_id=s-1&upload_protocol=resumable',
              'x-goog-upload-status': 'active',
            },
          );
        if (path === '/google/upload/v1beta/files' && req.headers['x-goog-upload-command'] === 'upload, finalize')
          return json(
            { file: { name: 'files/abc', mimeType: 'text/plain', sizeBytes: String(body.length), state: 'ACTIVE' } },
            { 'x-goog-upload-status': 'final' },
          );
        if (path === '/google/v1beta/cachedContents' && req.method === 'POST')
          return json({ name: 'cachedContents/c1', model: 'models/gemini-2.5-flash', usageMetadata: {} });
        if (path === '/google/v1beta/cachedContents')
          return json({ cachedContents: [{ name: 'cachedContents/c1' }], nextPageToken: '' });
        if (path === '/google/v1beta/files/abc') return json({ name: 'files/abc', state: 'ACTIVE' });
        if (path === '/google/v1beta/files') return json({ files: [{ name: 'files/abc' }] });
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 404, message: `no ${path}`, status: 'NOT_FOUND' } }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    up = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    s = await startStack({
      config: () => ({
        server: { host: '127.0.0.1', port: 0 },
        providers: [
          { name: 'openai', baseUrl: `${up}/openai/v1`, models: ['gpt-*'] },
          { name: 'gemini', type: 'gemini', baseUrl: `${up}/google/v1beta`, models: ['gemini-*'] },
        ],
      }),
    });
    ai = new GoogleGenAI({ apiKey: 'gemini-client-key', httpOptions: { baseUrl: s.base } });
  });
  afterAll(async () => {
    await s.close();
    await new Promise((r) => upstream.close(r));
  });
  beforeEach(() => {
    seen.length = 0;
  });

  it('context caches: create and list reach the provider under its base path, key and body as sent', async () => {
    const cache = await ai.caches.create({
      model: 'gemini-2.5-flash',
      config: { contents: [{ role: 'user', parts: [{ text: 'a long shared prefix' }] }], ttl: '300s' },
    });
    expect(cache.name).toBe('cachedContents/c1');
    expect(seen).toHaveLength(1);
    const created = seen[0] as Seen;
    expect(created.method).toBe('POST');
    expect(created.url).toBe('/google/v1beta/cachedContents');
    expect(created.headers['x-goog-api-key']).toBe('gemini-client-key');
    expect(JSON.parse(created.body.toString())).toMatchObject({ model: 'models/gemini-2.5-flash', ttl: '300s' });

    seen.length = 0;
    const pager = await ai.caches.list({ config: { pageSize: 5 } });
    expect(pager.page.map((c) => c.name)).toEqual(['cachedContents/c1']);
    expect(seen.map((x) => `${x.method} ${x.url}`)).toEqual(['GET /google/v1beta/cachedContents?pageSize=5']);
  });

  it('files: the resumable upload starts at /upload beside the base path; get and list pass through', async () => {
    const file = await ai.files.upload({
      file: new Blob(['some notes to ground on'], { type: 'text/plain' }),
      config: { mimeType: 'text/plain' },
    });
    expect(file.name).toBe('files/abc');
    expect(seen.map((x) => `${x.method} ${x.url}`)).toEqual([
      'POST /google/upload/v1beta/files',
      'POST /google/upload/v1beta/files?upload_id=s-1&upload_protocol=resumable',
    ]);
    const start = seen[0] as Seen;
    expect(start.headers['x-goog-upload-protocol']).toBe('resumable');
    expect(start.headers['x-goog-api-key']).toBe('gemini-client-key');
    expect((seen[1] as Seen).body.toString()).toBe('some notes to ground on');

    seen.length = 0;
    expect((await ai.files.get({ name: 'files/abc' })).state).toBe('ACTIVE');
    const pager = await ai.files.list();
    expect(pager.page.map((f) => f.name)).toEqual(['files/abc']);
    expect(seen.map((x) => `${x.method} ${x.url.split('?')[0]}`)).toEqual([
      'GET /google/v1beta/files/abc',
      'GET /google/v1beta/files',
    ]);
  });

  it('an unknown resource still gets Google’s 404 from llmscope; nothing here is recorded', async () => {
    const r = await fetch(`${s.base}/v1beta/nothingHere`, { headers: { 'x-goog-api-key': 'k' } });
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    expect(seen).toHaveLength(0);
    const listed = (await (await fetch(`${s.base}/api/requests?limit=100`)).json()) as { data: unknown[] };
    expect(listed.data).toHaveLength(0);
  });
});
