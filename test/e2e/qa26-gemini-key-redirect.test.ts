// A Gemini API key sent in the URL (`?key=`, Google's REST examples and curl) is never stored or logged, also when the
// provider redirects the call: a baseUrl written http:// for an https:// host is answered with a redirect whose
// Location echoes the request's URL, key and all, and the call's error_message kept that Location whole, so the key
// was stored and served by /api/requests. Through `llmscope serve` (SQLite): the client still gets the redirect as
// sent; the record names where it points without its query. An upstream error that quotes the URL (an Express app's
// 'Cannot POST /v1beta/...?key=...') kept it too: the client's URL key is taken out of every error message kept.
// The key here has no form privacy.redact's secret patterns know (a Google key's AIza + 35 characters would be).
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeRun, startServeWithConfig } from './helpers.js';

const KEY = 'AIzaSyQA26-not-a-real-key-0123456789';

describe('a Gemini ?key= in a redirected call is not stored', () => {
  let serve: ServeRun;
  let upstream: Server;

  beforeAll(async () => {
    // Google's front end answering http:// with a redirect to the same URL on https://
    upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        // an Express app where the provider was meant to be: its 404 names the request's URL, query and all
        if (req.url?.includes('gemini-echo')) {
          res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
          res.end(`<!DOCTYPE html>\n<html><body><pre>Cannot POST ${req.url}</pre></body></html>`);
          return;
        }
        res.writeHead(307, { location: `https://generativelanguage.googleapis.com${req.url}` });
        res.end();
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const up = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    serve = await startServeWithConfig({
      prefix: 'qa26-key-redirect-',
      config: (dir) => ({
        storage: { url: `sqlite:${dir}/llmscope.db` },
        providers: [{ name: 'gemini', type: 'gemini', baseUrl: `${up}/v1beta`, models: ['gemini-*'] }],
      }),
    });
  });
  afterAll(async () => {
    await serve?.stop();
    await new Promise((r) => upstream.close(r));
  });

  it('passes the redirect and the error on as sent and records neither with the key', async () => {
    const path = '/v1beta/models/gemini-2.5-flash:generateContent';
    const r = await fetch(`${serve.base}${path}?key=${KEY}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/json', 'x-request-id': 'qa26-key-redirect' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] }),
    });
    expect(r.status).toBe(307);
    // the client's own URL, as the provider sent it
    expect(r.headers.get('location')).toBe(`https://generativelanguage.googleapis.com${path}?key=${KEY}`);

    let rec: Record<string, unknown> | null = null;
    for (let i = 0; i < 100 && !rec; i++) {
      const got = await fetch(`${serve.base}/api/requests/qa26-key-redirect`);
      if (got.status === 200) rec = (await got.json()) as Record<string, unknown>;
      else await new Promise((res) => setTimeout(res, 50));
    }
    expect(rec).toMatchObject({ status: 'upstream_error', http_status: 307, error_type: 'http_307' });
    expect(rec?.error_message).toBe(
      `the upstream redirected the call to https://generativelanguage.googleapis.com${path} (its query left out); set the provider's baseUrl to where it answers`,
    );
    expect(JSON.stringify(rec)).not.toContain(KEY);
    const list = await (await fetch(`${serve.base}/api/requests`)).text();
    expect(list).toContain('qa26-key-redirect');
    expect(list).not.toContain(KEY);

    // an upstream error quoting the URL: the key is taken out of the message
    const echo = await fetch(`${serve.base}/v1beta/models/gemini-echo:generateContent?alt=json&key=${KEY}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'qa26-key-echo' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] }),
    });
    expect(echo.status).toBe(404);
    expect(await echo.text()).toContain(KEY); // the client's answer is the upstream's, untouched
    let rec2: Record<string, unknown> | null = null;
    for (let i = 0; i < 100 && !rec2; i++) {
      const got = await fetch(`${serve.base}/api/requests/qa26-key-echo`);
      if (got.status === 200) rec2 = (await got.json()) as Record<string, unknown>;
      else await new Promise((res) => setTimeout(res, 50));
    }
    expect(rec2).toMatchObject({ status: 'client_error', http_status: 404 });
    expect(rec2?.error_message).toContain(
      'Cannot POST /v1beta/models/gemini-echo:generateContent?alt=json&key=[redacted-key]',
    );

    // nor in the logs, nor anywhere in the database's files once stopped
    await serve.stop();
    expect(serve.stdout.join('\n')).not.toContain(KEY);
    expect(serve.stderr()).not.toContain(KEY);
    for (const f of readdirSync(serve.dir).filter((n) => n.startsWith('llmscope.db')))
      expect(readFileSync(join(serve.dir, f)).includes(KEY)).toBe(false);
  });
});
