// QA13's first hour: a new user runs the demo, opens the Keys page ("create one below") or runs `llmscope keys create`
// on the demo's store. From then on every keyless gateway call is refused 401 (that is what keys are for), and the
// demo's own traffic was keyless unless the store had keys at start, so the dashboard stopped filling. The demo's
// traffic now always calls with a key of its own, kept in memory and listed nowhere, which does not by itself make
// keys required: a keyless curl works until the user creates a key, and the traffic goes on after it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Demo, startDemo } from '../../src/cli/demo.js';
import { keysCreate } from '../../src/cli/keys.js';
import { builtinModules } from '../../src/cli/modules.js';
import { type App, createApp } from '../../src/server.js';
import { until } from './helpers.js';

interface Call {
  status: string;
  user: string | null;
  team: string | null;
}

describe('the demo when a virtual key is created while it runs', () => {
  let dir: string;
  let file: string;
  let demo: Demo;
  let app: App | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmscope-demo-key-'));
    file = join(dir, 'c.yaml');
    writeFileSync(
      file,
      `server: {host: 127.0.0.1, port: 0}\nstorage: {url: "sqlite:${join(dir, 'l.db')}"}\ntelemetry: {logLevel: warn}\ngpu: {collector: none}\n`,
    );
    demo = await startDemo(
      { config: file },
      { scenario: 'healthy', rps: 20, cycleMs: 600_000, hallucinationRate: 0, feedbackShare: 0 },
      async (cfg) => {
        app = await createApp(cfg, { modules: builtinModules() });
        await app.listen();
        return app;
      },
    );
  }, 60_000);

  afterAll(async () => {
    await demo?.stop();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const calls = async (from?: string): Promise<Call[]> => {
    const q = from ? `&from=${encodeURIComponent(from)}` : '';
    const res = await fetch(`${demo.base}/api/requests?limit=200${q}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: Call[] }).data;
  };
  const keyless = () =>
    fetch(`${demo.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
  const listedKeys = async () =>
    ((await (await fetch(`${demo.base}/api/keys`)).json()) as { keys: { id: string; name: string }[] }).keys;

  it('keeps recording its traffic (status ok, its attribution) after `llmscope keys create`; keyless calls then get 401', async () => {
    expect(demo.keyed).toBe(false);
    // Before any key of the user's: the traffic is recorded, and the banner's keyless curl is answered.
    const before = await until(async () => {
      const c = (await calls()).filter((x) => x.status === 'ok');
      return c.length >= 5 && c;
    }, 40_000);
    expect(before.some((c) => c.user?.startsWith('user-'))).toBe(true);
    expect((await keyless()).status).toBe(200);
    // The traffic's key is not one of the store's or the config's: the Keys page lists nothing.
    expect(await listedKeys()).toEqual([]);

    // The user creates a key on the demo's store, from another process's point of view (the CLI).
    const quiet = { out: () => {}, err: () => {}, env: {} };
    expect(await keysCreate('mine', { config: file }, quiet)).toBe(0);
    // Keyless calls are refused once the demo's gateway has seen the key (its store count is cached briefly).
    await until(async () => (await keyless()).status === 401, 20_000);
    const since = new Date().toISOString();

    // The demo's traffic goes on, recorded ok with its own attribution.
    const after = await until(async () => {
      const c = await calls(since);
      return c.filter((x) => x.status === 'ok').length >= 10 && c;
    }, 40_000);
    expect(after.filter((c) => c.status === 'client_error')).toEqual([]);
    // (its key trusts the traffic's attribution headers, as the traffic had them without a key)
    expect(after.some((c) => c.user?.startsWith('user-'))).toBe(true);
    expect(after.some((c) => c.team !== null)).toBe(true);
    // And the Keys page lists the user's key only.
    expect((await listedKeys()).map((k) => k.name)).toEqual(['mine']);
  }, 120_000);
});
