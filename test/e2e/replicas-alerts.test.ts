// Two llmscope replicas on one PostgreSQL with the built-in alert engine: exactly one (the holder of the `alerts`
// advisory lock) evaluates and notifies. The leader is killed while its alert fires; the other replica takes over
// within one evaluation interval, continues the firing alert (same fired_at, from the shared state) and, knowing
// from the shared notification log that the receiver was told, does not tell it again.
import type { DestinationStream } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpSink, httpSink, waitUntil } from '../../src/alerts/testing.js';
import { builtinModules } from '../../src/cli/modules.js';
import type { ConfigInput } from '../../src/config/index.js';
import { type App, createApp } from '../../src/server.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { PostgresStore } from '../../src/store/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { configOf } from './helpers.js';

const silent: DestinationStream = { write() {} };

interface AlertsJson {
  evaluator: boolean;
  firing: { alertname: string; fired_at: string }[];
  rules: { alertname: string; health: string; last_evaluated_at: string | null }[];
}

interface Replica {
  app: App;
  base: string;
  closed: boolean;
}

let pg: TestPostgres;
let sim: Simulator;
let hook: HttpSink;
const replicas: Replica[] = [];

async function startReplica(url: string): Promise<Replica> {
  const cfg = configOf({
    server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
    providers: [{ name: 'openai', baseUrl: sim.url }],
    storage: { url },
    telemetry: { logLevel: 'warn' },
    gpu: { collector: 'none' },
    alerts: {
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
      receivers: [{ name: 'hook', webhook: { url: `${hook.url}/hook` } }],
      inhibitRules: [],
    },
  } as ConfigInput);
  const app = await createApp(cfg, {
    store: new PostgresStore(url),
    modules: builtinModules(),
    logDestination: silent,
  });
  const r: Replica = { app, base: await app.listen(), closed: false };
  replicas.push(r);
  return r;
}

async function alertsOf(r: Replica): Promise<AlertsJson> {
  const res = await request(`${r.base}/api/alerts`);
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as AlertsJson;
}

const evaluatedAt = (a: AlertsJson): number => {
  const t = a.rules.find((x) => x.alertname === 'ErrorsHigh')?.last_evaluated_at;
  return t ? Date.parse(t) : 0;
};

beforeAll(async () => {
  pg = await startPostgres();
  sim = await startSimulator({ port: 0, seed: 11, ttftMs: 2, tpotMs: 1, outputTokens: 4 });
  hook = await httpSink();
});
afterAll(async () => {
  for (const r of replicas) if (!r.closed) await r.app.close();
  await hook?.close();
  await sim?.close();
  await pg?.stop();
});

describe('alert evaluation across two replicas on one PostgreSQL', () => {
  it('one evaluator; when it dies the other takes over within an interval, keeps the alert firing and does not re-notify', async () => {
    const url = await pg.freshDatabaseUrl();
    const a = await startReplica(url);
    // the first replica up takes the lock
    expect((await alertsOf(a)).evaluator).toBe(true);
    const b = await startReplica(url);
    expect((await alertsOf(b)).evaluator).toBe(false);

    // failing calls through the follower: the rollups are shared, the leader sees them
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        request(`${b.base}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-simulator-fault': 'server_error' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `fail ${i}` }] }),
        }).then((r) => r.body.dump()),
      ),
    );
    await b.app.ctx.recorder.flush();

    const hooks = () => hook.received.filter((x) => x.path === '/hook');
    await waitUntil(() => hooks().length >= 1, 15_000);
    const before = await alertsOf(a);
    const firedAt = before.firing.find((x) => x.alertname === 'ErrorsHigh')?.fired_at;
    expect(firedAt).toBeTruthy();
    // the follower never evaluated, and shows the leader's firing alert from the shared state
    await new Promise((r) => setTimeout(r, 1_200));
    const follower = await alertsOf(b);
    expect(evaluatedAt(follower)).toBe(0);
    expect(follower.firing.map((x) => x.fired_at)).toEqual([firedAt]);

    // the leader dies while the alert fires
    const killedAt = Date.now();
    a.closed = true;
    await a.app.close();

    // within one evaluation interval (1 s; plus slack for a loaded machine) the other replica evaluates
    const deadline = Date.now() + 5_000;
    let after = await alertsOf(b);
    while (evaluatedAt(after) <= killedAt && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      after = await alertsOf(b);
    }
    expect(after.evaluator).toBe(true);
    expect(evaluatedAt(after)).toBeGreaterThan(killedAt);
    expect(evaluatedAt(after) - killedAt).toBeLessThan(2_500);
    const tookOver = evaluatedAt(after);
    // it keeps evaluating, the alert keeps firing with the same fired_at, and several group intervals pass quietly
    await new Promise((r) => setTimeout(r, 4_000));
    const later = await alertsOf(b);
    expect(evaluatedAt(later)).toBeGreaterThan(tookOver);
    expect(later.rules.find((x) => x.alertname === 'ErrorsHigh')?.health).toBe('ok');
    expect(later.firing.map((x) => x.fired_at)).toEqual([firedAt]);
    expect(hooks()).toHaveLength(1);
    expect(hooks()[0]?.body).toMatchObject({ status: 'firing', groupLabels: { alertname: 'ErrorsHigh' } });
  }, 60_000);
});
