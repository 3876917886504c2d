// The log lines of each call, kept with it (GET /api/requests/:id `logs`): a tee on the logger's destination sees
// every line as pino serialized it (and the request lines the recorder's log sink writes in batches), keeps those
// that carry a `request_id` — the same text stdout gets, so the same level filter, redaction and fields — and hands
// them to the store in batches, off the call's path. Bounded: at most `maxLines` lines per call (the rest counted),
// `maxLineBytes` per line (a longer one is cut, marked), `capacity` lines waiting; a store that fails or lags drops
// what waits and counts it (fail open: a call never waits for, nor fails by, its log lines).
import type { CallLogRow } from '../store/store.js';

export interface CallLogsOptions {
  /** Lines kept per call (0: none, the tee does nothing). */
  maxLines: number;
  /** Bytes (UTF-8) kept per line; a longer line is cut to its leading fields, marked `truncated`. */
  maxLineBytes?: number;
  /** Lines waiting for the store at most; more are dropped and counted. */
  capacity?: number;
  /** How long lines wait for a fuller batch (ms). */
  lingerMs?: number;
  /** Told how many lines were not kept (the store failed, or too many waited). */
  onDrop?: (lines: number) => void;
}

/** The default per-call bounds (telemetry.callLogLines; per line: 4 KiB). */
export const CALL_LOG_LINES = 50;
export const CALL_LOG_LINE_BYTES = 4096;
/** Calls whose counts are remembered for the cap (a line of an older call starts a fresh count). */
const TRACKED_CALLS = 8192;
const KEY = '"request_id":"';
/** In the request lines the log sink writes, before the request_id (`"event":…` and ECS's `"event.action":…`). */
const REQUEST_COMPLETED = '"request_completed","';
const MAX_BATCH = 2000;

let seq = 0;

interface Tracked {
  kept: number;
  dropped: number;
}

export class CallLogs {
  readonly maxLines: number;
  private readonly maxLineBytes: number;
  private readonly capacity: number;
  private readonly lingerMs: number;
  /** Per-call counts of the recent calls: this generation and the one before (TRACKED_CALLS in all at most). */
  private counts = new Map<string, Tracked>();
  private older = new Map<string, Tracked>();
  /** Calls with lines dropped at the cap since the last batch. */
  private readonly overCap = new Map<string, number>();
  private pending: CallLogRow[] = [];
  private target: ((rows: CallLogRow[]) => Promise<void> | void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;

  constructor(private readonly opts: CallLogsOptions) {
    this.maxLines = Math.max(0, Math.floor(opts.maxLines));
    this.maxLineBytes = opts.maxLineBytes ?? CALL_LOG_LINE_BYTES;
    this.capacity = opts.capacity ?? 20_000;
    this.lingerMs = opts.lingerMs ?? 200;
  }

  /** Where batches go (the store, or a gateway worker's channel to its recorder process); until then they wait. */
  attach(target: (rows: CallLogRow[]) => Promise<void> | void): void {
    this.target = target;
    if (this.pending.length > 0) this.schedule();
  }

  /**
   * What the logger's destination is handed: one line or several, each newline-terminated. Called on the logging
   * path: a line without a request_id costs one indexOf.
   */
  note(s: string): void {
    if (this.maxLines === 0 || typeof s !== 'string') return;
    let from = 0;
    for (;;) {
      const k = s.indexOf(KEY, from);
      if (k === -1) return;
      const start = from === 0 && k < 512 && s.indexOf('\n') >= k ? 0 : Math.max(from, s.lastIndexOf('\n', k) + 1);
      let end = s.indexOf('\n', k);
      if (end === -1) end = s.length;
      // a call's `request completed` line is its record, shown from it (requestLineOf): not kept twice
      const rc = s.indexOf(REQUEST_COMPLETED, start);
      if (rc === -1 || rc > k) this.keep(s, start, end, k + KEY.length);
      from = end + 1;
      if (from >= s.length) return;
    }
  }

  /** Rows a gateway worker kept (already bounded there), added to this process's batches. */
  accept(rows: readonly CallLogRow[]): void {
    for (const r of rows) {
      if (this.pending.length >= this.capacity) {
        this.opts.onDrop?.(rows.length - rows.indexOf(r));
        break;
      }
      this.pending.push(r);
    }
    this.schedule();
  }

  private keep(s: string, start: number, end: number, idStart: number): void {
    const idEnd = s.indexOf('"', idStart);
    if (idEnd === -1 || idEnd > end) return;
    let id = s.slice(idStart, idEnd);
    if (id.includes('\\')) {
      // an escape in the id: read it as JSON does
      try {
        const v = (JSON.parse(s.slice(start, end)) as { request_id?: unknown }).request_id;
        if (typeof v !== 'string') return;
        id = v;
      } catch {
        return;
      }
    }
    let t = this.counts.get(id);
    if (t === undefined) {
      t = this.older.get(id) ?? { kept: 0, dropped: 0 };
      // two generations instead of evicting the oldest entry one by one (a Map's first key after many deletes at its
      // front is found by skipping the holes they leave: most of this function's time, measured)
      if (this.counts.size >= TRACKED_CALLS / 2) {
        this.older = this.counts;
        this.counts = new Map();
      }
      this.counts.set(id, t);
    }
    if (t.kept >= this.maxLines) {
      t.dropped++;
      this.overCap.set(id, (this.overCap.get(id) ?? 0) + 1);
      this.schedule();
      return;
    }
    if (this.pending.length >= this.capacity) {
      this.opts.onDrop?.(1);
      return;
    }
    t.kept++;
    let line = s.slice(start, end);
    if (line.length * 3 > this.maxLineBytes && Buffer.byteLength(line) > this.maxLineBytes)
      line = truncatedLine(line, this.maxLineBytes);
    this.pending.push({ requestId: id, at: Date.now(), seq: ++seq, line, dropped: 0 });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.writing !== null || this.target === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.drain();
    }, this.lingerMs);
    this.timer.unref();
  }

  /** The next batch: waiting lines, then a count row for each call with lines past the cap. */
  private take(): CallLogRow[] {
    const rows = this.pending.length <= MAX_BATCH ? this.pending : this.pending.slice(0, MAX_BATCH);
    this.pending = rows === this.pending ? [] : this.pending.slice(MAX_BATCH);
    if (this.overCap.size > 0) {
      const at = Date.now();
      for (const [requestId, n] of this.overCap) rows.push({ requestId, at, seq: ++seq, line: null, dropped: n });
      this.overCap.clear();
    }
    return rows;
  }

  private drain(): Promise<void> {
    if (this.writing !== null) return this.writing;
    const run = async () => {
      while (this.target !== null && (this.pending.length > 0 || this.overCap.size > 0)) {
        const rows = this.take();
        try {
          await this.target(rows);
        } catch {
          const lines = rows.filter((r) => r.line !== null).length;
          if (lines > 0) this.opts.onDrop?.(lines);
        }
      }
    };
    this.writing = run().finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  /** Writes what waits now (shutdown, an erase about to look for a user's calls). Never rejects. */
  async flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.writing !== null) await this.writing;
    await this.drain();
  }
}

/**
 * A line over `maxBytes`, as an object of its fields that fit (in order; a long string value cut to 256 characters
 * and marked with an ellipsis) with `truncated: true` and the original size in `line_bytes`.
 */
export function truncatedLine(line: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(line);
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return JSON.stringify({ truncated: true, line_bytes: bytes });
  }
  const out: Record<string, unknown> = {};
  let size = 64;
  for (const [k, v] of Object.entries(obj)) {
    let value = v;
    if (typeof value === 'string' && value.length > 256) value = `${value.slice(0, 256)}…`;
    else if (value !== null && typeof value === 'object') {
      const text = JSON.stringify(value);
      if (text.length > 256) value = `${text.slice(0, 256)}…`;
    }
    const n = Buffer.byteLength(JSON.stringify(value)) + k.length + 4;
    if (size + n > maxBytes) continue;
    size += n;
    out[k] = value;
  }
  out['truncated'] = true;
  out['line_bytes'] = bytes;
  return JSON.stringify(out);
}
