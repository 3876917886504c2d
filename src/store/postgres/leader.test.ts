// Leader election over a real PostgreSQL: one leader of two, takeover within one interval when the leader's
// connection is killed, a clean hand-over on stop, and `confirm()` telling a stale leader the truth.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import { LeaderElector, lockKeyOf } from './leader.js';

const INTERVAL = 250;
let pg: TestPostgres;
const electors: LeaderElector[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  for (const e of electors.splice(0)) await e.stop().catch(() => {});
  await pg?.stop();
});

function elector(name: string, changes?: boolean[]): LeaderElector {
  const e = new LeaderElector({
    connection: pg.url,
    name,
    intervalMs: INTERVAL,
    onChange: (v) => changes?.push(v),
  });
  electors.push(e);
  return e;
}

/** Polls until `cond` holds; returns the ms it took. */
async function within(ms: number, cond: () => boolean): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

describe('LeaderElector', () => {
  it('elects exactly one of two, and the other takes over within one interval when the leader’s connection dies', async () => {
    const aChanges: boolean[] = [];
    const a = elector('alerts', aChanges);
    const b = elector('alerts');
    await Promise.all([a.start(), b.start()]);
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    // stays that way over several intervals
    await new Promise((r) => setTimeout(r, 3 * INTERVAL));
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
    // kill the leader's backend, as a crashed replica or a cut network would end it
    const killed = await pg.query('SELECT pg_terminate_backend($1) AS ok', [leader.backendPid]);
    expect(killed.rows[0]?.ok).toBe(true);
    const took = await within(INTERVAL + 200, () => follower.isLeader());
    expect(took).toBeLessThanOrEqual(INTERVAL + 200);
    await within(INTERVAL + 200, () => !leader.isLeader());
    // the old leader reconnects as a follower: still exactly one
    await new Promise((r) => setTimeout(r, 3 * INTERVAL));
    expect(leader.backendPid).not.toBeNull();
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    expect(follower.isLeader()).toBe(true);
    if (leader === a) expect(aChanges).toEqual([true, false]);
  });

  it('hands over on stop, elects per name, and confirm() checks with the server', async () => {
    const a = elector('gc');
    const b = elector('gc');
    const other = elector('reports');
    await a.start();
    await b.start();
    await other.start();
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    expect(other.isLeader()).toBe(true); // another name, another lock
    expect(await a.confirm()).toBe(true);
    expect(await b.confirm()).toBe(false);
    const { classid, objid } = lockKeyOf('gc');
    const held = await pg.query(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int8::oid AND objid = $2::int8::oid`,
      [classid, objid],
    );
    expect(held.rows.map((r) => r.pid)).toEqual([a.backendPid]);
    await a.stop();
    expect(a.isLeader()).toBe(false);
    await within(INTERVAL + 200, () => b.isLeader());
  });

  it('without a database it is simply not the leader, and reports the failure', async () => {
    const errors: Error[] = [];
    const e = new LeaderElector({
      connection: 'postgres://postgres@127.0.0.1:1/none',
      name: 'x',
      intervalMs: INTERVAL,
      onError: (err) => errors.push(err),
    });
    electors.push(e);
    await e.start();
    expect(e.isLeader()).toBe(false);
    expect(await e.confirm()).toBe(false);
    expect(errors.length).toBeGreaterThan(0);
  });
});
