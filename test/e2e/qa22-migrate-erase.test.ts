// `llmscope migrate` run twice, as docs/deploy.md says (once while the node serves, again after it stopped), with a
// user erased on the node between the runs: the second run must not leave that user's copies in PostgreSQL. The first
// run copied their calls, feedback and spend rows; the node's erase removed them there, and the second run, which
// copies only what PostgreSQL lacks and sets spend to the node's rows, kept every copy: the erased user's calls,
// feedback and per-user spend stayed in the shared database the replicas then served. Now migrate reads the node's
// audit log (user.erase, the id's hash) and removes what PostgreSQL holds of each erased user from before the erase.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateStores } from '../../src/cli/migrate.js';
import { builtinModules } from '../../src/cli/modules.js';
import type { Progress } from '../../src/cli/progress.js';
import { type App, createApp } from '../../src/server.js';
import { createStore } from '../../src/store/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { configOf, until } from './helpers.js';

const silent: DestinationStream = { write() {} };
const ERASED = 'qa22-migrate-erased';
const KEPT = 'qa22-migrate-kept';
const quiet: Progress = { start() {}, update() {}, setTotal() {}, stop() {}, shown: false };

describe('migrate after an erase on the node', () => {
  let pg: TestPostgres;
  let pgUrl: string;
  let dir: string;
  let sqliteUrl: string;
  let app: App | undefined;
  beforeAll(async () => {
    pg = await startPostgres();
    pgUrl = await pg.freshSchemaUrl();
    dir = mkdtempSync(join(tmpdir(), 'qa22-migrate-'));
    sqliteUrl = `sqlite:${join(dir, 'node.db')}`;
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('removes from PostgreSQL what the first run copied of the user erased since', async () => {
    app = await createApp(
      configOf({
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
        providers: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9' }],
        storage: { url: sqliteUrl },
        gpu: { collector: 'none' },
        telemetry: { logLevel: 'warn' },
      }),
      { logDestination: silent, modules: builtinModules() },
    );
    const base = await app.listen();
    const now = Date.now();
    const calls = [ERASED, ERASED, KEPT].map((user, i) => ({
      request_id: `qa22-mig-${i}`,
      started_at: new Date(now - 60_000 + i).toISOString(),
      ended_at: new Date(now - 59_000 + i).toISOString(),
      provider: 'openai',
      model: 'gpt-4o-mini',
      user,
      team: 'search',
      input_tokens: 1000,
      output_tokens: 100,
    }));
    const ingest = await request(`${base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ calls }),
    });
    expect(ingest.statusCode).toBe(202);
    await ingest.body.dump();
    await until(async () => {
      const r = await request(`${base}/api/requests?limit=10`);
      return ((await r.body.json()) as { data: unknown[] }).data.length === 3 ? true : null;
    }, 20_000);
    const fb = await request(`${base}/api/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: base },
      body: JSON.stringify({ request_id: 'qa22-mig-0', rating: 'down', comment: 'wrong' }),
    });
    expect(fb.statusCode).toBeLessThan(300);
    await fb.body.dump();
    await app.ctx.recorder.flush();

    // The first run, while the node serves.
    const first = await migrateStores({ from: sqliteUrl, to: pgUrl, progress: quiet });
    expect(first.calls.copied).toBe(3);

    // The user asks to be erased; the node does it.
    const erase = await request(`${base}/api/users/${ERASED}/data`, { method: 'DELETE' });
    expect(erase.statusCode).toBe(200);
    await erase.body.dump();
    await app.close();
    app = undefined;

    // The second run, the node stopped.
    const second = await migrateStores({ from: sqliteUrl, to: pgUrl, progress: quiet });
    expect(second.erased).toEqual({ users: 1, calls: 2 });

    const dst = createStore(pgUrl);
    try {
      await dst.migrate();
      const b = dst.backend;
      if (b.kind !== 'postgres') throw new Error('expected PostgreSQL');
      const count = async (sql: string, params: unknown[]) =>
        Number((await b.pool.query<{ n: string }>(sql, params)).rows[0]?.n ?? 0);
      expect(await count('SELECT count(*) AS n FROM calls WHERE "user" = $1', [ERASED])).toBe(0);
      expect(await count('SELECT count(*) AS n FROM calls WHERE "user" = $1', [KEPT])).toBe(1);
      expect(await count('SELECT count(*) AS n FROM quality_feedback WHERE request_id = $1', ['qa22-mig-0'])).toBe(0);
      for (const table of ['spend_minute', 'spend_daily']) {
        expect(await count(`SELECT count(*) AS n FROM ${table} WHERE value = $1`, [ERASED])).toBe(0);
        expect(await count(`SELECT count(*) AS n FROM ${table} WHERE value = $1`, [KEPT])).toBeGreaterThan(0);
      }
      // Spend per team is a sum without the user, kept on purpose (docs/privacy.md): the node's figure (3 calls) holds.
      const team = (
        await b.pool.query<{ requests: string }>(
          "SELECT sum(requests) AS requests FROM spend_daily WHERE dimension = 'team' AND value = 'search'",
        )
      ).rows[0];
      expect(Number(team?.requests)).toBe(3);
      // A third run changes nothing.
      const third = await migrateStores({ from: sqliteUrl, to: pgUrl, progress: quiet });
      expect(third.erased).toEqual({ users: 0, calls: 0 });
      expect(third.calls.copied).toBe(0);
    } finally {
      await dst.close();
    }
  }, 120_000);
});
