// Trace spans on PostgreSQL: shared by every replica, tables under the `otlp` migration namespace.
import type { SpanRecord } from '../../calls/index.js';
import type { PgMigration, PostgresBackend } from '../../store/index.js';
import type { Claimed, TraceSpanStore } from './types.js';

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'otlp trace spans and anchors',
    up: `
      CREATE TABLE IF NOT EXISTS otlp_trace_anchors (
        trace_id text COLLATE "C" PRIMARY KEY, request_id text NOT NULL, received_at bigint NOT NULL);
      CREATE INDEX IF NOT EXISTS otlp_trace_anchors_received ON otlp_trace_anchors (received_at);
      CREATE TABLE IF NOT EXISTS otlp_trace_spans (
        trace_id text COLLATE "C" NOT NULL, span_id text COLLATE "C" NOT NULL, anchor text, received_at bigint NOT NULL,
        span jsonb NOT NULL, PRIMARY KEY (trace_id, span_id));
      CREATE INDEX IF NOT EXISTS otlp_trace_spans_received ON otlp_trace_spans (received_at);`,
  },
];

export class PostgresTraceSpanStore implements TraceSpanStore {
  constructor(private readonly backend: PostgresBackend) {}

  async anchors(traceIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (traceIds.length === 0) return out;
    const r = await this.backend.pool.query<{ trace_id: string; request_id: string }>(
      'SELECT trace_id, request_id FROM otlp_trace_anchors WHERE trace_id = ANY($1::text[])',
      [[...new Set(traceIds)]],
    );
    for (const row of r.rows) out.set(row.trace_id, row.request_id);
    return out;
  }

  async claim(anchors: readonly { traceId: string; requestId: string }[], now: number): Promise<Claimed> {
    const out: Claimed = { pending: new Map(), anchored: new Map() };
    if (anchors.length === 0) return out;
    const traces = anchors.map((a) => a.traceId);
    const inserted = await this.backend.pool.query<{ trace_id: string }>(
      `INSERT INTO otlp_trace_anchors (trace_id, request_id, received_at)
       SELECT t, r, $3 FROM unnest($1::text[], $2::text[]) AS a(t, r) ON CONFLICT DO NOTHING RETURNING trace_id`,
      [traces, anchors.map((a) => a.requestId), now],
    );
    const mine = new Set(inserted.rows.map((row) => row.trace_id));
    const others = traces.filter((t) => !mine.has(t));
    if (others.length > 0) {
      const r = await this.backend.pool.query<{ trace_id: string; request_id: string }>(
        'SELECT trace_id, request_id FROM otlp_trace_anchors WHERE trace_id = ANY($1::text[])',
        [others],
      );
      for (const row of r.rows) out.anchored.set(row.trace_id, row.request_id);
    }
    if (mine.size === 0) return out;
    const r = await this.backend.pool.query<{ trace_id: string; span: SpanRecord }>(
      'DELETE FROM otlp_trace_spans WHERE trace_id = ANY($1::text[]) AND anchor IS NULL RETURNING trace_id, span',
      [[...mine]],
    );
    for (const row of r.rows) {
      const list = out.pending.get(row.trace_id) ?? [];
      list.push(row.span);
      out.pending.set(row.trace_id, list);
    }
    for (const list of out.pending.values()) list.sort((a, b) => (a.spanId < b.spanId ? -1 : 1));
    return out;
  }

  async add(
    traceId: string,
    anchor: string | null,
    spans: readonly SpanRecord[],
    maxPerTrace: number,
    now: number,
  ): Promise<{ kept: number; duplicates: number }> {
    if (spans.length === 0) return { kept: 0, duplicates: 0 };
    const have = await this.backend.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM otlp_trace_spans WHERE trace_id = $1',
      [traceId],
    );
    const room = Math.max(0, maxPerTrace - Number(have.rows[0]?.n ?? 0));
    const take = spans.slice(0, room);
    if (take.length === 0) return { kept: 0, duplicates: 0 };
    const r = await this.backend.pool.query(
      `INSERT INTO otlp_trace_spans (trace_id, span_id, anchor, received_at, span)
       SELECT $1, s.span_id, $2, $3, s.span FROM unnest($4::text[], $5::jsonb[]) AS s(span_id, span)
       ON CONFLICT DO NOTHING`,
      [traceId, anchor, now, take.map((s) => s.spanId), take.map((s) => JSON.stringify(s))],
    );
    const kept = r.rowCount ?? 0;
    return { kept, duplicates: take.length - kept };
  }

  async spansOf(traceId: string, anchor: string): Promise<SpanRecord[]> {
    const r = await this.backend.pool.query<{ span: SpanRecord }>(
      'SELECT span FROM otlp_trace_spans WHERE trace_id = $1 AND anchor = $2 ORDER BY span_id',
      [traceId, anchor],
    );
    return r.rows.map((row) => row.span);
  }

  async eraseCalls(requestIds: readonly string[]): Promise<number> {
    if (requestIds.length === 0) return 0;
    const r = await this.backend.pool.query('DELETE FROM otlp_trace_spans WHERE anchor = ANY($1::text[])', [
      [...requestIds],
    ]);
    await this.backend.pool.query('DELETE FROM otlp_trace_anchors WHERE request_id = ANY($1::text[])', [
      [...requestIds],
    ]);
    return r.rowCount ?? 0;
  }

  async eraseNaming(user: string, keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const r = await this.backend.pool.query(
      `DELETE FROM otlp_trace_spans
       WHERE EXISTS (SELECT 1 FROM unnest($2::text[]) AS k WHERE span -> 'attributes' ->> k = $1)`,
      [user, [...keys]],
    );
    return r.rowCount ?? 0;
  }

  async prune(before: number, pendingBefore: number): Promise<number> {
    const a = await this.backend.pool.query(
      'DELETE FROM otlp_trace_spans WHERE received_at < $1 OR (anchor IS NULL AND received_at < $2)',
      [before, pendingBefore],
    );
    await this.backend.pool.query('DELETE FROM otlp_trace_anchors WHERE received_at < $1', [before]);
    return a.rowCount ?? 0;
  }
}
