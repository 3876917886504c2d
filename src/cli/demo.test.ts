import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoAlerts, demoConfig, demoStoreLine, parseCycle } from './demo.js';

const urls = { sim: 'http://127.0.0.1:9/v1', dcgm: 'http://127.0.0.1:9400/metrics' };
const opts = { scenario: 'incident' as const, rps: 8, cycleMs: 600_000, hallucinationRate: 0.04 };
const dir = mkdtempSync(join(tmpdir(), 'llmscope-demo-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo config', () => {
  it('routes its providers to the simulator, captures content and scrapes the simulated DCGM exporter', () => {
    const c = demoConfig({ port: '0' }, opts, urls);
    expect(c.providers.map((p) => p.name)).toEqual(['openai', 'anthropic', 'vllm', 'anthropic-messages', 'gemini']);
    expect(new Set(c.providers.map((p) => p.baseUrl))).toEqual(new Set([urls.sim, 'http://127.0.0.1:9/v1beta']));
    // an Anthropic or a Gemini client pointed at the demo has a provider of its format (404 before)
    expect(c.providers.filter((p) => p.type !== 'openai-compatible').map((p) => p.type)).toEqual([
      'anthropic',
      'gemini',
    ]);
    expect(c.telemetry.captureContent).toBe(true);
    expect(c.gpu.collector).toBe('dcgm');
    expect(c.gpu.dcgmUrls).toEqual([urls.dcgm]);
    expect(c.gpu.hosts[0]).toMatchObject({ host: 'gpu-node-1', providers: ['vllm'] });
    expect(c.alerts.evaluationInterval).toBe('10s');
    expect(c.alerts.overrides.HighErrorRate).toEqual({ for: '1m' });
    expect(c.alerts.overrides.SingleCallCostHigh).toEqual({ window: '180s' });
  });

  it("leaves what the user's config sets", () => {
    const file = join(dir, 'c.yaml');
    writeFileSync(
      file,
      'telemetry: {captureContent: false}\nalerts: {evaluationInterval: 1m}\ngpu: {collector: none}\n',
    );
    const c = demoConfig({ config: file }, opts, urls);
    expect(c.telemetry.captureContent).toBe(false);
    expect(c.alerts.evaluationInterval).toBe('1m');
    expect(c.alerts.overrides).toEqual({});
    expect(c.gpu.collector).toBe('none');
  });

  it('shortens windows only on a fast tempo', () => {
    const fast = demoAlerts(60_000);
    expect(fast.evaluationInterval).toBe('2s');
    expect(fast.overrides?.HighLatency).toEqual({ for: '6s', window: '1m' });
    expect(demoAlerts(600_000).overrides?.HighLatency).toEqual({ for: '1m' });
  });

  it('reads --incident-every', () => {
    expect(parseCycle('10m')).toBe(600_000);
    expect(parseCycle('90s')).toBe(90_000);
    expect(parseCycle('120')).toBe(120_000);
    expect(() => parseCycle('5s')).toThrow(/--incident-every/);
    expect(() => parseCycle('soon')).toThrow(/--incident-every/);
  });
});

describe('demo on a store that has virtual keys', () => {
  it("sends its traffic with a key of its own (in memory only), so calls are not refused and keep the traffic's attribution", async () => {
    const { startDemo } = await import('./demo.js');
    const { keysCreate } = await import('./keys.js');
    const { builtinModules } = await import('./modules.js');
    const { createApp } = await import('../server.js');
    const sub = mkdtempSync(join(dir, 'keys-'));
    const file = join(sub, 'c.yaml');
    writeFileSync(
      file,
      `server: {host: 127.0.0.1, port: 0}\nstorage: {url: "sqlite:${join(sub, 'l.db')}"}\ntelemetry: {logLevel: warn}\ngpu: {collector: none}\n`,
    );
    // What a user who followed docs/keys.md in the llmscope folder has: a key in the store the demo writes to.
    const quiet = { out: () => {}, err: () => {}, env: {} };
    expect(await keysCreate('mine', { config: file }, quiet)).toBe(0);
    let app: Awaited<ReturnType<typeof createApp>> | undefined;
    const demo = await startDemo(
      { config: file },
      { scenario: 'healthy', rps: 20, cycleMs: 600_000, hallucinationRate: 0, feedbackShare: 0 },
      async (cfg) => {
        app = await createApp(cfg, { modules: builtinModules() });
        await app.listen();
        return app;
      },
    );
    try {
      let calls: { status: string; user: string | null; api_key_id: string | null }[] = [];
      for (let i = 0; i < 40 && calls.length < 10; i++) {
        await new Promise((r) => setTimeout(r, 250));
        calls = ((await (await fetch(`${demo.base}/api/requests?limit=50`)).json()) as { data: typeof calls }).data;
      }
      expect(calls.length).toBeGreaterThanOrEqual(10);
      const statuses = new Set(calls.map((c) => c.status));
      expect(statuses.has('client_error')).toBe(false);
      expect(statuses.has('ok')).toBe(true);
      expect(calls.some((c) => c.user?.startsWith('user-'))).toBe(true);
      // The user's own keyless call is still refused: the store's keys keep guarding the gateway.
      const res = await fetch(`${demo.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(401);
    } finally {
      await demo.stop();
      await app?.close();
    }
  }, 30_000);
});

describe("the demo traffic's feedback in the audit log", () => {
  it('is recorded as the demo-traffic actor (an operator), not as admin, and an admin action keeps its own actor', async () => {
    const { startDemo, DEMO_TRAFFIC_ACTOR } = await import('./demo.js');
    const { builtinModules } = await import('./modules.js');
    const { createApp } = await import('../server.js');
    const sub = mkdtempSync(join(dir, 'audit-'));
    const file = join(sub, 'c.yaml');
    writeFileSync(
      file,
      `server: {host: 127.0.0.1, port: 0}\nstorage: {url: "sqlite:${join(sub, 'l.db')}"}\ntelemetry: {logLevel: warn}\ngpu: {collector: none}\n`,
    );
    let app: Awaited<ReturnType<typeof createApp>> | undefined;
    const demo = await startDemo(
      { config: file },
      { scenario: 'healthy', rps: 20, cycleMs: 600_000, hallucinationRate: 0, feedbackShare: 1 },
      async (cfg) => {
        app = await createApp(cfg, { modules: builtinModules() });
        await app.listen();
        return app;
      },
    );
    type Entry = { actor: string; role: string | null; action: string; result: string };
    try {
      let entries: Entry[] = [];
      // (20 a second when idle; a loaded machine starts the app and the traffic far later: up to 40 s given)
      for (let i = 0; i < 160 && entries.length < 5; i++) {
        await new Promise((r) => setTimeout(r, 250));
        const res = await fetch(`${demo.base}/api/audit?action=feedback.put&limit=100`);
        entries = ((await res.json()) as { data: Entry[] }).data;
      }
      expect(entries.length).toBeGreaterThanOrEqual(5);
      expect(new Set(entries.map((e) => `${e.actor}/${e.role}/${e.result}`))).toEqual(
        new Set([`${DEMO_TRAFFIC_ACTOR}/operator/ok`]),
      );
      // the admin's own actions are found by actor without the simulated feedback among them
      const admin = (await (await fetch(`${demo.base}/api/audit?actor=admin&limit=100`)).json()) as { data: Entry[] };
      expect(admin.data.filter((e) => e.action === 'feedback.put')).toEqual([]);
    } finally {
      await demo.stop();
      await app?.close();
    }
  }, 120_000);

  it('keeps a demo-traffic token the user configured (and then posts with the admin token, as before)', () => {
    const file = join(dir, 'tok.yaml');
    writeFileSync(
      file,
      `auth: {tokens: [{name: demo-traffic, role: viewer, tokenHash: "sha256:${'a'.repeat(64)}"}]}\n`,
    );
    const c = demoConfig({ config: file }, opts, urls, undefined, `sha256:${'b'.repeat(64)}`);
    expect(c.auth.tokens).toEqual([expect.objectContaining({ name: 'demo-traffic', role: 'viewer' })]);
    expect(demoConfig({ port: '0' }, opts, urls, undefined, `sha256:${'b'.repeat(64)}`).auth.tokens).toEqual([
      expect.objectContaining({ name: 'demo-traffic', role: 'operator', tokenHash: `sha256:${'b'.repeat(64)}` }),
    ]);
  });
});

describe('demo and --workers', () => {
  it('says that it runs in one process when workers are asked for (serve --workers runs them), and nothing otherwise', async () => {
    const { demoNotices } = await import('./demo.js');
    expect(demoNotices(demoConfig({ port: '0', workers: '2' }, opts, urls))).toEqual([
      expect.stringMatching(/demo runs in one process: --workers \/ server\.workers \(2\) is for .*serve --workers/),
    ]);
    expect(demoNotices(demoConfig({ port: '0' }, opts, urls))).toEqual([]);
  });
});

describe("the demo banner's store line", () => {
  it('names the store the demo writes to (its own file unless one is named), how to read it, and never a password', () => {
    const config = demoConfig({ port: '0' }, opts, urls);
    expect(config.storage.url).toBe('sqlite:./llmscope-data/demo.db');
    const line = demoStoreLine(config, '/home/ann/llmscope');
    expect(line).toMatch(/^\/home\/ann\/llmscope\/llmscope-data\/demo\.db \(simulated calls/);
    expect(line).toContain('LLMSCOPE_STORAGE_URL=sqlite:./llmscope-data/demo.db');
    const file = join(dir, 'pg.yaml');
    // A store named in a config (or LLMSCOPE_STORAGE_URL) is used as it is, and the line says serve may share it.
    writeFileSync(file, 'storage: {url: "sqlite:./llmscope-data/llmscope.db"}\n');
    const named = demoConfig({ config: file }, opts, urls);
    expect(named.storage.url).toBe('sqlite:./llmscope-data/llmscope.db');
    expect(demoStoreLine(named, '/home/ann/llmscope')).toMatch(
      /llmscope\.db \(simulated calls[\s\S]*mixed into its totals/,
    );
    const prev = process.env.LLMSCOPE_STORAGE_URL;
    process.env.LLMSCOPE_STORAGE_URL = 'sqlite:/srv/real.db';
    try {
      expect(demoConfig({ port: '0' }, opts, urls).storage.url).toBe('sqlite:/srv/real.db');
    } finally {
      if (prev === undefined) delete process.env.LLMSCOPE_STORAGE_URL;
      else process.env.LLMSCOPE_STORAGE_URL = prev;
    }
    writeFileSync(file, 'storage: {url: "postgres://llmscope:s3cret-pw@db.internal:5432/llmscope"}\n');
    const pgLine = demoStoreLine(demoConfig({ config: file }, opts, urls));
    expect(pgLine).toContain('db.internal:5432/llmscope');
    expect(pgLine).not.toContain('s3cret-pw');
    writeFileSync(file, 'storage: {url: "sqlite::memory:"}\n');
    expect(demoStoreLine(demoConfig({ config: file }, opts, urls))).toMatch(/^in memory/);
  });
});
