// Reading calls by their metadata on either engine: the checks on the keys a query names (a key is a lowercase
// header token, the rule calls/metadata.ts applies when a call is recorded, so it never needs quoting inside a JSON
// path) and spend summed per value of one key (`/api/cost/summary?group_by=meta.<key>`), which reads raw calls: the
// spend aggregates are kept per fixed dimension, and metadata keys are the caller's own.
import { METADATA_MAX_KEYS, metadataKeyProblem } from '../calls/index.js';
import { UNPRICED_SQL } from '../calls/units.js';
import { LlmscopeError } from '../errors.js';
import type { StoreBackend } from './backend.js';

/** The key, or an invalid-query error saying what is wrong with it. */
export function checkedMetadataKey(key: string, param = `meta.${key}`): string {
  const bad = metadataKeyProblem(key);
  if (bad) throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', `invalid query parameter: ${bad}`, { param });
  return key;
}

/** A query's metadata filter as checked (key, value) pairs; at most METADATA_MAX_KEYS of them. */
export function metadataFilter(m: Readonly<Record<string, string>> | undefined): [string, string][] {
  if (!m) return [];
  const pairs = Object.entries(m);
  if (pairs.length > METADATA_MAX_KEYS)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_QUERY',
      `invalid query: at most ${METADATA_MAX_KEYS} meta.<key> filters (a call has at most that many keys)`,
      { param: 'meta' },
    );
  for (const [k] of pairs) checkedMetadataKey(k);
  return pairs;
}

/** SQLite's JSON path of a checked metadata key (header tokens hold no quote or backslash to escape). */
export const metadataPath = (key: string): string => `$."${key}"`;

/** Spend of raw calls grouped by one metadata key's value. */
export interface MetadataSumQuery {
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  key: string;
  /** Only calls of these teams (a team-scoped reader); an empty list matches nothing. */
  teams?: readonly string[];
  /** Only calls of these features. */
  features?: readonly string[];
}

export interface MetadataSumRow {
  /** The key's value; null for calls without the key. */
  value: string | null;
  requests: number;
  /** Calls with known tokens but no price (their cost is unknown). */
  unpriced: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  reasoningTokens: number;
}

const FIGURES = `count(*) AS requests,
    sum(${UNPRICED_SQL}) AS unpriced,
    coalesce(sum(cost_usd), 0) AS "costUsd", coalesce(sum(input_tokens), 0) AS "inputTokens",
    coalesce(sum(output_tokens), 0) AS "outputTokens", coalesce(sum(cached_input_tokens), 0) AS "cachedInputTokens",
    coalesce(sum(cache_write_input_tokens), 0) AS "cacheWriteInputTokens",
    coalesce(sum(reasoning_tokens), 0) AS "reasoningTokens"`;
// Ties in the same order on both engines (the groups past a summary's limit are folded into its rest): calls without
// the key first, then values bytewise. SQLite sorts NULL first and compares text bytewise by default; PostgreSQL's
// `value` is made COLLATE "C" and sorted NULLS FIRST (by default NULL last, in the database's collation).
const ORDER = 'ORDER BY "costUsd" DESC, requests DESC, value';
const PG_ORDER = `${ORDER} NULLS FIRST`;

/** The SQLite statement: the range's rows (the time index) summed per value of the key. */
export function sqliteSumByMetadataSql(q: MetadataSumQuery): { sql: string; params: (string | number)[] } {
  const params: (string | number)[] = [metadataPath(checkedMetadataKey(q.key)), q.from, q.to];
  let where = 'started_at >= ? AND started_at < ?';
  for (const [col, list] of [
    ['team', q.teams],
    ['feature', q.features],
  ] as const)
    if (list) {
      where += ` AND ${col} IN (SELECT value FROM json_each(?))`;
      params.push(JSON.stringify(list));
    }
  return {
    sql: `SELECT json_extract(metadata, ?) AS value, ${FIGURES} FROM calls WHERE ${where} GROUP BY 1 ${ORDER}`,
    params,
  };
}

/** The PostgreSQL statement: the range's rows (the primary key's time prefix) summed per value of the key. */
export function pgSumByMetadataSql(q: MetadataSumQuery): { text: string; values: unknown[] } {
  const values: unknown[] = [checkedMetadataKey(q.key), q.from, q.to];
  let where = 'started_at >= $2::float8 AND started_at < $3::float8';
  for (const [col, list] of [
    ['team', q.teams],
    ['feature', q.features],
  ] as const)
    if (list) {
      values.push(list.map((v) => v.replace(/\u0000/g, '\uFFFD')));
      where += ` AND ${col} = ANY($${values.length}::text[])`;
    }
  return {
    text: `SELECT (metadata ->> $1::text) COLLATE "C" AS value, ${FIGURES} FROM calls WHERE ${where} GROUP BY 1 ${PG_ORDER}`,
    values,
  };
}

/**
 * Raw calls started in [from, to) summed per value of one metadata key, largest cost first; on the app's database
 * (the store's backend), so it works the same over any Store view.
 */
export async function sumCallsByMetadata(backend: StoreBackend, q: MetadataSumQuery): Promise<MetadataSumRow[]> {
  if (backend.kind === 'sqlite') {
    const { sql, params } = sqliteSumByMetadataSql(q);
    return backend.db.prepare(sql).all(...params) as MetadataSumRow[];
  }
  const { text, values } = pgSumByMetadataSql(q);
  const { rows } = await backend.pool.query<Record<string, string | number | null>>(text, values);
  // count and sum of bigint come back from pg as strings
  return rows.map((r) => ({
    value: r.value as string | null,
    requests: Number(r.requests),
    unpriced: Number(r.unpriced),
    costUsd: Number(r.costUsd),
    inputTokens: Number(r.inputTokens),
    outputTokens: Number(r.outputTokens),
    cachedInputTokens: Number(r.cachedInputTokens),
    cacheWriteInputTokens: Number(r.cacheWriteInputTokens),
    reasoningTokens: Number(r.reasoningTokens),
  }));
}
