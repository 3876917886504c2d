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

function elector(name: string, changes?: boolean[], role?: string): LeaderElector {
  const e = new LeaderElector({
    connection: role ? pg.url.replace('//postgres@', `//${role}@`) : pg.url,
    name,
    intervalMs: INTERVAL,
    onChange: (v) => changes?.push(v),
  });
  electors.push(e);
  return e;
}

/** Polls until the server has released the `name` lock `pid` held (its backend has exited). */
async function lockReleasedBy(pid: number, name: string): Promise<void> {
  const { classid, objid } = lockKeyOf(name);
  const t0 = Date.now();
  for (;;) {
    const r = await pg.query(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = $1
         AND classid = $2::int8::oid AND objid = $3::int8::oid`,
      [pid, classid, objid],
    );
    if (r.rows[0]?.n === 0) return;
    if (Date.now() - t0 > 10_000) throw new Error(`backend ${pid} still holds the ${name} lock after 10 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
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
    // Each replica logs in as its own role, so the test can keep the dead leader from coming back: a crashed replica
    // does not reconnect, but a live elector whose backend was terminated reconnects at its next tick and, when that
    // tick comes before the follower's, takes the lock straight back (seen under CPU load: the follower never led).
    for (const role of ['replica_a', 'replica_b']) await pg.query(`CREATE ROLE ${role} LOGIN`);
    const aChanges: boolean[] = [];
    const a = elector('alerts', aChanges, 'replica_a');
    const b = elector('alerts', undefined, 'replica_b');
    await Promise.all([a.start(), b.start()]);
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    // stays that way over several intervals
    await new Promise((r) => setTimeout(r, 3 * INTERVAL));
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    const [leader, follower, leaderRole] = a.isLeader() ? [a, b, 'replica_a'] : [b, a, 'replica_b'];
    const leaderPid = leader.backendPid;
    // kill the leader's backend, as a crashed replica or a cut network would end it, and keep it out meanwhile
    await pg.query(`ALTER ROLE ${leaderRole} NOLOGIN`);
    const killed = await pg.query('SELECT pg_terminate_backend($1) AS ok', [leaderPid]);
    expect(killed.rows[0]?.ok).toBe(true);
    // The clock starts when the server has released the lock (the backend's exit, which pg_terminate_backend only
    // asks for); the follower takes over at its next try, within one interval of that.
    await lockReleasedBy(leaderPid as number, 'alerts');
    const took = await within(10_000, () => follower.isLeader());
    expect(took).toBeLessThanOrEqual(INTERVAL + 200);
    await within(10_000, () => !leader.isLeader());
    // the old leader, let in again, reconnects as a follower: still exactly one
    await pg.query(`ALTER ROLE ${leaderRole} LOGIN`);
    await within(10_000, () => leader.backendPid !== null);
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
    const aPid = a.backendPid as number;
    await a.stop();
    expect(a.isLeader()).toBe(false);
    await lockReleasedBy(aPid, 'gc');
    expect(await within(10_000, () => b.isLeader())).toBeLessThanOrEqual(INTERVAL + 200);
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
