// Trace spans on SQLite: the app's database, tables under the `otlp` migration namespace.
import type { Database, Statement } from 'better-sqlite3';
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

/** Traces whose anchor is kept only in memory (until something else of the trace comes), at most this many. */
const RECENT_ANCHORS = 100_000;

/** A trace's anchor as stored: its row (written 1, with the row's time), or its earliest stored call (written 0). */
interface Stored {
  written: number;
  request_id: string;
  at: number | null;
}

/** A trace anchored by this process lately: its anchor, when, and whether its row is written. */
interface Recent {
  traceId: string;
  anchor: string;
  at: number;
  written: boolean;
  /** Taken out of the map (pruned, erased): its place in the ring no longer stands for it. */
  gone?: true;
}

/**
 * The traces anchored lately, at most `capacity`, the oldest forgotten first (a ring in arrival order, as calls'
 * RecentIds: taking a Map's first key through a new iterator walks past every key deleted before it).
 */
class RecentAnchors {
  private readonly map = new Map<string, Recent>();
  private readonly ring: (Recent | undefined)[];
  private next = 0;
  constructor(capacity: number) {
    this.ring = new Array(capacity);
  }
  get(traceId: string): Recent | undefined {
    return this.map.get(traceId);
  }
  /** Forgets the traces for which `drop` holds. */
  forget(drop: (r: Recent) => boolean): void {
    for (const [t, r] of this.map)
      if (drop(r)) {
        r.gone = true;
        this.map.delete(t);
      }
  }
  /** Remembers a trace not remembered (callers look it up first, and nothing awaits in between). */
  set(r: Recent): void {
    const oldest = this.ring[this.next];
    if (oldest !== undefined && oldest.gone === undefined) this.map.delete(oldest.traceId);
    this.ring[this.next] = r;
    this.next = (this.next + 1) % this.ring.length;
    this.map.set(r.traceId, r);
  }
}

/**
 * Anchors are claimed lazily here: a trace's first call is its anchor, but its row is written only when something
 * else of the trace needs it (pending spans it takes; a later export's spans or calls of the trace). Until then the
 * anchor is in memory; after a restart (or once forgotten), spans that come without a call find it as the trace's
 * earliest stored OTLP call, and a later call of the trace anchors what comes after it. Most
 * traces are one export (an app's model call and the spans around it), and writing each one's row, at a random key
 * with a commit on the main connection, cost the event loop about 4 µs a call and made it wait for the write lock
 * behind the writer thread's transaction in hand (tens of ms an export under bench:ingest). Within the memory's reach
 * what `claim`, `anchors` and `spansOf` answer is what writing every row at once gave.
 */
export class SqliteTraceSpanStore implements TraceSpanStore {
  private readonly recent: RecentAnchors;
  /** Traces that may have pending spans, with when the last came (null until read from the table). */
  private pendingTraces: Map<string, number> | null = null;
  private lookUp: { row: Statement; orCall: Statement } | null = null;

  constructor(
    private readonly db: Database,
    recentAnchors = RECENT_ANCHORS,
  ) {
    this.recent = new RecentAnchors(Math.max(1, recentAnchors));
  }

  /**
   * The trace's anchor from its row (`written` 1), else, with `calls`, its earliest stored OTLP call (an anchor kept
   * only in memory before a restart, or forgotten since: `written` 0); undefined for a trace without either. The
   * calls table is the store's, in the same database; a database without it (a test's) has only the rows.
   */
  private stored(traceId: string, calls: boolean): Stored | undefined {
    if (this.lookUp === null) {
      const hasCalls = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'calls'").get();
      const row = 'SELECT 1 AS written, request_id, received_at AS at FROM otlp_trace_anchors WHERE trace_id = @t';
      this.lookUp = {
        // the claim's look-up, once a new trace: bound by position
        row: this.db.prepare(row.replace('@t', '?')),
        orCall: this.db.prepare(
          hasCalls
            ? `${row}
               UNION ALL SELECT 0, request_id, NULL FROM (
                 SELECT request_id FROM calls WHERE trace_id = @t AND request_id LIKE 'otlp-%'
                 ORDER BY started_at, request_id LIMIT 1)`
            : row,
        ),
      };
    }
    return (calls ? this.lookUp.orCall.get({ t: traceId }) : this.lookUp.row.get(traceId)) as Stored | undefined;
  }

  /** The trace's anchor (from memory, its row, or with `calls` its calls), noting in `write` a row it now needs. */
  private anchorOf(traceId: string, now: number, write: Recent[], calls: boolean): string | undefined {
    const r = this.recent.get(traceId);
    if (r !== undefined) {
      if (!r.written) write.push(r);
      return r.anchor;
    }
    const s = this.stored(traceId, calls);
    if (s === undefined) return undefined;
    // a row's time is when it was claimed (pruned with it); a row made now for a stored call is made at `now`
    const found: Recent = { traceId, anchor: s.request_id, at: s.at ?? now, written: s.written === 1 };
    this.recent.set(found);
    if (!found.written) write.push(found);
    return found.anchor;
  }

  /** Whether spans of the trace may be pending (a superset: pruned or taken ones may still be listed). */
  private mayBePending(traceId: string): boolean {
    if (this.pendingTraces === null) {
      this.pendingTraces = new Map();
      const rows = this.db
        .prepare('SELECT trace_id, max(received_at) AS at FROM otlp_trace_spans WHERE anchor IS NULL GROUP BY trace_id')
        .all() as { trace_id: string; at: number }[];
      for (const r of rows) this.pendingTraces.set(r.trace_id, r.at);
    }
    return this.pendingTraces.has(traceId);
  }

  /**
   * Runs `read` in one read transaction (DEFERRED: no write lock, nothing for the writer thread to wait for): a
   * statement on its own begins and ends a read of the WAL each time (its locks taken and its index checked again
   * after the thread's commits), which cost more than the look-up itself at a probe per trace.
   */
  private reading(read: () => void): void {
    if (this.db.inTransaction) read();
    else this.db.transaction(read).deferred();
  }

  /** Writes the rows of anchors that something else of their trace now refers to. */
  private writeRows(rows: readonly Recent[]): void {
    if (rows.length === 0) return;
    const insert = this.db.prepare(
      'INSERT OR IGNORE INTO otlp_trace_anchors (trace_id, request_id, received_at) VALUES (?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const r of rows) insert.run(r.traceId, r.anchor, r.at);
    })();
    for (const r of rows) r.written = true;
  }

  async anchors(traceIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const write: Recent[] = [];
    const now = Date.now();
    this.reading(() => {
      for (const t of new Set(traceIds)) {
        const a = this.anchorOf(t, now, write, true);
        if (a !== undefined) out.set(t, a);
      }
    });
    // spans are about to be kept beside these anchors: their rows make them the traces' anchors for good
    this.writeRows(write);
    return out;
  }

  async claim(anchors: readonly { traceId: string; requestId: string }[], now: number): Promise<Claimed> {
    const out: Claimed = { pending: new Map(), anchored: new Map() };
    const write: Recent[] = [];
    const taking: { traceId: string; requestId: string }[] = [];
    this.reading(() => {
      for (const a of anchors) {
        // Not looked for among the stored calls (a random page of calls_trace each, about 1.5 µs a new trace): a call
        // whose trace's anchor was forgotten (a restart; 100,000 newer traces) anchors the trace's spans from now
        // on, and its trace page still shows all of them (each call's spans, merged).
        const had = this.anchorOf(a.traceId, now, write, false);
        if (had !== undefined) out.anchored.set(a.traceId, had);
        else if (this.mayBePending(a.traceId)) taking.push(a);
        // a new trace with nothing waiting: its anchor is this call, its row written when the trace needs it
        else this.recent.set({ traceId: a.traceId, anchor: a.requestId, at: now, written: false });
      }
    });
    if (write.length === 0 && taking.length === 0) return out;
    const insert = this.db.prepare(
      'INSERT OR IGNORE INTO otlp_trace_anchors (trace_id, request_id, received_at) VALUES (?, ?, ?)',
    );
    const existing = this.db.prepare('SELECT request_id FROM otlp_trace_anchors WHERE trace_id = ?').pluck();
    const pending = this.db.prepare(
      'SELECT span FROM otlp_trace_spans WHERE trace_id = ? AND anchor IS NULL ORDER BY span_id',
    );
    const remove = this.db.prepare('DELETE FROM otlp_trace_spans WHERE trace_id = ? AND anchor IS NULL');
    const claimed: Recent[] = [];
    this.db.transaction(() => {
      for (const r of write) insert.run(r.traceId, r.anchor, r.at);
      for (const { traceId, requestId } of taking) {
        if (insert.run(traceId, requestId, now).changes === 0) {
          out.anchored.set(traceId, existing.get(traceId) as string);
          continue;
        }
        claimed.push({ traceId, anchor: requestId, at: now, written: true });
        const rows = pending.all(traceId) as { span: string }[];
        if (rows.length === 0) continue;
        remove.run(traceId);
        out.pending.set(
          traceId,
          rows.map((r) => JSON.parse(r.span) as SpanRecord),
        );
      }
    })();
    // remembered once committed
    for (const r of write) r.written = true;
    for (const r of claimed) {
      this.recent.set(r);
      this.pendingTraces?.delete(r.traceId);
    }
    return out;
  }

  async add(
    traceId: string,
    anchor: string | null,
    spans: readonly SpanRecord[],
    maxPerTrace: number,
    now: number,
  ): Promise<{ kept: number; duplicates: number }> {
    if (anchor === null && spans.length > 0) {
      this.mayBePending(traceId);
      this.pendingTraces?.set(traceId, now);
    }
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
    const erased = new Set(requestIds);
    this.recent.forget((r) => erased.has(r.anchor));
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

  async eraseNaming(user: string, keys: readonly string[]): Promise<number> {
    // the span's JSON holds the id as JSON.stringify wrote it: a cheap filter before each candidate is read
    const escaped = JSON.stringify(user).slice(1, -1);
    return this.db.transaction(() => {
      const rows = this.db
        .prepare('SELECT trace_id, span_id, span FROM otlp_trace_spans WHERE instr(span, ?) > 0 OR instr(span, ?) > 0')
        .all(user, escaped) as { trace_id: string; span_id: string; span: string }[];
      const remove = this.db.prepare('DELETE FROM otlp_trace_spans WHERE trace_id = ? AND span_id = ?');
      let n = 0;
      for (const r of rows) {
        const a = (JSON.parse(r.span) as SpanRecord).attributes ?? {};
        // a number id (user.id: 42) as PostgreSQL's ->> reads it
        if (keys.some((k) => a[k] !== undefined && String(a[k]) === user))
          n += remove.run(r.trace_id, r.span_id).changes;
      }
      return n;
    })();
  }

  async prune(before: number, pendingBefore: number): Promise<number> {
    this.recent.forget((r) => r.at < before);
    if (this.pendingTraces)
      for (const [t, at] of this.pendingTraces) if (at < pendingBefore) this.pendingTraces.delete(t);
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
