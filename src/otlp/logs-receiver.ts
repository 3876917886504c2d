// POST /v1/logs: an OTLP/HTTP logs receiver for the coding agents that describe their model calls in log events
// instead of spans (Claude Code, Codex; logs-map.ts). Same encodings, compression, limits and errors as /v1/traces
// (receiver.ts): protobuf or JSON, gzip or deflate, bounded by server.bodyLimit (at most OTLP_BODY_LIMIT), a body that
// does not decode is answered 400 and nothing of it is stored. Model-call records become LlmCall records through the
// recorder (priced from the catalog, counted, stored); a re-sent export counts once (ids from the records' content,
// remembered lately and checked against the store); every record is counted in llmscope_otlp_logs_total{result}.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import { claimedElsewhere, type IdClaim, INGEST_ROOM_WAIT_MS, overloaded } from '../api/ingest.js';
import { type LlmCall, RecentIds, type Recorder } from '../calls/index.js';
import { LlmscopeError } from '../errors.js';
import { readBody } from '../http/index.js';
import type { Store } from '../store/store.js';
import { decodeLogsJson, decodeLogsProtobuf, encodeLogsProtobufResponse, type OtlpLogRecord } from './logs-decode.js';
import { logToOutcome } from './logs-map.js';
import { MalformedOtlpError } from './model.js';
import {
  answerExport,
  decompress,
  exportRefusals,
  type Format,
  formatOf,
  OTLP_BODY_LIMIT,
  parseJson,
  tooLarge,
} from './receiver.js';

export type LogResult = 'call' | 'duplicate' | 'unrecognised' | 'rejected';
export const LOG_RESULTS: readonly LogResult[] = ['call', 'duplicate', 'unrecognised', 'rejected'];

/** Codex requests whose response has not come yet, remembered per conversation (bounded). */
const MAX_OPEN_REQUESTS = 10_000;
/**
 * How long a Codex response whose request event has not been seen waits for it before it is recorded with latency 0:
 * the exporter's batches are sent concurrently, so a batch boundary between a request and its response can bring the
 * response first, by a few milliseconds.
 */
export const CODEX_REQUEST_WAIT_MS = 2_000;
/** At most this many Codex responses wait for their request at once; past it the oldest is recorded as it is. */
const MAX_WAITING = 10_000;

interface Waiting {
  call: LlmCall;
  conversation: string;
  timer: NodeJS.Timeout;
}

export interface OtlpLogsReceiverOptions {
  recorder: Pick<Recorder, 'record'> & Partial<Pick<Recorder, 'holdRoom'>>;
  store: Pick<Store, 'knownIds'>;
  /** Replicas on one PostgreSQL: claims the ids an export records, so one re-sent to another replica at once counts once. */
  claim?: IdClaim;
  registry: Registry;
  bodyLimit: number;
  roomWaitMs?: number;
  /** How long a Codex response waits for its request's event (default CODEX_REQUEST_WAIT_MS). */
  requestWaitMs?: number;
  /** How many recorded call ids are remembered for spotting re-sent exports (default 100,000). */
  recentIds?: number;
}

export interface LogsOutcome {
  counts: Record<LogResult, number>;
  requestIds: string[];
  rejectedMessage: string;
}

export class OtlpLogsReceiver {
  private readonly total: Counter<'result'>;
  private readonly countRefusal: (err: unknown) => void;
  private readonly recent: RecentIds;
  private readonly taking = new Set<string>();
  /** Codex: conversation id → when its latest request began (ms). */
  private readonly codexStarts = new Map<string, number>();
  /** Codex responses taken (counted, not recorded yet) whose request's event has not come: by call id, oldest first. */
  private readonly waiting = new Map<string, Waiting>();

  constructor(private readonly opts: OtlpLogsReceiverOptions) {
    this.recent = new RecentIds(opts.recentIds ?? 100_000);
    this.total = new Counter({
      name: 'llmscope_otlp_logs_total',
      help: 'Log records received on /v1/logs, by what became of them: call (a model call recorded: Claude Code api_request / api_error, Codex response.completed or a failed request), duplicate (a call already recorded: a re-sent export), unrecognised (any other record), rejected (no time, a bad token count or metadata; named in partial_success)',
      labelNames: ['result'],
      registers: [opts.registry],
    });
    for (const r of LOG_RESULTS) this.total.inc({ result: r }, 0);
    this.countRefusal = exportRefusals(
      'llmscope_otlp_log_exports_refused_total',
      'Exports to /v1/logs refused whole, their log records never read (the exporter drops them: it retries only 429/502/503/504), by reason: too_large (past server.bodyLimit or 20 MiB, compressed or decompressed), invalid_body (not an OTLP export, bad gzip), unsupported_media_type',
      opts.registry,
    );
  }

  /** Handles one POST /v1/logs. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let decoded: { format: Format; records: OtlpLogRecord[] };
    try {
      decoded = await this.decodeExport(req);
    } catch (err) {
      this.countRefusal(err);
      throw err;
    }
    const { format, records } = decoded;
    const outcome = await this.accept(records);
    const rejected = outcome.counts.rejected;
    answerExport(
      res,
      format,
      () => encodeLogsProtobufResponse(rejected, outcome.rejectedMessage),
      () =>
        rejected > 0
          ? { partialSuccess: { rejectedLogRecords: String(rejected), errorMessage: outcome.rejectedMessage } }
          : {},
    );
  }

  /** Reads, decompresses and decodes one export request. */
  private async decodeExport(req: IncomingMessage): Promise<{ format: Format; records: OtlpLogRecord[] }> {
    const limit = Math.min(this.opts.bodyLimit, OTLP_BODY_LIMIT);
    const format = formatOf(req, '/v1/logs', limit);
    const raw = await readBody(req, limit).catch((err: unknown) => {
      throw err instanceof LlmscopeError && err.code === 'LLMSCOPE_ERR_BODY_TOO_LARGE'
        ? tooLarge(this.opts.bodyLimit)
        : err;
    });
    const body = await decompress(req, raw, limit, this.opts.bodyLimit, '/v1/logs');
    try {
      return {
        format,
        records: format === 'protobuf' ? decodeLogsProtobuf(body) : decodeLogsJson(parseJson(body)),
      };
    } catch (err) {
      if (err instanceof MalformedOtlpError)
        throw new LlmscopeError('LLMSCOPE_ERR_INVALID_BODY', `${err.message}; nothing was stored`);
      throw err;
    }
  }

  /** Records the model calls among `records`; returns what became of each record. */
  async accept(records: readonly OtlpLogRecord[]): Promise<LogsOutcome> {
    const counts: Record<LogResult, number> = { call: 0, duplicate: 0, unrecognised: 0, rejected: 0 };
    const reasons = new Map<string, number>();
    const calls: LlmCall[] = [];
    // Codex's request events come before their response's in time; an export may hold both.
    const ordered = [...records].sort((x, y) => (x.timeNs < y.timeNs ? -1 : x.timeNs > y.timeNs ? 1 : 0));
    // Codex responses whose request's event has not been seen: they wait for it (waitFor) once taken.
    const unmatched = new Map<LlmCall, string>();
    for (const r of ordered) {
      const o = logToOutcome(r, (conversation) => this.codexStarts.get(conversation));
      if (o.kind === 'call') {
        calls.push(o.call);
        // A request's start serves the one response that ends it; a later response without its own request waits.
        if (o.codex?.matched) this.codexStarts.delete(o.codex.conversation);
        else if (o.codex) unmatched.set(o.call, o.codex.conversation);
      } else if (o.kind === 'rejected') {
        counts.rejected++;
        reasons.set(o.why, (reasons.get(o.why) ?? 0) + 1);
      } else {
        counts.unrecognised++;
        if (o.kind === 'request' && !this.startWaiting(o.conversation, o.startedAt))
          this.rememberStart(o.conversation, o.startedAt);
      }
    }
    const waitMs = this.opts.roomWaitMs ?? INGEST_ROOM_WAIT_MS;
    const hold = this.opts.recorder.holdRoom?.bind(this.opts.recorder);
    const release = hold && calls.length > 0 ? await hold(calls.length, waitMs) : () => {};
    if (!release) throw overloaded(waitMs);
    const taking: LlmCall[] = [];
    try {
      for (const c of calls) {
        if (this.recent.has(c.requestId) || this.taking.has(c.requestId)) counts.duplicate++;
        else {
          this.taking.add(c.requestId);
          taking.push(c);
        }
      }
      const ids = taking.map((c) => c.requestId);
      const known =
        ids.length > 0 ? await this.opts.store.knownIds(ids).catch(() => new Set<string>()) : new Set<string>();
      if (this.opts.claim) for (const id of await claimedElsewhere(this.opts.claim, ids, known)) known.add(id);
      const requestIds: string[] = [];
      for (const c of taking) {
        if (known.has(c.requestId)) {
          counts.duplicate++;
          continue;
        }
        known.add(c.requestId);
        this.recent.add(c.requestId);
        requestIds.push(c.requestId);
        counts.call++;
        const conversation = unmatched.get(c);
        if (conversation === undefined) this.opts.recorder.record(c);
        else this.waitFor(c, conversation);
      }
      for (const r of LOG_RESULTS) if (counts[r] > 0) this.total.inc({ result: r }, counts[r]);
      const rejectedMessage = [...reasons].map(([why, n]) => `${n} log record${n === 1 ? '' : 's'}: ${why}`).join('; ');
      return { counts, requestIds, rejectedMessage };
    } finally {
      for (const c of taking) this.taking.delete(c.requestId);
      release();
    }
  }

  /** Codex responses waiting for their request's event (a moment at most). */
  get waitingCalls(): number {
    return this.waiting.size;
  }

  /** Records every Codex response still waiting for its request, as it is (latency 0): at shutdown. */
  releaseWaiting(): void {
    for (const id of [...this.waiting.keys()]) this.release(id);
  }

  /** Records now, as they are, the waiting Codex responses of end user `user` (an erase is about to run); how many. */
  releaseWaitingOf(user: string): number {
    let n = 0;
    for (const [id, w] of [...this.waiting])
      if (w.call.user === user) {
        this.release(id);
        n++;
      }
    return n;
  }

  /** A Codex response without its request's start waits for it (recorded with latency 0 if it does not come). */
  private waitFor(call: LlmCall, conversation: string): void {
    if (this.waiting.size >= MAX_WAITING) {
      const oldest = this.waiting.keys().next().value;
      if (oldest !== undefined) this.release(oldest);
    }
    const timer = setTimeout(() => this.release(call.requestId), this.opts.requestWaitMs ?? CODEX_REQUEST_WAIT_MS);
    timer.unref();
    this.waiting.set(call.requestId, { call, conversation, timer });
  }

  private release(id: string, call?: LlmCall): void {
    const w = this.waiting.get(id);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiting.delete(id);
    this.opts.recorder.record(call ?? w.call);
  }

  /**
   * A Codex request's event came after the response it started (a concurrent export): that response, the earliest of
   * the conversation's waiting ones that ended after the request began, is recorded with its latency. False if none
   * waits, and the start is remembered for the response to come.
   */
  private startWaiting(conversation: string, startedAt: number): boolean {
    let found: Waiting | undefined;
    for (const w of this.waiting.values())
      if (
        w.conversation === conversation &&
        w.call.endedAt >= startedAt &&
        (!found || w.call.endedAt < found.call.endedAt)
      )
        found = w;
    if (!found) return false;
    const latencyMs = found.call.endedAt - startedAt;
    this.release(found.call.requestId, { ...found.call, startedAt, latencyMs });
    return true;
  }

  private rememberStart(conversation: string, startedAt: number): void {
    this.codexStarts.delete(conversation);
    if (this.codexStarts.size >= MAX_OPEN_REQUESTS) {
      const oldest = this.codexStarts.keys().next().value;
      if (oldest !== undefined) this.codexStarts.delete(oldest);
    }
    this.codexStarts.set(conversation, startedAt);
  }
}
