// Every dashboard page in real Chromium, with data and without, over a preset and a custom range, in the light
// and the dark theme: no page errors, each page's content present, and a screenshot of each under
// test/output/ui/ (git-ignored) to look at. Plus the truthful-numbers checks of issue 18: on a 24 h view of
// 2 minutes of calls sent at 5/s, the request-rate card reads 5/s (±10%), the charts start at the first call and
// say so, and a call's page lists each event once, explains its scores and its overhead.
// Needs `npm run build` first (npm test builds).
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as ModulesTs from '../../src/cli/modules.js';
import type * as ConfigTs from '../../src/config/index.js';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import type * as SimulatorTs from '../../src/simulator/index.js';

const CHROMIUM = '/usr/bin/chromium';
const dist = (p: string) => new URL(`../../dist/${p}`, import.meta.url);
const built = existsSync(fileURLToPath(dist('ui/index.html'))) && existsSync(fileURLToPath(dist('server.js')));
const OUT = fileURLToPath(new URL('../output/ui/', import.meta.url));
const load = async <T>(p: string): Promise<T> => (await import(dist(p).href)) as T;

interface Stack {
  base: string;
  close(): Promise<void>;
}

async function startStack(traffic: number): Promise<Stack> {
  const { createApp } = await load<typeof ServerTs>('server.js');
  const { builtinModules } = await load<typeof ModulesTs>('cli/modules.js');
  const { validateConfig } = await load<typeof ConfigTs>('config/index.js');
  const { startSimulator, startTraffic, startDcgmExporter } = await load<typeof SimulatorTs>('simulator/index.js');
  const sim = await startSimulator({ port: 0, ttftMs: 30, tpotMs: 2, jitter: true, seed: 9 });
  // with traffic, a simulated DCGM exporter: 2 GPUs serving a self-hosted model
  const dcgm = traffic > 0 ? await startDcgmExporter({ hostname: 'gpu-node-1', gpus: 2, seed: 4 }) : null;
  const r = validateConfig({
    server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
    providers: [{ name: 'simulator', baseUrl: sim.url }],
    storage: { url: 'sqlite::memory:' },
    telemetry: { logLevel: 'silent', captureContent: true },
    quality: { reviewRate: 1 },
    gpu: dcgm ? { collector: 'dcgm', interval: '1s', dcgmUrls: [dcgm.url] } : { collector: 'none' },
    alerts: {
      evaluationInterval: '1s',
      defaultRules: false,
      rules: [
        {
          name: 'SlowAnswers',
          kind: 'latency_quantile',
          quantile: 0.95,
          op: '>',
          threshold: 0.001,
          window: '1m',
          for: '0s',
          severity: 'warning',
          groupBy: [],
          annotations: { summary: 'p95 latency above 1 ms' },
        },
      ],
    },
  } as ConfigInput);
  if (!r.ok) throw new Error(`bad config: ${JSON.stringify(r.issues)}`);
  const app = await createApp(r.config, { modules: builtinModules() });
  const base = await app.listen();
  const t = traffic > 0 ? startTraffic({ baseUrl: `${base}/v1`, rps: traffic, seed: 3 }) : null;
  return {
    base,
    async close() {
      await t?.stop();
      await app.close();
      await sim.close();
      await dcgm?.close();
    },
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const json = async <T>(url: string, init?: RequestInit): Promise<T> => {
  const r = await fetch(url, init);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
};

/** `n` calls at `rps` per second ending `endAgoMs` ago, as the load generator would have sent them. */
function history(n: number, rps: number, endAgoMs: number) {
  const now = Date.now();
  const first = now - endAgoMs - ((n - 1) * 1000) / rps;
  return Array.from({ length: n }, (_, i) => {
    const started = Math.round(first + (i * 1000) / rps);
    return {
      request_id: `hist-${i}-${now}`,
      started_at: started,
      ended_at: started + 400,
      provider: 'simulator',
      model: i % 3 ? 'gpt-4o-mini' : 'gpt-4o',
      stream: i % 2 === 0,
      http_status: i % 50 === 0 ? 500 : 200,
      input_tokens: 120,
      output_tokens: 80,
      ttft_ms: i % 2 === 0 ? 90 + (i % 7) * 10 : null,
      tpot_ms: i % 2 === 0 ? 4 : null,
      latency_ms: 400,
      team: i % 2 ? 'search' : 'support',
      feature: 'chat',
    };
  });
}

/** An agent session: 5 calls of one user across 2 traces, 3 s apart, ending `endAgoMs` ago. */
function agentSession(endAgoMs: number) {
  const now = Date.now();
  return Array.from({ length: 5 }, (_, i) => {
    const started = now - endAgoMs - (4 - i) * 3000;
    return {
      request_id: `agent-${i}-${now}`,
      trace_id: (i < 3 ? 'a' : 'b').repeat(32),
      started_at: started,
      ended_at: started + 800 + i * 200,
      provider: 'simulator',
      model: i === 2 ? 'gpt-4o' : 'gpt-4o-mini',
      http_status: i === 3 ? 500 : 200,
      input_tokens: 300 + i * 50,
      output_tokens: 60 + i * 10,
      latency_ms: 800 + i * 200,
      user: 'ui-user',
      session: 'ui-session',
      feature: i % 2 ? 'planner' : 'tools',
    };
  });
}

const PAGES = ['overview', 'requests', 'request', 'session', 'user', 'cost', 'quality', 'alerts', 'gpus'] as const;
/** The hash path of each page, on the stack with data or on the empty one. */
const pathOf = (p: (typeof PAGES)[number], which: 'data' | 'empty', callId: string): string => {
  if (p === 'request') return `requests/${which === 'data' ? callId : 'no-such-request'}`;
  if (p === 'session') return `sessions/${which === 'data' ? 'ui-session' : 'no-such-session'}`;
  if (p === 'user') return `users/${which === 'data' ? 'ui-user' : 'no-such-user'}`;
  return p;
};

describe.skipIf(!existsSync(CHROMIUM))('every dashboard page, with data and without', () => {
  let empty: Stack;
  let data: Stack;
  /** Only the ingested history (no live traffic joining in): what the rate card is checked against. */
  let steady: Stack;
  let browser: Browser;
  const errors: string[] = [];
  let callId = '';
  let errorId = '';
  let agentCalls: ReturnType<typeof agentSession> = [];

  beforeAll(async () => {
    if (!built) throw new Error('the dashboard is not built: run `npm run build` first');
    mkdirSync(OUT, { recursive: true });
    [empty, data, steady] = await Promise.all([startStack(0), startStack(3), startStack(0)]);
    // 2 minutes of history at 5 calls/s, the last 5 s ago: what a load generator started 2 minutes ago sent
    const sent = JSON.stringify(history(600, 5, 5_000));
    for (const s of [data, steady]) {
      const r = await fetch(`${s.base}/api/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: sent,
      });
      expect(r.status, await r.text()).toBeLessThan(300);
    }
    agentCalls = agentSession(20_000);
    const agent = await fetch(`${data.base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(agentCalls),
    });
    expect(agent.status, await agent.text()).toBeLessThan(300);
    // an upstream error, through the gateway
    const bad = await fetch(`${data.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-simulator-fault': 'server_error' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await bad.text();
    errorId = bad.headers.get('x-request-id') as string;
    const list = await until('a streamed call with spans', async () => {
      const l = await json<{ data: { request_id: string; stream: boolean; status: string }[] }>(
        `${data.base}/api/requests?status=ok&endpoint=chat.completions&limit=50`,
      );
      return l.data.find((c) => c.stream && !c.request_id.startsWith('hist-'));
    });
    callId = list.request_id;
    await until('the error call recorded', async () => (await fetch(`${data.base}/api/requests/${errorId}`)).ok);
    await until('GPU samples', async () => {
      const g = await json<{ gpus: unknown[] }>(`${data.base}/api/gpu`);
      return g.gpus.length > 0;
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([empty?.close(), data?.close(), steady?.close()]);
  });

  async function pageIn(theme: 'light' | 'dark'): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 }, colorScheme: theme });
    await ctx.addInitScript((t) => {
      try {
        localStorage.setItem('llmscope.theme', t);
        localStorage.setItem('llmscope.refresh', '0');
      } catch {}
    }, theme);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/404|Failed to load resource/.test(m.text()))
        errors.push(`${page.url()}: console ${m.text()}`);
    });
    return page;
  }

  async function show(page: Page, url: string, shot: string): Promise<void> {
    await page.goto('about:blank');
    await page.goto(url);
    await page.waitForSelector('#view[data-ready]', { timeout: 20_000 });
    // charts draw on the next animation frame
    await page.waitForTimeout(150);
    await page.screenshot({ path: `${OUT}${shot}.png`, fullPage: true });
  }

  it('on a 24 h view of 2 minutes of data the rate card reads the rate sent (5/s ± 10%)', async () => {
    const page = await pageIn('light');
    await show(page, `${steady.base}/#/overview?range=24h`, 'overview-24h-young-data');
    const v = (await page.textContent('#tile-rps .v')) as string;
    expect(v).toMatch(/req\/s$/);
    const rps = Number.parseFloat(v);
    expect(Math.abs(rps - 5) / 5, v).toBeLessThan(0.1);
    const notes = await page.$$eval('#tile-rps .n', (els) => els.map((e) => e.textContent));
    expect(notes.join(' ')).toMatch(/average over the last 24h: 0\.0\d+ req\/s/);
    // the charts start at the first call, say so, and mark it
    expect(await page.textContent('#young-note')).toMatch(/Data starts/);
    expect(await page.getAttribute('#chart-rps', 'data-markers')).toBe('1');
    for (const id of ['chart-latency', 'chart-ttft', 'chart-tpot', 'chart-rps', 'chart-tokens', 'chart-errors']) {
      await page.waitForSelector(`#${id} .plot[data-drawn] canvas`, { timeout: 10_000 });
      expect(Number(await page.getAttribute(`#${id} .plot`, 'data-drawn')), id).toBeGreaterThan(0);
    }
    // the last, still-filling minute is left out, so the error chart does not jump at its end
    expect(await page.textContent('#chart-rps figcaption')).toMatch(/1 min buckets/);
    await page.context().close();
  });

  it("a call's page: each event once, scores explained, the overhead explained, an upstream error shown", async () => {
    const page = await pageIn('light');
    await show(page, `${data.base}/#/requests/${callId}`, 'request-streamed');
    const events = await page.$$eval('.events li strong', (els) => els.map((e) => e.textContent));
    expect(events.filter((e) => e === 'gen_ai.first_token')).toHaveLength(1);
    const ids = await page.$$eval('#waterfall .span-attrs', (els) =>
      els.map((e) => [...e.querySelectorAll('dt')].find((d) => d.textContent === 'span id')?.nextSibling?.textContent),
    );
    expect(new Set(ids).size).toBe(ids.length);
    expect(await page.getAttribute('#overhead', 'title')).toMatch(/x-llmscope-overhead-ms.*first byte/);
    await until('evaluations', async () => {
      await show(page, `${data.base}/#/requests/${callId}`, 'request-streamed');
      return (await page.$$('.eval')).length > 0;
    });
    expect(await page.textContent('#score-legend')).toMatch(/higher = more likely hallucinated/);
    await show(page, `${data.base}/#/requests/${errorId}`, 'request-upstream-error');
    expect(await page.textContent('#call-status')).toBe('upstream_error');
    await page.context().close();
  });

  it('a session page: its 5 calls in order on one waterfall, totals; its user page: spend, calls, links', async () => {
    const page = await pageIn('light');
    await until('the agent session recorded', async () => (await fetch(`${data.base}/api/sessions/ui-session`)).ok);
    const thumbs = await fetch(`${data.base}/api/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_id: agentCalls[1]?.request_id, rating: 'up' }),
    });
    expect(thumbs.status, await thumbs.text()).toBeLessThan(300);
    // the requests list links the session and the user
    await show(page, `${data.base}/#/requests?range=1h&q=ui-session`, 'requests-session-links');
    expect(await page.getAttribute('#requests a.session-link', 'href')).toBe('#/sessions/ui-session?range=1h');
    expect(await page.getAttribute('#requests a.user-link', 'href')).toBe('#/users/ui-user?range=1h');
    await page.click('#requests a.session-link');
    await page.waitForSelector('#session-steps');
    await page.waitForTimeout(150);
    await page.screenshot({ path: `${OUT}session-data.png`, fullPage: true });
    const rows = await page.$$eval('#session-steps tbody tr', (els) => els.map((e) => e.getAttribute('data-id')));
    expect(rows).toHaveLength(5);
    expect(rows.map((id) => id?.replace(/-\d+$/, ''))).toEqual(['agent-0', 'agent-1', 'agent-2', 'agent-3', 'agent-4']);
    expect(await page.textContent('#tile-calls .v')).toBe('5');
    expect(await page.textContent('#session-totals')).toMatch(/1 not ok/);
    expect(await page.textContent('#session-steps tbody tr:nth-child(2) td:nth-child(9)')).toBe('▲1');
    // every call's spans on the one waterfall: at least one root row per call
    expect((await page.$$('#session-waterfall .span-row')).length).toBeGreaterThanOrEqual(5);
    // a step's trace opens the trace page with that trace's calls only
    await page.click('#session-steps tbody tr:last-child a[href^="#/traces/"]');
    await page.waitForFunction(() => document.querySelector('#session-id')?.textContent?.startsWith('trace '));
    await page.waitForSelector('#session-steps');
    expect(await page.$$eval('#session-steps tbody tr', (els) => els.length)).toBe(2);
    await page.screenshot({ path: `${OUT}trace-data.png`, fullPage: true });
    // a step's request page links back to its session, user and trace
    await show(page, `${data.base}/#/requests/${agentCalls[0]?.request_id}?range=1h`, 'request-agent-step');
    expect(await page.getAttribute('#session-link', 'href')).toBe('#/sessions/ui-session?range=1h');
    expect(await page.getAttribute('#user-link', 'href')).toBe('#/users/ui-user?range=1h');
    expect(await page.getAttribute('#trace-page-link', 'href')).toBe(`#/traces/${'a'.repeat(32)}?range=1h`);
    // the user page
    await show(page, `${data.base}/#/users/ui-user?range=1h`, 'user-data');
    expect(await page.textContent('#tile-user-calls .v')).toBe('5');
    expect(await page.textContent('#user-by-model')).toMatch(/gpt-4o-mini/);
    expect(await page.textContent('#user-by-feature')).toMatch(/planner/);
    expect(await page.$$eval('#user-recent tbody tr', (els) => els.length)).toBe(5);
    expect(await page.textContent('#tile-feedback .v')).toBe('▲ 1 / ▼ 0');
    expect(await page.getAttribute('#user-recent a[href^="#/requests/"]', 'href')).toMatch(/^#\/requests\/agent-4-/);
    await page.context().close();
    expect(errors).toEqual([]);
  });

  // 18 page loads and full-page screenshots in Chromium each: past vitest's 30 s on a busy 2-core machine (load 20).
  for (const theme of ['light', 'dark'] as const)
    for (const which of ['data', 'empty'] as const)
      it(`every page renders (${which}, ${theme} theme, preset and custom range)`, async () => {
        const stack = which === 'data' ? data : empty;
        const page = await pageIn(theme);
        const to = Date.now();
        const custom = `from=${to - 3 * 3_600_000}&to=${to}`;
        for (const p of PAGES) {
          const path = pathOf(p, which, callId);
          for (const [rname, q] of [
            ['1h', 'range=1h'],
            ['custom', custom],
          ] as const) {
            await show(page, `${stack.base}/#/${path}?${q}`, `${p}-${which}-${theme}-${rname}`);
            const text = (await page.textContent('#view')) as string;
            expect(text, `${p} ${which}`).not.toMatch(/This page failed to load|undefined|NaN/);
            expect(text.trim().length).toBeGreaterThan(20);
            if (rname === 'custom' && !['request', 'session'].includes(p))
              expect(await page.getAttribute('button[data-range="custom"]', 'class')).toContain('active');
          }
          if (theme === 'dark') expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
        }
        if (which === 'empty') {
          await show(page, `${stack.base}/#/overview?range=24h`, `overview-empty-${theme}-24h`);
          expect(await page.textContent('#chart-latency')).toMatch(/no requests in the last 24h/);
          // no "month-end forecast $0, at the rate since the first call" before there is one
          const view = (await page.textContent('#view')) as string;
          expect(view).toContain('no spend this month yet');
          expect(view).not.toMatch(/since the first call/);
          await show(page, `${stack.base}/#/cost?range=24h`, `cost-empty-${theme}-24h`);
          expect(await page.textContent('#view')).not.toMatch(/forecast \$0 at the spend rate since the first call/);
          // and no flat $0 line for a day without spend: the chart says there is none
          expect(await page.textContent('#chart-cost')).toContain('no spend in this range');
        }
        await page.context().close();
        expect(errors).toEqual([]);
      }, 120_000);

  it('five calls just made: every overview chart and the spend chart draw them (as still filling) while the cards show them', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${empty.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `hi ${i}` }] }),
      });
      await r.text();
    }
    await until('5 calls recorded', async () => {
      const l = await json<{ data: unknown[] }>(`${empty.base}/api/requests?limit=10`);
      return l.data.length >= 5;
    });
    const page = await pageIn('light');
    await show(page, `${empty.base}/#/overview?range=24h`, 'overview-five-calls');
    expect(await page.textContent('#tile-requests .v')).toBe('5');
    for (const id of ['chart-latency', 'chart-ttft', 'chart-tpot', 'chart-rps', 'chart-tokens', 'chart-errors']) {
      await page.waitForSelector(`#${id} .plot[data-drawn] canvas`, { timeout: 10_000 });
      expect(Number(await page.getAttribute(`#${id} .plot`, 'data-drawn')), id).toBeGreaterThan(0);
    }
    expect(await page.textContent('#chart-rps figcaption')).toMatch(/still filling/);
    // the cost page's spend chart too: the hour so far, from the first data (a flat $0 line before, the only hour
    // with spend left out as still filling, under a spend tile of dollars)
    await show(page, `${empty.base}/#/cost?range=24h`, 'cost-five-calls');
    await page.waitForSelector('#chart-cost .plot[data-drawn] canvas', { timeout: 10_000 });
    expect(await page.textContent('#chart-cost figcaption')).toMatch(/still filling: no hour since the first call/);
    expect(await page.getAttribute('#chart-cost', 'data-markers')).toBe('1');
    await page.context().close();
    expect(errors).toEqual([]);
  });
});
