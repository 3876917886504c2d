// Signing in to the dashboard in real Chromium (Debian's, driven by playwright-core) against llmscope off
// loopback: the token travels in a POST body only (no URL or history entry ever holds it), the session cookie is
// HttpOnly and SameSite=Strict and out of the page's reach, writes need the CSRF token the page can read, and a
// form on another site posting to /api or /login is refused with 403 and records nothing.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findUiRoot } from '../../src/http/index.js';
import { createQualityModule } from '../../src/quality/index.js';
import { type Stack, startStack } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'login-e2e-token-4d2b91';

describe.skipIf(!existsSync(CHROMIUM) || !findUiRoot())('dashboard sign-in in Chromium', () => {
  let s: Stack;
  let base: string;
  let browser: Browser;
  let evil: Server;
  let evilBase: string;

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0 },
      config: { server: { host: '0.0.0.0', port: 0, adminToken: TOKEN }, telemetry: { logLevel: 'silent' } },
      app: { modules: [createQualityModule] },
    });
    base = `http://127.0.0.1:${new URL(s.base).port}`;
    // Another site (localhost is not 127.0.0.1 to the browser) whose pages post forms at llmscope.
    const forged = JSON.stringify({ calls: [{ request_id: 'csrf-forged', started_at: 1, provider: 'p', model: 'm' }] });
    evil = createServer((req, res) => {
      const target = req.url === '/login' ? `${base}/login` : `${base}/api/ingest`;
      const field =
        req.url === '/login'
          ? `<input name="token" value="${TOKEN}">`
          : `<input name='${forged.slice(0, -3)}' value='"}]}'>`;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<!doctype html><form id="f" method="post" action="${target}" enctype="${req.url === '/login' ? 'application/x-www-form-urlencoded' : 'text/plain'}">${field}</form><script>document.getElementById('f').submit()</script>`,
      );
    });
    await new Promise<void>((ok) => evil.listen(0, '127.0.0.1', ok));
    evilBase = `http://localhost:${(evil.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => evil?.close(ok));
    await s?.close();
  });

  it('no token in any URL or history entry; cookie flags; writes need the CSRF token', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    page.on('framenavigated', (f) => urls.push(f.url()));

    const first = await page.goto(`${base}/#/requests`);
    expect(first?.status()).toBe(401);
    await page.fill('input[name=token]', TOKEN);
    const [login] = await Promise.all([page.waitForRequest((r) => r.url() === `${base}/login`), page.click('button')]);
    expect(login.method()).toBe('POST');
    expect(login.postData()).toContain(`token=${TOKEN}`);
    await page.waitForSelector('#view[data-ready]', { timeout: 15_000 });
    expect(page.url()).toBe(`${base}/#/requests`);

    const cdp = await context.newCDPSession(page);
    const history = (await cdp.send('Page.getNavigationHistory')) as { entries: { url: string }[] };
    expect(history.entries.length).toBeGreaterThan(0);
    for (const u of [...urls, ...history.entries.map((e) => e.url), page.url()]) expect(u).not.toContain(TOKEN);

    const cookies = await context.cookies(base);
    const session = cookies.find((c) => c.name === 'llmscope_session');
    const csrf = cookies.find((c) => c.name === 'llmscope_csrf');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/' });
    expect(session?.expires).toBeGreaterThan(Date.now() / 1000);
    expect(session?.value).not.toContain(TOKEN);
    expect(csrf).toMatchObject({ httpOnly: false, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('llmscope_session');

    const write = (withToken: boolean) =>
      page.evaluate(async (withToken) => {
        const token = /llmscope_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '';
        const body = JSON.stringify({
          calls: [{ request_id: `page-${withToken}`, started_at: Date.now() - 1000, provider: 'p', model: 'm' }],
        });
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (withToken) headers['x-llmscope-csrf'] = token;
        return (await fetch('/api/ingest', { method: 'POST', headers, body })).status;
      }, withToken);
    expect(await write(false)).toBe(403);
    expect(await write(true)).toBe(202);

    // The dashboard's own writes carry the token: a thumbs-down on a call's page lands.
    const call = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const id = call.headers.get('x-request-id') as string;
    await call.text();
    await s.waitForCalls(1);
    await s.app.ctx.recorder.flush();
    await page.goto(`${base}/#/requests/${encodeURIComponent(id)}`);
    await page.waitForSelector('#thumbs-down', { timeout: 15_000 });
    const [fb] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/api/feedback`),
      page.click('#thumbs-down'),
    ]);
    expect(fb.status()).toBe(201);

    // Sign out: the cookies go and the dashboard asks for the token again.
    await Promise.all([page.waitForURL(`${base}/`), page.click('#sign-out button')]);
    expect(await page.textContent('body')).toContain('needs the admin token');
    expect((await context.cookies(base)).map((c) => c.name)).toEqual([]);
    for (const u of urls) expect(u).not.toContain(TOKEN);
    await context.close();
  });

  it('a form on another site posting to /api or /login is refused and changes nothing', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // Signed in first, so the browser holds a session the forged form could ride on.
    await page.goto(`${base}/`);
    await page.fill('input[name=token]', TOKEN);
    await Promise.all([page.waitForURL(`${base}/`), page.click('button')]);
    for (const [path, target] of [
      ['/', '/api/ingest'],
      ['/login', '/login'],
    ] as const) {
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${base}${target}`),
        page.goto(`${evilBase}${path}`),
      ]);
      expect(resp.status(), target).toBe(403);
      expect(((await resp.json()) as { error: { code: string } }).error.code).toBe('csrf_rejected');
    }
    await s.app.ctx.recorder.flush();
    const r = await fetch(`${base}/api/requests/csrf-forged`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(404);
    await context.close();
  });
});
