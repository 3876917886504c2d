// Keys and their rate limits across two llmscope replicas on one PostgreSQL, with the OpenAI client: a key made
// through one replica's /api/keys works on the other; clients hammering both replicas for seconds get the
// key's rpm (its burst plus its refill over the run) within 5%; a key revoked through one replica is refused by the
// other within one second. Each replica is assembled as `llmscope serve` assembles it (the built-in modules).
import OpenAI from 'openai';
import type { DestinationStream } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModules } from '../../src/cli/modules.js';
import { type App, createApp } from '../../src/server.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { PostgresStore } from '../../src/store/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { configOf } from './helpers.js';

const silent: DestinationStream = { write() {} };

interface Replica {
  app: App;
  base: string;
}

async function startReplica(url: string, sim: Simulator): Promise<Replica> {
  const cfg = configOf({
    server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s' },
    providers: [{ name: 'openai', baseUrl: sim.url }],
    storage: { url },
    telemetry: { logLevel: 'warn' },
    gpu: { collector: 'none' },
  });
  const app = await createApp(cfg, {
    store: new PostgresStore(url),
    modules: builtinModules(),
    logDestination: silent,
  });
  return { app, base: await app.listen() };
}

async function post(url: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await request(url, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await r.body.json()) as Record<string, unknown>;
  expect(r.statusCode, JSON.stringify(json)).toBeLessThan(300);
  return json;
}

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return err.status ?? 0;
    throw err;
  }
}

let pg: TestPostgres;
let sim: Simulator;
const replicas: Replica[] = [];
beforeAll(async () => {
  pg = await startPostgres();
  sim = await startSimulator({ port: 0, seed: 4, ttftMs: 2, tpotMs: 0, outputTokens: 4 });
  const url = await pg.freshDatabaseUrl();
  replicas.push(...(await Promise.all([startReplica(url, sim), startReplica(url, sim)])));
});
afterAll(async () => {
  for (const r of replicas) await r.app.close();
  await sim?.close();
  await pg?.stop();
});

const ask = (c: OpenAI) =>
  c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

describe('keys on two replicas sharing PostgreSQL', () => {
  it("holds a key's requests per minute within 5% across both replicas", async () => {
    const [a, b] = replicas as [Replica, Replica];
    const rpm = 60;
    const made = await post(`${a.base}/api/keys`, { name: 'shared', rpm });
    const clients = [a, b].map(
      (r) => new OpenAI({ baseURL: `${r.base}/v1`, apiKey: made.key as string, maxRetries: 0 }),
    );
    const counts = [
      { ok: 0, limited: 0 },
      { ok: 0, limited: 0 },
    ];
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    // at least 3 s, and until the limit has refused 30 calls (a loaded machine sends fewer per second), at most 20 s
    const running = () => {
      const t = Date.now() - start;
      return t < 3_000 || (t < 20_000 && counts[0]!.limited + counts[1]!.limited < 30);
    };
    const start = Date.now();
    // 2 × 12 clients, each sending one call after another until the run ends
    await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const r = i % 2;
        const c = clients[r] as OpenAI;
        while (running()) {
          const sent = Date.now();
          const s = await statusOf(ask(c));
          if (s === 200) {
            counts[r]!.ok++;
            first = Math.min(first, sent);
            last = Math.max(last, sent);
          } else {
            expect(s).toBe(429);
            counts[r]!.limited++;
          }
        }
      }),
    );
    const ok = counts[0]!.ok + counts[1]!.ok;
    // the burst (a minute's allowance), plus what refilled between the first admitted call and the last
    const expected = rpm + (rpm * (last - first)) / 60_000;
    console.log(`rate limit across 2 replicas: ${ok} admitted, ${expected.toFixed(1)} expected`, counts);
    expect(counts[0]!.ok).toBeGreaterThan(0);
    expect(counts[1]!.ok).toBeGreaterThan(0);
    expect(counts[0]!.limited + counts[1]!.limited).toBeGreaterThanOrEqual(30);
    expect(Math.abs(ok - expected) / expected).toBeLessThanOrEqual(0.05);
  }, 45_000);

  it('a key revoked through one replica is refused by the other within one second', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const made = await post(`${a.base}/api/keys`, { name: 'to-revoke' });
    const onB = new OpenAI({ baseURL: `${b.base}/v1`, apiKey: made.key as string, maxRetries: 0 });
    // B knows the key (and has it cached)
    expect(await statusOf(ask(onB))).toBe(200);
    const revokedAt = Date.now();
    await post(`${a.base}/api/keys/${made.id}/revoke`);
    let refusedAfter = -1;
    while (Date.now() - revokedAt < 3_000) {
      const s = await statusOf(ask(onB));
      if (s === 401) {
        refusedAfter = Date.now() - revokedAt;
        break;
      }
      expect(s).toBe(200);
      await new Promise((r) => setTimeout(r, 20));
    }
    console.log(`revocation reached the other replica after ${refusedAfter} ms`);
    expect(refusedAfter).toBeGreaterThanOrEqual(0);
    expect(refusedAfter).toBeLessThan(1_000);
    // and it stays refused, on both
    expect(await statusOf(ask(onB))).toBe(401);
    const onA = new OpenAI({ baseURL: `${a.base}/v1`, apiKey: made.key as string, maxRetries: 0 });
    expect(await statusOf(ask(onA))).toBe(401);
  });
});
