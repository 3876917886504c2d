// POST /v1/logs: an OTLP/HTTP logs receiver for the coding agents that describe their model calls in log events
// instead of spans (Claude Code, Codex; logs-map.ts). Same encodings, compression, limits and errors as /v1/traces
// (receiver.ts): protobuf or JSON, gzip or deflate, bounded by server.bodyLimit (at most OTLP_BODY_LIMIT), a body that
// does not decode is answered 400 and nothing of it is stored. Model-call records become LlmCall records through the
// recorder (priced from the catalog, counted, stored); a re-sent export counts once (ids from the records' content,
// remembered lately and checked against the store); every record is counted in llmscope_otlp_logs_total{result}.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import { INGEST_ROOM_WAIT_MS, overloaded } from '../api/ingest.js';
import { type LlmCall, RecentIds, type Recorder } from '../calls/index.js';
import { LlmscopeError } from '../errors.js';
import { readBody } from '../http/index.js';
import type { Store } from '../store/store.js';
import { decodeLogsJson, decodeLogsProtobuf, encodeLogsProtobufResponse, type OtlpLogRecord } from './logs-decode.js';
import { logToOutcome } from './logs-map.js';
import { MalformedOtlpError } from './model.js';
import { decompress, formatOf, OTLP_BODY_LIMIT, parseJson, tooLarge } from './receiver.js';

export type LogResult = 'call' | 'duplicate' | 'unrecognised' | 'rejected';
export const LOG_RESULTS: readonly LogResult[] = ['call', 'duplicate', 'unrecognised', 'rejected'];

/** Codex requests whose response has not come yet, remembered per conversation (bounded). */
const MAX_OPEN_REQUESTS = 10_000;

export interface OtlpLogsReceiverOptions {
  recorder: Pick<Recorder, 'record'> & Partial<Pick<Recorder, 'holdRoom'>>;
  store: Pick<Store, 'knownIds'>;
  registry: Registry;
  bodyLimit: number;
  roomWaitMs?: number;
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
  private readonly recent: RecentIds;
  private readonly taking = new Set<string>();
  /** Codex: conversation id → when its latest request began (ms). */
  private readonly codexStarts = new Map<string, number>();

  constructor(private readonly opts: OtlpLogsReceiverOptions) {
    this.recent = new RecentIds(opts.recentIds ?? 100_000);
    this.total = new Counter({
      name: 'llmscope_otlp_logs_total',
      help: 'Log records received on /v1/logs, by what became of them: call (a model call recorded: Claude Code api_request / api_error, Codex response.completed or a failed request), duplicate (a call already recorded: a re-sent export), unrecognised (any other record), rejected (no time, a bad token count or metadata; named in partial_success)',
      labelNames: ['result'],
      registers: [opts.registry],
    });
    for (const r of LOG_RESULTS) this.total.inc({ result: r }, 0);
  }

  /** Handles one POST /v1/logs. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const format = formatOf(req, '/v1/logs');
    const limit = Math.min(this.opts.bodyLimit, OTLP_BODY_LIMIT);
    const raw = await readBody(req, limit).catch((err: unknown) => {
      throw err instanceof LlmscopeError && err.code === 'LLMSCOPE_ERR_BODY_TOO_LARGE'
        ? tooLarge(this.opts.bodyLimit)
        : err;
    });
    const body = await decompress(req, raw, limit, this.opts.bodyLimit, '/v1/logs');
    let records: OtlpLogRecord[];
    try {
      records = format === 'protobuf' ? decodeLogsProtobuf(body) : decodeLogsJson(parseJson(body));
    } catch (err) {
      if (err instanceof MalformedOtlpError)
        throw new LlmscopeError('LLMSCOPE_ERR_INVALID_BODY', `${err.message}; nothing was stored`);
      throw err;
    }
    const outcome = await this.accept(records);
    const rejected = outcome.counts.rejected;
    if (format === 'protobuf') {
      const out = encodeLogsProtobufResponse(rejected, outcome.rejectedMessage);
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': out.length });
      res.end(out);
      return;
    }
    const text = JSON.stringify(
      rejected > 0
        ? { partialSuccess: { rejectedLogRecords: String(rejected), errorMessage: outcome.rejectedMessage } }
        : {},
    );
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  /** Records the model calls among `records`; returns what became of each record. */
  async accept(records: readonly OtlpLogRecord[]): Promise<LogsOutcome> {
    const counts: Record<LogResult, number> = { call: 0, duplicate: 0, unrecognised: 0, rejected: 0 };
    const reasons = new Map<string, number>();
    const calls: LlmCall[] = [];
    // Codex's request events come before their response's in time; an export may hold both.
    const ordered = [...records].sort((x, y) => (x.timeNs < y.timeNs ? -1 : x.timeNs > y.timeNs ? 1 : 0));
    for (const r of ordered) {
      const o = logToOutcome(r, (conversation) => this.codexStarts.get(conversation));
      if (o.kind === 'call') calls.push(o.call);
      else if (o.kind === 'rejected') {
        counts.rejected++;
        reasons.set(o.why, (reasons.get(o.why) ?? 0) + 1);
      } else {
        counts.unrecognised++;
        if (o.kind === 'request') this.rememberStart(o.conversation, o.startedAt);
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
      const known = ids.length > 0 ? await this.opts.store.knownIds(ids).catch(() => new Set<string>()) : new Set();
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
        this.opts.recorder.record(c);
      }
      for (const r of LOG_RESULTS) if (counts[r] > 0) this.total.inc({ result: r }, counts[r]);
      const rejectedMessage = [...reasons].map(([why, n]) => `${n} log record${n === 1 ? '' : 's'}: ${why}`).join('; ');
      return { counts, requestIds, rejectedMessage };
    } finally {
      for (const c of taking) this.taking.delete(c.requestId);
      release();
    }
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
