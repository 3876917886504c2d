// PostgreSQL stopped for 10 s during load, then started again: the gateway keeps serving every call (zero client
// errors), the store lane holds the calls it could not write and writes them when the database is back, and every
// call the clients saw is stored exactly once.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModules } from '../../src/cli/modules.js';
import { type App, createApp } from '../../src/server.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { configOf, metricValue, parseMetrics } from './helpers.js';

describe('PostgreSQL outage during load', () => {
  let pg: TestPostgres;
  let sim: Simulator;
  let app: App;
  let base: string;
  beforeAll(async () => {
    pg = await startPostgres();
    sim = await startSimulator({ port: 0, ttftMs: 5, tpotMs: 1, outputTokens: 8 });
    const config = configOf({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
      providers: [{ name: 'simulator', baseUrl: sim.url }],
      storage: { url: await pg.freshSchemaUrl() },
      telemetry: { logLevel: 'silent' },
    });
    app = await createApp(config, { modules: builtinModules(), logDestination: { write: () => {} } });
    base = await app.listen();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await sim?.close();
    await pg?.stop();
  });

  it('serves every call through a 10 s outage and stores each one once when the database is back', async () => {
    const ok = new Set<string>();
    const failed: string[] = [];
    let stop = false;
    let n = 0;
    const client = async (): Promise<void> => {
      while (!stop) {
        const id = `outage-${n++}`;
        try {
          const r = await request(`${base}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-request-id': id, 'x-llmscope-user': `u${n % 50}` },
            body: JSON.stringify({
              model: 'gpt-4o-mini',
              messages: [{ role: 'user', content: 'hi' }],
              stream: n % 2 === 0,
            }),
          });
          await r.body.text();
          if (r.statusCode === 200) ok.add(id);
          else failed.push(`${id}: ${r.statusCode}`);
        } catch (err) {
          failed.push(`${id}: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const clients = Array.from({ length: 6 }, client);
    await new Promise((r) => setTimeout(r, 1_500));
    await pg.pause();
    const during = ok.size;
    await new Promise((r) => setTimeout(r, 10_000));
    const servedWhileDown = ok.size - during;
    await pg.resume();
    await new Promise((r) => setTimeout(r, 1_500));
    stop = true;
    await Promise.all(clients);
    expect(failed).toEqual([]);
    expect(servedWhileDown).toBeGreaterThan(50);

    expect(await app.ctx.recorder.flush(30_000)).toBe(true);
    const m = parseMetrics(await (await request(`${base}/metrics`)).body.text());
    const shed = metricValue(m, 'llmscope_recorder_dropped_total', { sink: 'store' });
    const rows = await pg.query<{ request_id: string; n: string }>(
      `SELECT request_id, count(*) AS n FROM ${new URL(app.ctx.config.storage.url).searchParams.get('options')?.split('=')[1]}.calls WHERE request_id LIKE 'outage-%' GROUP BY request_id`,
    );
    const stored = new Map(rows.rows.map((r) => [r.request_id, Number(r.n)]));
    console.log(
      `PostgreSQL outage: ${ok.size} calls served (${servedWhileDown} while it was down), ${stored.size} stored, ${shed} shed`,
    );
    expect([...stored.values()].every((c) => c === 1)).toBe(true);
    expect(shed).toBe(0);
    expect([...ok].filter((id) => !stored.has(id))).toEqual([]);
  }, 90_000);
});
