// Trace spans on SQLite: the app's database, tables under the `otlp` migration namespace.
import type { Database } from 'better-sqlite3';
import type { SpanRecord } from '../../calls/index.js';
import type { SqliteMigration } from '../../store/index.js';
import type { Claimed, TraceSpanStore } from './types.js';

export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'otlp trace spans and anchors',
    up: `
      CREATE TABLE IF NOT EXISTS otlp_trace_anchors (
        trace_id TEXT PRIMARY KEY, request_id TEXT NOT NULL, received_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS otlp_trace_anchors_received ON otlp_trace_anchors (received_at);
      CREATE TABLE IF NOT EXISTS otlp_trace_spans (
        trace_id TEXT NOT NULL, span_id TEXT NOT NULL, anchor TEXT, received_at INTEGER NOT NULL, span TEXT NOT NULL,
        PRIMARY KEY (trace_id, span_id)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS otlp_trace_spans_received ON otlp_trace_spans (received_at);`,
  },
];

export class SqliteTraceSpanStore implements TraceSpanStore {
  constructor(private readonly db: Database) {}

  async anchors(traceIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const get = this.db.prepare('SELECT request_id FROM otlp_trace_anchors WHERE trace_id = ?');
    for (const t of new Set(traceIds)) {
      const r = get.get(t) as { request_id: string } | undefined;
      if (r) out.set(t, r.request_id);
    }
    return out;
  }

  async claim(anchors: readonly { traceId: string; requestId: string }[], now: number): Promise<Claimed> {
    const insert = this.db.prepare(
      'INSERT OR IGNORE INTO otlp_trace_anchors (trace_id, request_id, received_at) VALUES (?, ?, ?)',
    );
    const existing = this.db.prepare('SELECT request_id FROM otlp_trace_anchors WHERE trace_id = ?').pluck();
    const pending = this.db.prepare(
      'SELECT span FROM otlp_trace_spans WHERE trace_id = ? AND anchor IS NULL ORDER BY span_id',
    );
    const remove = this.db.prepare('DELETE FROM otlp_trace_spans WHERE trace_id = ? AND anchor IS NULL');
    return this.db.transaction(() => {
      const out: Claimed = { pending: new Map(), anchored: new Map() };
      for (const { traceId, requestId } of anchors) {
        // the insert finds the trace's anchor where it has one (no look-up before it)
        if (insert.run(traceId, requestId, now).changes === 0) {
          out.anchored.set(traceId, existing.get(traceId) as string);
          continue;
        }
        const rows = pending.all(traceId) as { span: string }[];
        if (rows.length === 0) continue;
        remove.run(traceId);
        out.pending.set(
          traceId,
          rows.map((r) => JSON.parse(r.span) as SpanRecord),
        );
      }
      return out;
    })();
  }

  async add(
    traceId: string,
    anchor: string | null,
    spans: readonly SpanRecord[],
    maxPerTrace: number,
    now: number,
  ): Promise<{ kept: number; duplicates: number }> {
    return this.db.transaction(() => {
      const have = (
        this.db.prepare('SELECT count(*) AS n FROM otlp_trace_spans WHERE trace_id = ?').get(traceId) as { n: number }
      ).n;
      const insert = this.db.prepare(
        'INSERT OR IGNORE INTO otlp_trace_spans (trace_id, span_id, anchor, received_at, span) VALUES (?, ?, ?, ?, ?)',
      );
      let kept = 0;
      let duplicates = 0;
      for (const s of spans) {
        if (have + kept >= maxPerTrace) break;
        if (insert.run(traceId, s.spanId, anchor, now, JSON.stringify(s)).changes > 0) kept++;
        else duplicates++;
      }
      return { kept, duplicates };
    })();
  }

  async spansOf(traceId: string, anchor: string): Promise<SpanRecord[]> {
    const rows = this.db
      .prepare('SELECT span FROM otlp_trace_spans WHERE trace_id = ? AND anchor = ? ORDER BY span_id')
      .all(traceId, anchor) as { span: string }[];
    return rows.map((r) => JSON.parse(r.span) as SpanRecord);
  }

  async eraseCalls(requestIds: readonly string[]): Promise<number> {
    return this.db.transaction(() => {
      const spans = this.db.prepare('DELETE FROM otlp_trace_spans WHERE anchor = ?');
      const anchors = this.db.prepare('DELETE FROM otlp_trace_anchors WHERE request_id = ?');
      let n = 0;
      for (const id of requestIds) {
        n += spans.run(id).changes;
        anchors.run(id);
      }
      return n;
    })();
  }

  async prune(before: number, pendingBefore: number): Promise<number> {
    return this.db.transaction(() => {
      const a = this.db.prepare('DELETE FROM otlp_trace_spans WHERE received_at < ?').run(before).changes;
      const b = this.db
        .prepare('DELETE FROM otlp_trace_spans WHERE anchor IS NULL AND received_at < ?')
        .run(pendingBefore).changes;
      this.db.prepare('DELETE FROM otlp_trace_anchors WHERE received_at < ?').run(before);
      return a + b;
    })();
  }
}
