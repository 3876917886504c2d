// The alert leader SIGKILLed while its alert fires: a real `llmscope serve` process leads (it took the `alerts`
// advisory lock first), a second replica follows. After the kill, PostgreSQL releases the dead session's lock, the
// follower takes over, continues the firing alert from the shared state and, when the errors stop, sends the
// resolution to the receiver the dead leader told — exactly one firing and one resolved notification.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pgLib from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpSink, httpSink, waitUntil } from '../../src/alerts/testing.js';
import { builtinModules } from '../../src/cli/modules.js';
import type { ConfigInput } from '../../src/config/index.js';
import { type App, createApp } from '../../src/server.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { configOf, type ServeProcess, startServeProcess } from './helpers.js';

let pg: TestPostgres;
let sim: Simulator;
let hook: HttpSink;
let follower: App | null = null;
let leader: ChildProcess | null = null;
let leaderProcess: ServeProcess | null = null;

const alerts = (url: string) => ({
  evaluationInterval: '1s',
  defaultRules: false,
  slos: [],
  rules: [
    {
      name: 'ErrorsHigh',
      kind: 'error_rate',
      window: '5m',
      op: '>',
      threshold: 0.1,
      minSamples: 5,
      for: '1s',
      severity: 'critical',
    },
  ],
  route: {
    receiver: 'hook',
    groupBy: ['alertname'],
    groupWait: '0s',
    groupInterval: '1s',
    repeatInterval: '1h',
    routes: [],
  },
  inhibitRules: [],
  receivers: [{ name: 'hook', webhook: { url } }],
});

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Rows of the shared notification log (alert_nflog), where the leader writes down each notification it sent. */
async function notifyLogRows(url: string): Promise<number> {
  const c = new pgLib.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM alert_nflog')).rows[0]?.n);
  } finally {
    await c.end();
  }
}

async function evaluator(base: string): Promise<boolean> {
  const r = await request(`${base}/api/alerts`);
  return ((await r.body.json()) as { evaluator: boolean }).evaluator;
}

const chat = (base: string, fault: boolean) =>
  request(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(fault ? { 'x-simulator-fault': 'server_error' } : {}) },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  }).then((r) => r.body.dump());

beforeAll(async () => {
  pg = await startPostgres();
  sim = await startSimulator({ port: 0, seed: 12, ttftMs: 1, tpotMs: 0, outputTokens: 4 });
  hook = await httpSink();
}, 60_000);
afterAll(async () => {
  leader?.kill('SIGKILL');
  await follower?.close();
  await hook?.close();
  await sim?.close();
  await pg?.stop();
});

describe('alert leader SIGKILLed while its alert fires', () => {
  it('the follower takes over and sends the resolution, once', async () => {
    const url = await pg.freshDatabaseUrl();
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-sigkill-'));
    const config = join(dir, 'llmscope.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        server: { host: '127.0.0.1' },
        providers: [{ name: 'openai', baseUrl: sim.url }],
        storage: { url },
        telemetry: { logLevel: 'warn' },
        gpu: { collector: 'none' },
        alerts: alerts(`${hook.url}/hook`),
      }),
    );
    leaderProcess = await startServeProcess({ LLMSCOPE_PORT: '0' }, ['--config', config]);
    leader = leaderProcess.proc;
    const leaderBase = leaderProcess.base;
    await until(() => evaluator(leaderBase), 10_000);
    follower = await createApp(
      configOf({
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
        providers: [{ name: 'openai', baseUrl: sim.url }],
        storage: { url },
        telemetry: { logLevel: 'silent' },
        gpu: { collector: 'none' },
        alerts: alerts(`${hook.url}/hook`),
      } as ConfigInput),
      { modules: builtinModules(), logDestination: { write() {} } },
    );
    const followerBase = await follower.listen();
    expect(await evaluator(followerBase)).toBe(false);

    // Errors through the follower: the rollups are shared, the leader fires and tells the receiver.
    await Promise.all(Array.from({ length: 10 }, () => chat(followerBase, true)));
    await follower.ctx.recorder.flush();
    const hooks = () => hook.received.filter((x) => x.path === '/hook').map((x) => x.body as { status: string });
    await waitUntil(() => hooks().length >= 1, 15_000).catch(async (e) => {
      const a = await (await request(`${leaderBase}/api/alerts`)).body.text();
      throw new Error(
        `${e.message}; the leader said: ${leaderProcess?.stderr().slice(-3000)}; its alerts: ${a.slice(0, 3000)}`,
      );
    });
    expect(hooks()[0]?.status).toBe('firing');

    // The leader has written down that it told the receiver (a kill between sending and writing would make it tell
    // again after the takeover: notifications are at-least-once across a leader change, as docs/deploy.md says). A
    // fixed wait is no proof of that write on a busy machine: read it in the shared database.
    await until(async () => (await notifyLogRows(url)) > 0, 15_000);
    // The leader dies without a word; then the errors stop (200 good calls bring the rate under 10%).
    const killedAt = Date.now();
    leader?.kill('SIGKILL');
    await new Promise((r) => leader?.once('exit', r));
    await Promise.all(Array.from({ length: 200 }, () => chat(followerBase, false)));
    await follower.ctx.recorder.flush();

    await until(() => evaluator(followerBase), 10_000);
    await waitUntil(() => hooks().length >= 2, 15_000);
    console.log(`leader SIGKILLed; the follower sent the resolution ${Date.now() - killedAt} ms later`);
    expect(hooks()[1]?.status).toBe('resolved');
    // Nothing more: no repeated firing, no second resolution.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(hooks().map((h) => h.status)).toEqual(['firing', 'resolved']);
  }, 90_000);
});
