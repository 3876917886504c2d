// The dashboard page's Content-Security-Policy, in real Chromium on the built app (QA36; needs `npm run build`). The
// page shows prompts and answers any client sends, and it was served with no CSP at all (only the sign-in page had
// one), so markup that ever reached it unescaped could run script and send the page's data anywhere. Now scripts run
// only from its own files and its one inline script (by hash), fetches go to its own origin, and it cannot be framed;
// every page still loads and draws with no violation, and the theme script still runs before first paint.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import type * as SimulatorTs from '../../src/simulator/index.js';
import { dashboardBuilt, loadBuilt, startBuiltApp } from './built-app.js';
import { until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const MARKUP =
  '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><p id="pwn-style" style="position:fixed;inset:0">x</p>';

describe.skipIf(!existsSync(CHROMIUM) || !dashboardBuilt)("the dashboard page's CSP", () => {
  let app: ServerTs.App;
  let base: string;
  let sim: Awaited<ReturnType<typeof SimulatorTs.startSimulator>>;
  let browser: Browser;
  let id: string;

  beforeAll(async () => {
    const { startSimulator } = await loadBuilt<typeof SimulatorTs>('simulator/index.js');
    sim = await startSimulator({ port: 0, ttftMs: 2, tpotMs: 1, outputTokens: 5 });
    ({ app, base } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent', captureContent: true },
      gpu: { collector: 'none' },
      providers: [{ name: 'openai', baseUrl: sim.url }],
    } as ConfigInput));
    const r = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer sk-x',
        'x-llmscope-user': 'csp-user',
        'x-llmscope-session': 'csp-session',
      },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: MARKUP }] }),
    });
    expect(r.status).toBe(200);
    id = r.headers.get('x-request-id') as string;
    await until(async () => (await fetch(`${base}/api/requests/${id}`)).status === 200);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await sim?.close();
  });

  it('is sent with the page: own scripts and the inline theme script by hash, own origin, no framing', async () => {
    const r = await fetch(`${base}/`);
    const csp = r.headers.get('content-security-policy') ?? '';
    // Before: no header at all.
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
    expect(csp.split('; ').find((d) => d.startsWith('script-src'))).not.toContain('unsafe');
    // Styles from its own files only: the bars and the waterfall are sized through the CSSOM (before: 'unsafe-inline').
    expect(csp).toContain("style-src 'self';");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("base-uri 'none'");
  });

  it('every page loads and draws with no violation; injected inline script does not run', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1300, height: 900 } });
    await ctx.addInitScript(() => {
      try {
        localStorage.setItem('llmscope.theme', 'dark');
        localStorage.setItem('llmscope.refresh', '0');
      } catch {}
      const w = window as unknown as { __violations: string[] };
      w.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/404|Failed to load resource/.test(m.text())) errors.push(m.text());
    });
    const pages = [
      '#/overview',
      '#/requests',
      `#/requests/${id}`,
      '#/sessions/csp-session',
      '#/users/csp-user',
      '#/cost',
      '#/quality',
      '#/alerts',
      '#/gpus',
      '#/keys',
      '#/audit',
    ];
    for (const p of pages) {
      await page.goto('about:blank');
      await page.goto(`${base}/${p}`);
      await page.waitForSelector('#view[data-ready]', { timeout: 20_000 });
      await page.waitForTimeout(150);
      expect(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations), p).toEqual([]);
      // the inline theme script ran (it is allowed by its hash)
      expect(await page.evaluate(() => document.documentElement.dataset.theme), p).toBe('dark');
    }
    // The call's prompt is on its page as text.
    await page.goto('about:blank');
    await page.goto(`${base}/#/requests/${id}`);
    await page.waitForSelector('#view[data-ready]', { timeout: 20_000 });
    expect(await page.textContent('#view')).toContain('window.__pwned');
    // The waterfall's bars are sized (through the CSSOM): the call's own span spans the whole track.
    const widths = await page.$$eval('.span-bar', (els) => els.map((e) => (e as HTMLElement).style.width));
    expect(widths.length).toBeGreaterThan(0);
    expect(widths).toContain('100%');
    // Markup put in the page as HTML (what a rendering mistake would do): its inline handler and script are refused.
    await page.evaluate((m) => {
      const d = document.createElement('div');
      d.innerHTML = m;
      document.body.append(d);
      const s = document.createElement('script');
      s.textContent = 'window.__pwned = 3';
      document.body.append(s);
    }, MARKUP);
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    const refused = await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
    expect(refused.some((v) => v.startsWith('script-src'))).toBe(true);
    // and its style attribute (an overlay over the page) too
    expect(refused.some((v) => v.startsWith('style-src'))).toBe(true);
    expect(await page.evaluate(() => getComputedStyle(document.getElementById('pwn-style') as Element).position)).toBe(
      'static',
    );
    expect(errors.filter((e) => !/Content Security Policy/.test(e))).toEqual([]);
    await ctx.close();
  });
});
