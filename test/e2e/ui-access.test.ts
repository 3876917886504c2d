// The dashboard knows who is signed in (GET /api/me) and offers only what that principal may do, in real Chromium
// against the built llmscope (dist/) bound off loopback with auth.tokens: a team-scoped viewer sees no page it cannot
// read in the navigation, no error on the pages it can open, no request the dashboard knows would be refused, and no
// other team's data; a viewer sees no operator action (feedback, silences), an operator does; an admin creates a key
// in the Keys page, sees its secret once (never again, in the page or the list), revokes it, and finds the revoke in
// the Audit page. Also: the dashboard's route table (src/ui/lib/access.ts) agrees with the server's, and covers every
// /api path the pages call. Needs `npm run build` first (npm test builds).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { auditEntryToWire } from '../../src/audit/routes.js';
import type * as ModulesTs from '../../src/cli/modules.js';
import type * as ConfigTs from '../../src/config/index.js';
import type { ConfigInput } from '../../src/config/index.js';
import type { KeyView as ServerKeyView } from '../../src/cost/key-admin.js';
import { ROUTE_ACCESS } from '../../src/http/access.js';
import type * as HttpTs from '../../src/http/index.js';
import type * as ServerTs from '../../src/server.js';
import { ACCESS, routeKey } from '../../src/ui/lib/access.js';
import { type AuditEntryWire, auditPageSchema, type KeyView, keyListSchema } from '../../src/wire/index.js';

// The wire shapes the Keys and Audit pages read are the handlers' own, both ways (a compile error otherwise).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameKey: Same<KeyView, ServerKeyView> = true;
const sameAudit: Same<AuditEntryWire, ReturnType<typeof auditEntryToWire>> = true;
void [sameKey, sameAudit];

const CHROMIUM = '/usr/bin/chromium';
const dist = (p: string) => new URL(`../../dist/${p}`, import.meta.url);
const built = existsSync(fileURLToPath(dist('ui/index.html'))) && existsSync(fileURLToPath(dist('server.js')));
const load = async <T>(p: string): Promise<T> => (await import(dist(p).href)) as T;

describe("the dashboard's route table", () => {
  it('agrees with the server’s ROUTE_ACCESS on every route it lists', () => {
    const differ = Object.entries(ACCESS)
      .filter(([k, a]) => {
        const s = ROUTE_ACCESS[k];
        return !s || s.role !== a.role || s.scoped !== a.scoped;
      })
      .map(([k, a]) => `${k}: ui ${JSON.stringify(a)} server ${JSON.stringify(ROUTE_ACCESS[k] ?? null)}`);
    expect(differ, 'change src/ui/lib/access.ts ACCESS to match src/http/access.ts').toEqual([]);
  });

  it('lists every /api path the dashboard calls', () => {
    const dir = fileURLToPath(new URL('../../src/ui/pages/', import.meta.url));
    const missing: string[] = [];
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
      const src = readFileSync(`${dir}${f}`, 'utf8');
      for (const m of src.matchAll(
        /(get|post|del)(?:<[^>(]*>)?\(\s*[`'](\/api\/(?:[^`'?$]|\$\{encodeURIComponent\([^)]*\)\})*)/g,
      )) {
        const method = { get: 'GET', post: 'POST', del: 'DELETE' }[m[1] as 'get' | 'post' | 'del'];
        // `${encodeURIComponent(id)}` stands for a path parameter; the path ends where `${qs(...)}` or `?` begins.
        const path = (m[2] as string).replace(/\$\{encodeURIComponent\([^}]*\)\}/g, 'x');
        if (!routeKey(method, path)) missing.push(`${f}: ${method} ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

const ADMIN = 'ui-access-admin-token-0123456789';
const TOKENS = {
  viewer: 'ui-viewer-token-0123456789',
  operator: 'ui-operator-token-0123456789',
  'viewer-red': 'ui-viewer-red-token-0123456789',
} as const;

describe.skipIf(!existsSync(CHROMIUM))('the dashboard by principal, in Chromium', () => {
  let app: ServerTs.App;
  let base: string;
  let browser: Browser;
  const errors: string[] = [];

  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, text: await r.text() };
  };

  beforeAll(async () => {
    if (!built) throw new Error('the dashboard is not built: run `npm run build` first');
    const { createApp } = await load<typeof ServerTs>('server.js');
    const { builtinModules } = await load<typeof ModulesTs>('cli/modules.js');
    const { validateConfig } = await load<typeof ConfigTs>('config/index.js');
    const { hashToken } = await load<typeof HttpTs>('http/index.js');
    const r = validateConfig({
      server: { host: '0.0.0.0', port: 0, adminToken: ADMIN, shutdownGrace: '2s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent', captureContent: true },
      gpu: { collector: 'none' },
      quality: { reviewRate: 1 },
      alerts: { defaultRules: false },
      auth: {
        tokens: [
          { name: 'viewer', role: 'viewer', tokenHash: hashToken(TOKENS.viewer) },
          { name: 'operator', role: 'operator', tokenHash: hashToken(TOKENS.operator) },
          { name: 'viewer-red', role: 'viewer', teams: ['red'], tokenHash: hashToken(TOKENS['viewer-red']) },
        ],
        // Offered on the sign-in page; never contacted here (discovery happens when someone follows the link).
        oidc: {
          issuer: 'http://127.0.0.1:9/realms/acme',
          clientId: 'llmscope',
          redirectUrl: 'http://127.0.0.1:9/auth/oidc/callback',
          groups: [{ group: 'llm-admins', role: 'admin' }],
        },
      },
    } as ConfigInput);
    if (!r.ok) throw new Error(`bad config: ${JSON.stringify(r.issues)}`);
    app = await createApp(r.config, { modules: builtinModules() });
    const url = new URL(await app.listen());
    base = `http://127.0.0.1:${url.port}`;
    const now = Date.now();
    // Team blue's calls say "blue" in every field they have, so any of them on a red page is a substring.
    const calls = (['red', 'blue'] as const).flatMap((team) =>
      [0, 1, 2, 3].map((i) => ({
        request_id: `${team}-${i}`,
        started_at: new Date(now - 120_000 + i * 1000).toISOString(),
        provider: 'openai',
        model: team === 'blue' ? 'gpt-4o-blue' : 'gpt-4o-mini',
        input_tokens: 1000,
        output_tokens: 100,
        latency_ms: 200,
        user: `${team}-user`,
        team,
        feature: `${team}-feature`,
        session: `${team}-session`,
      })),
    );
    const ing = await call('POST', '/api/ingest', { calls });
    expect(ing.status, ing.text).toBe(202);
    await app.ctx.recorder.flush();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  interface Session {
    context: BrowserContext;
    page: Page;
    /** Every /api answer this session got: `status METHOD path`. */
    answers: string[];
  }

  /** A fresh browser signed in through the login page with `token`. */
  async function signIn(token: string): Promise<Session> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const answers: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/api/')) answers.push(`${r.status()} ${r.request().method()} ${u.pathname}`);
    });
    await page.goto(`${base}/#/overview?range=1h`);
    // auth.oidc is set: the sign-in page offers the issuer beside the token form, back to the same page after.
    expect(await page.textContent('#sso')).toBe('Sign in with 127.0.0.1:9');
    expect(await page.getAttribute('#sso', 'href')).toBe(
      `${base}/auth/oidc/login?hash=${encodeURIComponent('#/overview?range=1h')}`,
    );
    await page.fill('input[name=token]', token);
    await Promise.all([page.waitForURL(/#\/overview/), page.click('button')]);
    await page.waitForSelector('#view[data-ready]', { timeout: 15_000 });
    return { context, page, answers };
  }

  /** Opens a dashboard view in a fresh page load (the session cookie stays) and waits until it is rendered. */
  async function open(page: Page, hash: string): Promise<string> {
    await page.goto('about:blank');
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector('#view[data-ready]', { timeout: 15_000 });
    return (await page.textContent('main')) ?? '';
  }

  const navOf = (page: Page) => page.$$eval('#nav a', (els) => els.map((e) => e.getAttribute('data-page')));

  it('a team-scoped viewer: who it is, only the pages it may read, no errors, no refused requests, no other team', async () => {
    const s = await signIn(TOKENS['viewer-red']);
    const { page } = s;
    expect(await page.textContent('#whoami')).toMatch(/viewer-red.*viewer.*teams: red/);
    expect(await page.$('#sign-out button')).not.toBeNull();
    expect(await navOf(page)).toEqual(['overview', 'requests', 'cost', 'alerts']);
    for (const hash of ['#/overview?range=1h', '#/requests?range=1h', '#/cost?range=1h', '#/alerts?range=1h']) {
      const text = await open(page, hash);
      expect(text, hash).not.toMatch(/could not load|failed to load|HTTP 4|forbidden|not allowed/i);
      expect(text, hash).not.toContain('blue');
    }
    // A page that mixes allowed and refused panels shows the allowed ones and says plainly what it leaves out.
    const cost = await open(page, '#/cost?range=1h');
    expect(cost).toContain('not available for a team-scoped sign-in');
    expect(await page.$('#cost-tiles')).not.toBeNull();
    // The month to date and forecast are every team's (the API answers null): the month tile says so, on the Overview
    // too (before: "no spend this month yet" under "–" on the Cost page, nothing on the Overview)
    for (const hash of ['#/cost?range=1h', '#/overview?range=1h']) {
      const month = await open(page, hash);
      expect(month, hash).toContain("every team's spend: not available for a team-scoped sign-in");
      expect(month, hash).not.toContain('no spend this month yet');
    }
    expect(await open(page, '#/requests?range=1h')).toContain('red-1');
    expect(await open(page, '#/requests/red-2?range=1h')).toContain('red-user');
    // A refused page reached by its address (a bookmark) says so, and asks the server nothing it would refuse.
    for (const hash of ['#/quality', '#/gpus', '#/keys', '#/audit']) {
      await open(page, hash);
      expect(await page.textContent('#not-available'), hash).toMatch(/not available/);
    }
    expect(s.answers.filter((a) => !a.startsWith('200 ') && !a.startsWith('404 '))).toEqual([]);
    await s.context.close();
  });

  it('a viewer sees no operator action; an operator does', async () => {
    const v = await signIn(TOKENS.viewer);
    expect(await navOf(v.page)).toEqual(['overview', 'requests', 'cost', 'quality', 'alerts', 'gpus']);
    await open(v.page, '#/requests/red-1?range=1h');
    expect(await v.page.$('#request-detail, main .card')).not.toBeNull();
    expect(await v.page.$('#thumbs-up')).toBeNull();
    expect(await v.page.$('#thumbs-down')).toBeNull();
    await open(v.page, '#/quality?range=1h');
    await v.page.waitForSelector('#review-list li', { timeout: 5_000 });
    expect(await v.page.$('#label-hallucinated')).toBeNull();
    expect(await v.page.$('#label-grounded')).toBeNull();
    // QA41: the key hint offered a viewer 'h hallucinated · g grounded ...', keys that do nothing for it
    expect(await v.page.textContent('#review-keys')).toMatch(/^read only: labeling needs the operator role/);
    await open(v.page, '#/alerts?range=1h');
    expect(await v.page.$('#silence-form')).toBeNull();
    expect(await v.page.textContent('main')).not.toMatch(/could not load/);
    expect(v.answers.filter((a) => a.startsWith('403 '))).toEqual([]);
    await v.context.close();

    const o = await signIn(TOKENS.operator);
    expect(await navOf(o.page)).not.toContain('keys');
    await open(o.page, '#/requests/red-1?range=1h');
    expect(await o.page.$('#thumbs-up')).not.toBeNull();
    await open(o.page, '#/quality?range=1h');
    await o.page.waitForSelector('#label-hallucinated');
    expect(await o.page.textContent('#review-keys')).toMatch(/^keys: h hallucinated/);
    await open(o.page, '#/alerts?range=1h');
    expect(await o.page.$('#silence-form')).not.toBeNull();
    await o.context.close();
  });

  it('an admin creates a key, sees it once, revokes it, and finds the revoke in the audit log', async () => {
    const s = await signIn(ADMIN);
    const { page } = s;
    expect(await navOf(page)).toEqual(['overview', 'requests', 'cost', 'quality', 'alerts', 'gpus', 'keys', 'audit']);
    await open(page, '#/keys');
    await page.fill('#create-key input[name=name]', 'ui-made-key');
    await page.fill('#create-key input[name=team]', 'red');
    await page.fill('#create-key input[name=rpm]', '60');
    await page.fill('#create-key input[name=models]', 'gpt-4o-mini, claude-*');
    await page.check('#create-key input[name=trust][value=user]');
    await page.uncheck('#create-key input[name=trust][value=session]');
    await page.click('#create-key button[type=submit]');
    await page.waitForSelector('#key-secret #new-key');
    const secret = await page.inputValue('#new-key');
    expect(secret).toMatch(/^lsk_[A-Za-z0-9_-]{40}$/);
    expect(await page.textContent('#key-secret')).toMatch(/will not be shown again/);
    await s.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await page.click('#copy-key');
    await page.waitForFunction(() => document.querySelector('#copy-msg')?.textContent === 'copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const row = await page.textContent('#keys');
    expect(row).toContain('ui-made-key');
    expect(row).toContain(`${secret.slice(0, 12)}…`);
    expect(row).toContain('team red');
    expect(row).toContain('60 req/min');
    expect(row).toContain('models: gpt-4o-mini, claude-*');
    expect(row).toContain('(sets: user, feature)');
    // Never shown again: not by the API, not on the next render.
    const listed = await call('GET', '/api/keys');
    expect(listed.text).not.toContain(secret);
    const id = (JSON.parse(listed.text) as { keys: { id: string; name: string }[] }).keys.find(
      (k) => k.name === 'ui-made-key',
    )?.id as string;
    expect(keyListSchema.safeParse(JSON.parse(listed.text)).error).toBeUndefined();
    await page.reload();
    await page.waitForSelector('#view[data-ready]');
    expect(await page.$('#key-secret')).toBeNull();
    expect(await page.content()).not.toContain(secret);

    // Rotating shows the new secret once, under a new prefix; the old one is gone from the page.
    page.once('dialog', (d) => void d.accept());
    await page.click(`[data-rotate="${id}"]`);
    await page.waitForSelector('#key-secret #new-key');
    const rotated = await page.inputValue('#new-key');
    expect(rotated).toMatch(/^lsk_/);
    expect(rotated).not.toBe(secret);
    expect(await page.textContent('#keys')).toContain(`${rotated.slice(0, 12)}…`);
    await open(page, '#/keys');
    expect(await page.content()).not.toContain(rotated);

    page.once('dialog', (d) => void d.accept());
    await page.click(`[data-revoke="${id}"]`);
    await page.waitForFunction((k) => !document.querySelector(`[data-revoke="${k}"]`), id);
    await page.check('#show-revoked');
    await page.waitForFunction(() => /revoked/.test(document.querySelector('#keys')?.textContent ?? ''));
    expect(await page.content()).not.toContain(rotated);

    await open(page, '#/audit?range=1h&action=key.revoke');
    const audit = await page.$$eval('#audit tbody tr', (els) => els.map((e) => e.textContent ?? ''));
    expect(audit.length).toBe(1);
    expect(audit[0]).toContain(`key:${id}`);
    expect(audit[0]).toContain('admin');
    // The filter is real: key.create is there too, under its own action.
    await open(page, '#/audit?range=1h&action=key.create');
    expect(await page.$$eval('#audit tbody tr', (els) => els.length)).toBe(1);
    const log = await call('GET', '/api/audit');
    expect(auditPageSchema.safeParse(JSON.parse(log.text)).error).toBeUndefined();
    // Paging: with more entries than a page, "older" appends the next page.
    for (let i = 0; i < 55; i++) expect((await call('POST', '/api/keys', { name: `paged-${i}` })).status).toBe(201);
    await open(page, '#/audit?range=1h&action=key.create');
    expect(await page.$$eval('#audit tbody tr', (els) => els.length)).toBe(50);
    await page.click('#audit-more');
    await page.waitForFunction(() => document.querySelectorAll('#audit tbody tr').length === 56);
    expect(await page.isHidden('#audit-more')).toBe(true);
    await s.context.close();
    expect(errors).toEqual([]);
  });
});
