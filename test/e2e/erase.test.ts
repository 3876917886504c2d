// DELETE /api/users/{id}/data on SQLite and PostgreSQL: one user's calls (content, spans), feedback, evaluations,
// review items and per-user spend rows are erased — afterwards no row of any table holds the user's id or one of
// their request ids — other users' data is intact, the answer says what was removed, and the audit log records it
// (naming the user by a hash of the id).
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModules } from '../../src/cli/modules.js';
import { erasedUserTarget } from '../../src/privacy/index.js';
import type { StoreBackend } from '../../src/store/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { type Stack, startStack } from './helpers.js';

const ERASED = 'user-ann-7f3a9';
const KEPT = 'user-bob-20c1e';
const CONTEXT =
  'The Eiffel Tower in Paris was completed in 1889 for the World Fair. It is 330 metres tall, made of wrought ' +
  'iron, and was designed by the engineering company of Gustave Eiffel. Millions of visitors climb it each year.';

/** Every row of every table, as JSON text per table. */
async function everyTable(b: StoreBackend): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (b.kind === 'sqlite') {
    const tables = b.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    for (const { name } of tables) out[name] = JSON.stringify(b.db.prepare(`SELECT * FROM "${name}"`).all());
  } else {
    const tables = await b.pool.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    );
    for (const { table_name } of tables.rows)
      out[table_name] = JSON.stringify((await b.pool.query(`SELECT * FROM "${table_name}"`)).rows);
  }
  return out;
}

let pg: TestPostgres | undefined;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
});

describe.each(['sqlite', 'postgres'] as const)('erase a user’s data on %s', (kind) => {
  let s: Stack;
  const dbFile = join(mkdtempSync(join(tmpdir(), 'llmscope-erase-')), 'llmscope.db');
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0, outputTokens: 8 },
      config: {
        storage: { url: kind === 'sqlite' ? `sqlite:${dbFile}` : await (pg as TestPostgres).freshSchemaUrl() },
        telemetry: { captureContent: true },
        quality: { reviewRate: 1 },
        // A per-user budget: its buckets are keyed by the user's id (rows of budget_buckets on PostgreSQL).
        budgets: [{ name: 'per-user-daily', scope: 'user', period: 'day', limit: 100, action: 'block' }],
      } as never,
      app: { modules: builtinModules() },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  const call = async (id: string, user: string) => {
    const r = await request(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': id,
        'x-simulator-reply': 'The Eiffel Tower was completed in 1889 and is 330 metres tall.',
      },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        user,
        messages: [
          { role: 'system', content: `Answer from this context: ${CONTEXT}` },
          { role: 'user', content: `When was the Eiffel Tower completed and how tall is it? (asked by ${user})` },
        ],
      }),
    });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
  };
  const feedback = async (id: string, rating: 'up' | 'down') => {
    const r = await request(`${s.base}/api/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_id: id, rating, comment: 'noted' }),
    });
    expect(r.statusCode).toBe(201);
    await r.body.dump();
  };

  it('removes every row of that user and nothing of anyone else, and says what it removed', async () => {
    for (let i = 0; i < 3; i++) await call(`ann-req-${i}`, ERASED);
    for (let i = 0; i < 2; i++) await call(`bob-req-${i}`, KEPT);
    await s.waitForCalls(5);
    await s.app.ctx.recorder.flush();
    await feedback('ann-req-0', 'down');
    await feedback('bob-req-0', 'down');
    // Evaluations run in the background after the call is stored.
    const detail = async (id: string) => (await (await request(`${s.base}/api/requests/${id}`)).body.json()) as never;
    for (let i = 0; i < 100; i++) {
      const d = (await detail('ann-req-2')) as { evaluations?: unknown[] };
      if ((d.evaluations?.length ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await s.app.ctx.recorder.flush();

    const metrics = async () => (await (await request(`${s.base}/metrics`)).body.text()).includes(`user="${ERASED}"`);
    expect(await metrics()).toBe(true);
    const before = await everyTable(s.app.ctx.store.backend);
    const holding = (tables: Record<string, string>, needle: string) =>
      Object.entries(tables)
        .filter(([, rows]) => rows.includes(needle))
        .map(([t]) => t);
    // The user and their calls really were in the calls, feedback, evaluations, review and spend tables.
    expect(holding(before, ERASED)).toEqual(
      expect.arrayContaining(['spend_daily', 'spend_minute', ...(kind === 'postgres' ? ['budget_buckets'] : [])]),
    );
    expect(holding(before, 'ann-req-')).toEqual(
      expect.arrayContaining(['quality_feedback', 'quality_evaluations', 'quality_review_queue']),
    );

    // On SQLite, vacuum: no copy of the rows is left in the file's unused space either.
    const r = await request(`${s.base}/api/users/${ERASED}/data?vacuum=true`, { method: 'DELETE' });
    expect(r.statusCode).toBe(200);
    const body = (await r.body.json()) as { user: string; erased: Record<string, number>; audit_target: string };
    expect(body.user).toBe(ERASED);
    expect(body.erased).toMatchObject({ calls: 3, feedback: 1, review_items: 3 });
    expect(body.erased.evaluations).toBeGreaterThanOrEqual(3);
    expect(body.erased.spend_rows).toBeGreaterThanOrEqual(2);
    // The per-user budget's bucket for today (SQLite: the in-process ledger's; PostgreSQL: budget_buckets's row).
    expect(body.erased.budget_rows).toBe(1);

    const after = await everyTable(s.app.ctx.store.backend);
    // Nor on /metrics (llm_user_cost_usd_total{user}).
    expect(await metrics()).toBe(false);
    expect(holding(after, ERASED)).toEqual([]);
    // Request ids stay only where operators' actions on them were audited (feedback given): the log is append-only,
    // and an id names no one once its call is gone.
    expect(holding(after, 'ann-req-')).toEqual(['audit_log']);
    if (kind === 'sqlite') {
      // Not in the file's free pages or its WAL either (what a backup would copy).
      const bytes = Buffer.concat(
        ['', '-wal'].filter((x) => existsSync(dbFile + x)).map((x) => readFileSync(dbFile + x)),
      ).toString('latin1');
      expect(bytes).toContain(KEPT);
      expect(bytes).not.toContain(ERASED);
      expect(bytes).toContain(`(asked by ${KEPT})`);
    }
    // The other user's data is all still there, row for row.
    for (const [table, rows] of Object.entries(before))
      if (rows.includes(KEPT) || rows.includes('bob-req-'))
        expect(after[table], table).toSatisfy((t: string) => t.includes(KEPT) || t.includes('bob-req-'));
    expect((await s.app.ctx.store.listCalls({ user: KEPT })).items).toHaveLength(2);
    const gone = await request(`${s.base}/api/requests/ann-req-0`);
    expect(gone.statusCode).toBe(404);
    // the 404 names an erasure among the reasons a call is missing, not only a delay or retention
    expect(((await gone.body.json()) as { error: { message: string } }).error.message).toMatch(
      /an erasure of its user/,
    );
    expect(((await detail('bob-req-0')) as { feedback: unknown[] }).feedback).toHaveLength(1);

    // Recorded in the audit log, by a hash of the user's id.
    const audit = (await (await request(`${s.base}/api/audit?action=user.erase`)).body.json()) as {
      data: { target: string; result: string; detail: Record<string, number> }[];
    };
    expect(audit.data).toHaveLength(1);
    expect(audit.data[0]).toMatchObject({ target: erasedUserTarget(ERASED), result: 'ok', detail: body.erased });
    expect(body.audit_target).toBe(erasedUserTarget(ERASED));

    // A second erase finds nothing left, and is recorded too.
    const again = await request(`${s.base}/api/users/${ERASED}/data`, { method: 'DELETE' });
    expect(((await again.body.json()) as typeof body).erased).toMatchObject({
      calls: 0,
      feedback: 0,
      evaluations: 0,
      review_items: 0,
      spend_rows: 0,
      budget_rows: 0,
    });
  }, 60_000);
});
