// Day partitions of the `calls` table: one per UTC day of started_at (epoch ms), named calls_pYYYYMMDD. They are
// created ahead by the store's maintenance and on demand for each batch's days; retention drops whole ones.
import type { Pool, PoolClient } from 'pg';
import { DAY_MS } from '../../time.js';
import { schemaLockSql } from './migrations.js';

export { DAY_MS };

export const dayOf = (t: number): number => Math.floor(t / DAY_MS) * DAY_MS;

/** calls_pYYYYMMDD for years 1000–9999; a numbered name outside that range (a clock gone wild must not fail inserts). */
export function partitionName(day: number): string {
  const d = new Date(day);
  const y = d.getUTCFullYear();
  if (Number.isFinite(y) && y >= 1000 && y <= 9999) return `calls_p${d.toISOString().slice(0, 10).replace(/-/g, '')}`;
  const n = Math.round(day / DAY_MS);
  return `calls_pd${n < 0 ? `m${-n}` : n}`;
}

export interface Partition {
  name: string;
  /** Lower bound (inclusive), epoch ms. */
  from: number;
  /** Upper bound (exclusive), epoch ms. */
  to: number;
}

const BOUND_RE = /FROM \('?(-?[\d.e+]+)'?\) TO \('?(-?[\d.e+]+)'?\)/i;

/** The partitions attached to `calls` in the connection's schema, oldest first. */
export async function listPartitions(db: Pool | PoolClient): Promise<Partition[]> {
  const { rows } = await db.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'calls'::regclass`,
  );
  const out: Partition[] = [];
  for (const r of rows) {
    const m = BOUND_RE.exec(r.bound);
    if (m) out.push({ name: r.name, from: Number(m[1]), to: Number(m[2]) });
  }
  return out.sort((a, b) => a.from - b.from);
}

/**
 * Creates the partitions of the given days that do not exist yet, in one transaction under an advisory lock (two
 * replicas creating the same day at once would otherwise race in the catalog). Returns the days now known to exist.
 */
export async function createPartitions(client: PoolClient, days: Iterable<number>): Promise<number[]> {
  const wanted = [...new Set(days)].sort((a, b) => a - b);
  if (wanted.length === 0) return [];
  await client.query('BEGIN');
  try {
    await client.query(schemaLockSql('llmscope.calls.partitions'));
    const existing = new Set((await listPartitions(client)).map((p) => p.from));
    for (const day of wanted)
      if (!existing.has(day))
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${partitionName(day)} PARTITION OF calls FOR VALUES FROM (${day}) TO (${day + DAY_MS})`,
        );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
  return wanted;
}
