// POST /v1/traces: an OTLP/HTTP trace receiver, as an OpenTelemetry Collector serves it. Bodies in protobuf
// (application/x-protobuf) or JSON (application/json), plain or gzip/deflate encoded, bounded before and after
// decompression by server.bodyLimit (at most OTLP_BODY_LIMIT: a body is decoded in one go on the event loop, so a
// huge one would stall other requests; exporters send batches of 512 spans, well under it). A body that does not decode is answered 400 and nothing of it is stored.
//
// Spans that are LLM calls (map.ts) become LlmCall records and go through the recorder, the same path as
// /api/ingest: priced, counted, stored. The other spans of the same trace in the export (agent steps, tool calls,
// retrieval) are kept with the trace's first call of the export (at most MAX_TRACE_SPANS per trace), so its trace
// page draws the whole waterfall. A call's id comes from its trace and span ids: a re-sent export counts once
// (ids already stored or seen lately are skipped). Spans that cannot be taken (bad ids or times) are rejected and
// reported in the answer's partial_success; every span is counted in llmscope_otlp_spans_total{result}.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { Counter, type Registry } from 'prom-client';
import {
  claimedElsewhere,
  type IdClaim,
  INGEST_ROOM_WAIT_MS,
  knownIdsInTurns,
  overloaded,
  RECORD_TURN_TEXT,
  textToRedact,
} from '../api/ingest.js';
import { spanToWire } from '../api/requests.js';
import { type LlmCall, RecentIds, type Recorder, type SpanRecord } from '../calls/index.js';
import { LlmscopeError } from '../errors.js';
import { dropRest, readBody } from '../http/index.js';
import { parseJsonInTurns, Turns } from '../http/json-stream.js';
import type { Store } from '../store/store.js';
import { AncestorWalk } from './ancestors.js';
import { decodeJsonInTurns } from './json.js';
import {
  type Attributed,
  httpStatusOfSpan,
  invalidReason,
  isLlmSpan,
  type ModelProvider,
  metadataOfSpan,
  spanToCall,
  toSpanRecord,
  USER_ATTRIBUTE_KEYS,
  usageProblem,
  withModelProvider,
} from './map.js';
import { MalformedOtlpError, type OtlpSpan } from './model.js';
import { decodeProtobufInTurns, encodeProtobufResponse } from './proto.js';
import type { Claimed, TraceSpanStore } from './storage/types.js';

/**
 * The largest OTLP body taken, compressed or decompressed, whatever server.bodyLimit allows: the OpenTelemetry
 * Collector's OTLP/HTTP receiver's default (confighttp max_request_body_size, 20 MiB), so an export a Collector takes is
 * taken here too.
 */
export const OTLP_BODY_LIMIT = 20 * 1024 * 1024;
/** Spans kept with one trace from one export, besides its calls' own (the rest are counted as dropped). */
export const MAX_TRACE_SPANS = 256;
/** Calls an export records in one turn at most (the recorder enriches a turn's calls in one go in the next). */
const RECORD_TURN = 256;
/** Traces claimed in the trace span store at once (claimInTurns). */
const CLAIM_AT_ONCE = 2048;
/** Call ids remembered after they were recorded, so a retry arriving before the store has them counts once. */
const RECENT_IDS = 100_000;

/** Failed HTTP client spans remembered (by their parent) for a failed LLM span that arrives in a later export. */
const HTTP_FAILURES = 10_000;

/** Spans of a trace with no call yet are kept this long for one to arrive (then forgotten). */
export const PENDING_MS = 15 * 60_000;
const PRUNE_EVERY_MS = 60_000;

export type SpanResult = 'call' | 'duplicate' | 'trace' | 'pending' | 'dropped' | 'unrecognised' | 'rejected';
export const SPAN_RESULTS: readonly SpanResult[] = [
  'call',
  'duplicate',
  'trace',
  'pending',
  'dropped',
  'unrecognised',
  'rejected',
];

/**
 * Why an export was refused whole (nothing of it read as spans or log records), by its error: the reasons of
 * llmscope_otlp_exports_refused_total (/v1/traces) and llmscope_otlp_log_exports_refused_total (/v1/logs).
 */
const EXPORT_REFUSALS: Partial<Record<string, 'too_large' | 'invalid_body' | 'unsupported_media_type'>> = {
  LLMSCOPE_ERR_BODY_TOO_LARGE: 'too_large',
  LLMSCOPE_ERR_INVALID_BODY: 'invalid_body',
  LLMSCOPE_ERR_UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
};

/**
 * A counter of exports refused whole, by reason, each reason at 0 from the start. An export refused whole is lost to
 * the app (exporters retry only 429/502/503/504) and was seen nowhere else here: counted, so an operator sees the
 * calls that never arrived (a batch past 20 MiB of captured prompts).
 */
export function exportRefusals(name: string, help: string, registry: Registry): (err: unknown) => void {
  const counter = new Counter({ name, help, labelNames: ['reason'], registers: [registry] });
  for (const r of new Set(Object.values(EXPORT_REFUSALS))) if (r) counter.inc({ reason: r }, 0);
  return (err) => {
    const reason = err instanceof LlmscopeError ? EXPORT_REFUSALS[err.code] : undefined;
    if (reason) counter.inc({ reason });
  };
}

/** Answers an export taken (whole or in part) in the encoding it came in: `protobuf` or `json`, already encoded. */
export function answerExport(
  res: ServerResponse,
  format: Format,
  protobuf: () => Uint8Array,
  json: () => object,
): void {
  const out = format === 'protobuf' ? protobuf() : Buffer.from(JSON.stringify(json()));
  res.writeHead(200, {
    'content-type': format === 'protobuf' ? 'application/x-protobuf' : 'application/json',
    'content-length': out.length,
  });
  res.end(out);
}

export interface OtlpReceiverOptions {
  /** With holdRoom (a real Recorder), exports wait for room in the ledgers' lanes (backpressure). */
  recorder: Pick<Recorder, 'record'> & Partial<Pick<Recorder, 'holdRoom'>>;
  store: Pick<Store, 'knownIds'>;
  /** Replicas on one PostgreSQL: claims the span ids an export records, so one re-sent to another replica at once counts once. */
  claim?: IdClaim;
  /** How long an export waits for room in the ledgers' lanes before it gets 503 (default: /api/ingest's 10 s). */
  roomWaitMs?: number;
  registry: Registry;
  /** Largest body taken, compressed or not (server.bodyLimit). */
  bodyLimit: number;
  /**
   * Keeps the spans of a trace that come in another export than its calls (without it, such spans are only
   * counted as unrecognised).
   */
  traceSpans?: TraceSpanStore;
  /** How long kept trace spans live (storage.retention.raw, as the calls). */
  retainMs?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
  /** How many recorded call ids are remembered for spotting re-sent exports (default 100,000; tests set fewer). */
  recentIds?: number;
  /**
   * Who serves a model (the price catalog's provider, when the cost capability is loaded): a call whose span names an
   * agent framework as its provider is recorded under the model's (decision 165, withModelProvider).
   */
  providerOfModel?: ModelProvider;
  /** Redacts a span an app sent before it is kept beside its trace (privacy.redact): calls' spans are redacted by the recorder. */
  redactSpan?: (span: SpanRecord) => void;
}

export interface ExportOutcome {
  counts: Record<SpanResult, number>;
  requestIds: string[];
  rejectedMessage: string;
}

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

export type Format = 'protobuf' | 'json';

export function formatOf(req: IncomingMessage, route = '/v1/traces', limit = 0): Format {
  const ct = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (ct === 'application/x-protobuf' || ct === 'application/protobuf') return 'protobuf';
  if (ct === 'application/json') return 'json';
  // its rest: at most `limit` more (1 MiB at least), then a lingering close (before: read and dropped without end)
  dropRest(req, limit);
  throw new LlmscopeError(
    'LLMSCOPE_ERR_UNSUPPORTED_MEDIA_TYPE',
    `${route} takes OTLP/HTTP as application/x-protobuf or application/json, got ${ct ? `"${ct}"` : 'no content-type'}`,
  );
}

/** An export over the limit, saying what helps: smaller batches, or a larger server.bodyLimit only while it is the bound. */
export function tooLarge(bodyLimit: number, decoded = ''): LlmscopeError {
  const limit = Math.min(bodyLimit, OTLP_BODY_LIMIT);
  return new LlmscopeError(
    'LLMSCOPE_ERR_BODY_TOO_LARGE',
    `the ${decoded}export is larger than the limit of ${limit} bytes; export smaller batches (the exporter's maxExportBatchSize)${
      bodyLimit < OTLP_BODY_LIMIT
        ? ` or raise server.bodyLimit (OTLP takes at most ${OTLP_BODY_LIMIT} bytes)`
        : ` (OTLP takes at most ${OTLP_BODY_LIMIT} bytes, whatever server.bodyLimit says)`
    }`,
  );
}

export async function decompress(
  req: IncomingMessage,
  body: Buffer,
  limit: number,
  bodyLimit: number,
  route = '/v1/traces',
): Promise<Buffer> {
  const enc = String(req.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  if (enc === 'identity' || enc === '') return body;
  if (enc !== 'gzip' && enc !== 'deflate')
    throw new LlmscopeError(
      'LLMSCOPE_ERR_UNSUPPORTED_MEDIA_TYPE',
      `${route} takes content-encoding gzip or deflate (or none), got "${enc}"`,
    );
  try {
    return await (enc === 'gzip' ? gunzipAsync : inflateAsync)(body, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError)
      throw tooLarge(bodyLimit, `${enc}-decoded `);
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_BODY',
      `the body is not valid ${enc} data (${(err as Error).message}); nothing was stored`,
    );
  }
}

export class OtlpReceiver {
  private readonly spansTotal: Counter<'result'>;
  private readonly countRefusal: (err: unknown) => void;
  private readonly recent: RecentIds;
  /** The parents (trace id and span id) of recent calls' spans: an LLM span among them wraps a call already taken. */
  private readonly callParents: RecentIds;
  /** Recent calls' own spans (trace id and span id): an LLM span under one is wrapped by a call already taken. */
  private readonly callSpans: RecentIds;
  /** Call ids of exports being taken now (between their duplicate check and their recording). */
  private readonly taking = new Set<string>();
  /**
   * The 4xx/5xx status of recent failed HTTP client spans, by their parent (trace id and span id): a failed LLM span
   * that says no status (the AI SDK's doGenerate on an APICallError) takes its child's. The child ends first, so it
   * comes in the same export or an earlier one; the oldest of HTTP_FAILURES are forgotten.
   */
  private readonly httpFailures = new Map<string, number>();

  constructor(private readonly opts: OtlpReceiverOptions) {
    this.recent = new RecentIds(opts.recentIds ?? RECENT_IDS);
    this.callParents = new RecentIds(opts.recentIds ?? RECENT_IDS);
    this.callSpans = new RecentIds(opts.recentIds ?? RECENT_IDS);
    this.spansTotal = new Counter({
      name: 'llmscope_otlp_spans_total',
      help: 'Spans received on /v1/traces, by what became of them: call (recorded as an LLM call), duplicate (a call already recorded), trace (kept with its trace), pending (kept until a call of its trace arrives), dropped (over the per-trace bound), unrecognised (not a call and not kept), rejected (invalid: ids, times, metadata or token counts; named in partial_success)',
      labelNames: ['result'],
      registers: [opts.registry],
    });
    for (const r of SPAN_RESULTS) this.spansTotal.inc({ result: r }, 0);
    this.countRefusal = exportRefusals(
      'llmscope_otlp_exports_refused_total',
      'Exports to /v1/traces refused whole, their spans never read (the exporter drops them: it retries only 429/502/503/504), by reason: too_large (past server.bodyLimit or 20 MiB, compressed or decompressed), invalid_body (not an OTLP export, bad gzip), unsupported_media_type',
      opts.registry,
    );
  }

  /** Remembers a failed span's HTTP status (4xx/5xx) under its parent. */
  private noteHttpFailure(s: OtlpSpan): void {
    const code = httpStatusOfSpan(s);
    if (code === null || code < 400 || code > 599) return;
    const key = `${s.traceId}-${s.parentSpanId}`;
    this.httpFailures.delete(key);
    this.httpFailures.set(key, code);
    if (this.httpFailures.size > HTTP_FAILURES)
      this.httpFailures.delete(this.httpFailures.keys().next().value as string);
  }

  /** The HTTP status of a failed client span under `s`, if one came (taken: it is read once). */
  private childHttpFailure(s: OtlpSpan): number | null {
    if (this.httpFailures.size === 0) return null;
    const key = `${s.traceId}-${s.spanId}`;
    const code = this.httpFailures.get(key);
    if (code === undefined) return null;
    this.httpFailures.delete(key);
    return code;
  }

  /** Handles one POST /v1/traces. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let decoded: { format: Format; spans: OtlpSpan[]; turns: Turns };
    try {
      decoded = await this.decodeExport(req);
    } catch (err) {
      this.countRefusal(err);
      throw err;
    }
    const { format, spans, turns } = decoded;
    const outcome = await this.accept(spans, turns);
    const rejected = outcome.counts.rejected;
    answerExport(
      res,
      format,
      () => encodeProtobufResponse(rejected, outcome.rejectedMessage),
      () =>
        rejected > 0
          ? { partialSuccess: { rejectedSpans: String(rejected), errorMessage: outcome.rejectedMessage } }
          : {},
    );
  }

  /** Reads, decompresses and decodes one export request. */
  private async decodeExport(req: IncomingMessage): Promise<{ format: Format; spans: OtlpSpan[]; turns: Turns }> {
    const limit = Math.min(this.opts.bodyLimit, OTLP_BODY_LIMIT);
    const format = formatOf(req, '/v1/traces', limit);
    const raw = await readBody(req, limit).catch((err: unknown) => {
      throw err instanceof LlmscopeError && err.code === 'LLMSCOPE_ERR_BODY_TOO_LARGE'
        ? tooLarge(this.opts.bodyLimit)
        : err;
    });
    const body = await decompress(req, raw, limit, this.opts.bodyLimit);
    // A large export (20 MiB: 25,000-50,000 spans) is parsed, decoded, sorted and recorded a few ms at a time, with the
    // event loop handed back between turns: decoded in one go it held the loop ~1.8-2 s on a busy 2-core host.
    const turns = new Turns();
    let spans: OtlpSpan[];
    try {
      spans =
        format === 'protobuf'
          ? await decodeProtobufInTurns(body, turns)
          : await decodeJsonInTurns(await parseJsonBodyInTurns(body), turns);
    } catch (err) {
      if (err instanceof MalformedOtlpError)
        throw new LlmscopeError('LLMSCOPE_ERR_INVALID_BODY', `${err.message}; nothing was stored`);
      throw err;
    }
    return { format, spans, turns };
  }

  /**
   * Records the calls among `spans` and keeps their traces' other spans; returns what became of each span. Hands the
   * event loop back between `turns`.
   */
  async accept(spans: readonly OtlpSpan[], turns = new Turns()): Promise<ExportOutcome> {
    const counts: Record<SpanResult, number> = {
      call: 0,
      duplicate: 0,
      trace: 0,
      pending: 0,
      dropped: 0,
      unrecognised: 0,
      rejected: 0,
    };
    const reasons = new Map<string, number>();
    const calls: LlmCall[] = [];
    const others: OtlpSpan[] = [];
    let llmSpans: [OtlpSpan, ReturnType<typeof metadataOfSpan> | null][] | null = null;
    // Spans of this export around a call of an earlier one (its parent, or an ancestor of it, remembered in
    // callParents): their own parents wrap that call too (decision 168: Strands' agent span two levels up).
    let aroundCalls: OtlpSpan[] | null = null;
    for (let i = 0; i < spans.length; i++) {
      if (turns.due(i)) await turns.next();
      const s = spans[i] as OtlpSpan;
      const invalid = invalidReason(s);
      const llm = invalid === null && isLlmSpan(s);
      const meta = llm ? metadataOfSpan(s) : null;
      const why = invalid ?? (llm ? (usageProblem(s) ?? meta?.problem ?? null) : null);
      if (why !== null) {
        counts.rejected++;
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      } else if (llm) {
        llmSpans ??= [];
        llmSpans.push([s, meta]);
      } else {
        others.push(s);
        // (an HTTP client span that failed need not say ERROR: some instrumentations set it for 5xx only)
        if (s.parentSpanId !== null) {
          this.noteHttpFailure(s);
          if (this.callParents.size > 0 && this.callParents.has(`${s.traceId}-${s.spanId}`)) {
            aroundCalls ??= [];
            aroundCalls.push(s);
          }
        }
      }
    }
    if (llmSpans !== null || aroundCalls !== null) {
      // One model call seen by two instrumentations (OpenInference's LangChain or LlamaIndex LLM span around the
      // OpenAI SDK's own, both with its tokens), or a framework's span that names the model it runs (old Strands'
      // agent span, two levels above its model calls): the innermost LLM span is the call, an LLM span around another
      // (at any depth: decision 168) is kept with the trace, so the call counts once. The wrapper ends after the call
      // it wraps, so it comes in the same export or a later one: the ancestors of recent calls are remembered for that.
      // (this runs in one turn, so its calls are told apart from another export's as one; only the calls are made in
      // turns after it)
      const calling = llmSpans;
      const around = aroundCalls;
      const walk = new AncestorWalk(this.callParents, this.callSpans, function* () {
        // (only the traces with a call or a span around one: an app's other traces in the export are not walked)
        const traces = new Set<string>();
        for (const [s] of calling ?? []) traces.add(s.traceId);
        for (const s of around ?? []) traces.add(s.traceId);
        for (const [s] of calling ?? []) yield s;
        for (const s of others) if (traces.has(s.traceId)) yield s;
      });
      for (const [s] of llmSpans ?? []) walk.up(s);
      for (const s of aroundCalls ?? []) walk.up(s);
      const taken: [OtlpSpan, ReturnType<typeof metadataOfSpan> | null, number | null, Attributed | null][] = [];
      for (const [s, meta] of llmSpans ?? []) {
        // (no key made when no parent is known: root spans under nothing remembered, as an app's own calls often are)
        const self = walk.size > 0 || this.callParents.size > 0 ? `${s.traceId}-${s.spanId}` : null;
        if (self !== null && (walk.wraps(self) || this.callParents.has(self))) {
          others.push(s);
          continue;
        }
        // The wrapper came first, in an earlier export (another exporter's, or concurrent exports landing out of
        // order): it was taken as the call, so this inner span is kept with the trace instead of counting again.
        if (walk.underCall(s)) {
          others.push(s);
          continue;
        }
        this.callSpans.add(`${s.traceId}-${s.spanId}`);
        taken.push([s, meta, s.status.code === 2 ? this.childHttpFailure(s) : null, walk.inherited(s)]);
      }
      for (let i = 0; i < taken.length; i++) {
        if (turns.due(i)) await turns.next();
        const [s, meta, httpFailure, inherited] = taken[i] as (typeof taken)[number];
        calls.push(
          withModelProvider(spanToCall(s, meta?.metadata ?? null, httpFailure, inherited), this.opts.providerOfModel),
        );
      }
    }
    // As for /api/ingest: an export whose calls the ledgers' lanes cannot take waits for them to drain, and is refused
    // (503, Retry-After: the exporter retries, and ids make a retry count once) before anything of it is kept.
    const waitMs = this.opts.roomWaitMs ?? INGEST_ROOM_WAIT_MS;
    const hold = this.opts.recorder.holdRoom?.bind(this.opts.recorder);
    const release = hold && calls.length > 0 ? await hold(calls.length, waitMs) : () => {};
    if (!release) throw overloaded(waitMs);
    try {
      return await this.acceptHeld(calls, others, counts, reasons, turns);
    } finally {
      release();
    }
  }

  private async acceptHeld(
    calls: LlmCall[],
    others: OtlpSpan[],
    counts: Record<SpanResult, number>,
    reasons: Map<string, number>,
    turns: Turns,
  ): Promise<ExportOutcome> {
    // Ids this export takes are claimed before its first wait, so an export re-sent while this one still waits on
    // the store (an exporter's retry after its timeout) finds them taken and counts them as duplicates.
    const taking: LlmCall[] = [];
    for (const c of calls) {
      if (this.recent.has(c.requestId) || this.taking.has(c.requestId)) counts.duplicate++;
      else {
        this.taking.add(c.requestId);
        taking.push(c);
      }
    }
    try {
      return await this.acceptTaking(taking, others, counts, reasons, turns);
    } finally {
      for (const c of taking) this.taking.delete(c.requestId);
    }
  }

  private async acceptTaking(
    calls: LlmCall[],
    others: OtlpSpan[],
    counts: Record<SpanResult, number>,
    reasons: Map<string, number>,
    turns: Turns,
  ): Promise<ExportOutcome> {
    const ids = calls.map((c) => c.requestId);
    // Observability fails open: when the store cannot be asked, the calls are recorded (the store still dedups).
    const known = await knownIdsInTurns(this.opts.store, ids, turns);
    if (this.opts.claim) for (const id of await claimedElsewhere(this.opts.claim, ids, known)) known.add(id);
    const fresh: LlmCall[] = [];
    for (const c of calls) {
      if (known.has(c.requestId)) {
        counts.duplicate++;
        continue;
      }
      // (each id once: acceptHeld took them through `taking`)
      fresh.push(c);
    }
    if (others.length === 0) return this.acceptCalls(fresh, counts, reasons, turns);
    const byTrace = new Map<string, { calls: LlmCall[]; others: SpanRecord[] }>();
    const group = (t: string) => {
      const had = byTrace.get(t);
      if (had) return had;
      const g = { calls: [] as LlmCall[], others: [] as SpanRecord[] };
      byTrace.set(t, g);
      return g;
    };
    for (const c of fresh) group(c.traceId as string).calls.push(c);
    for (const s of others) {
      const rec = toSpanRecord(s);
      this.opts.redactSpan?.(rec);
      group(s.traceId).others.push(rec);
    }
    const store = this.opts.traceSpans;
    const now = (this.opts.now ?? Date.now)();
    // A trace's earliest new call carries its other spans (this export's and those that came before it), and
    // becomes its anchor for those that come later, unless the trace has one: claiming (one write for the export)
    // tells which, and gives the anchor a trace already had, so only traces without a call here are looked up.
    const earliest = new Map<string, LlmCall>();
    const lookUp: string[] = [];
    for (const [traceId, g] of byTrace)
      if (g.calls.length > 0)
        earliest.set(
          traceId,
          g.calls.reduce((a, c) => (c.startedAt < a.startedAt ? c : a)),
        );
      else if (g.others.length > 0) lookUp.push(traceId);
    const anchors =
      store && lookUp.length > 0
        ? await store.anchors(lookUp).catch(this.failed(new Map<string, string>()))
        : new Map<string, string>();
    const claimed: Claimed =
      store && earliest.size > 0
        ? await this.claimInTurns(
            store,
            [...earliest].map(([traceId, c]) => ({ traceId, requestId: c.requestId })),
            now,
            turns,
          )
        : { pending: new Map(), anchored: new Map() };
    const firsts = new Map<string, LlmCall>();
    for (const [traceId, c] of earliest) {
      const had = claimed.anchored.get(traceId);
      if (had === undefined) firsts.set(traceId, c);
      else anchors.set(traceId, had);
    }
    for (const [traceId, g] of byTrace) {
      const anchor = anchors.get(traceId);
      const first = firsts.get(traceId);
      if (first) {
        const pending = claimed.pending.get(traceId) ?? [];
        if (g.others.length === 0 && pending.length === 0) continue;
        const have = new Set(first.spans.map((x) => x.spanId));
        for (const x of g.others) {
          if (have.size > MAX_TRACE_SPANS) counts.dropped++;
          else if (have.has(x.spanId)) counts.duplicate++;
          else {
            have.add(x.spanId);
            first.spans.push(x);
            counts.trace++;
          }
        }
        // pending spans were counted when they came
        for (const x of pending)
          if (have.size <= MAX_TRACE_SPANS && !have.has(x.spanId)) {
            have.add(x.spanId);
            first.spans.push(x);
          }
      } else if (g.others.length > 0) {
        // Before any call of the trace, only spans an AI instrumentation made wait for one: an app exporting all its
        // traces here does not fill the database with its HTTP and database spans.
        const keep = anchor === undefined ? g.others.filter(isAiSpanRecord) : g.others;
        counts.unrecognised += g.others.length - keep.length;
        if (!store || keep.length === 0) {
          counts.unrecognised += keep.length;
          continue;
        }
        // After the trace's calls (kept beside its anchor call), or before any (pending until one arrives).
        const r = await store
          .add(traceId, anchor ?? null, keep, MAX_TRACE_SPANS, now)
          .catch(this.failed({ kept: 0, duplicates: 0 }));
        counts[anchor === undefined ? 'pending' : 'trace'] += r.kept;
        counts.duplicate += r.duplicates;
        counts.dropped += keep.length - r.kept - r.duplicates;
      }
    }
    return this.recordFresh(fresh, counts, reasons, now, turns);
  }

  /**
   * An export of calls only (no other spans): each trace's earliest call claims it, and takes the trace's pending
   * spans if it becomes the anchor; the same outcome as acceptTaking's general path gives such an export, without
   * grouping the calls by trace first.
   */
  private async acceptCalls(
    fresh: LlmCall[],
    counts: Record<SpanResult, number>,
    reasons: Map<string, number>,
    turns: Turns,
  ): Promise<ExportOutcome> {
    const store = this.opts.traceSpans;
    const now = (this.opts.now ?? Date.now)();
    if (store && fresh.length > 0) {
      // the first of a trace's earliest calls, as acceptTaking's reduce keeps it; traces in the order they first came
      const earliest = new Map<string, LlmCall>();
      for (const c of fresh) {
        const t = c.traceId as string;
        const e = earliest.get(t);
        if (e === undefined || c.startedAt < e.startedAt) earliest.set(t, c);
      }
      const claimed = await this.claimInTurns(
        store,
        [...earliest].map(([traceId, c]) => ({ traceId, requestId: c.requestId })),
        now,
        turns,
      );
      for (const [traceId, pending] of claimed.pending) {
        const first = earliest.get(traceId);
        if (first === undefined || claimed.anchored.has(traceId) || pending.length === 0) continue;
        // pending spans were counted when they came
        const have = new Set(first.spans.map((x) => x.spanId));
        for (const x of pending)
          if (have.size <= MAX_TRACE_SPANS && !have.has(x.spanId)) {
            have.add(x.spanId);
            first.spans.push(x);
          }
      }
    }
    return this.recordFresh(fresh, counts, reasons, now, turns);
  }

  /**
   * Records the export's new calls, prunes now and then, counts the spans; the export's outcome. At most RECORD_TURN
   * calls are recorded in one turn: the recorder enriches a turn's calls all at once in the next.
   */
  private async recordFresh(
    fresh: LlmCall[],
    counts: Record<SpanResult, number>,
    reasons: Map<string, number>,
    now: number,
    turns: Turns,
  ): Promise<ExportOutcome> {
    const store = this.opts.traceSpans;
    const requestIds: string[] = [];
    let turnCalls = 0;
    let turnText = 0;
    for (let i = 0; i < fresh.length; i++) {
      // (and at most RECORD_TURN_TEXT characters the privacy enricher scans: spans with their prompts and outputs)
      if (turnCalls === RECORD_TURN || turnText >= RECORD_TURN_TEXT || turns.due(i)) {
        await turns.next();
        turnCalls = 0;
        turnText = 0;
      }
      const c = fresh[i] as LlmCall;
      this.remember(c.requestId);
      requestIds.push(c.requestId);
      counts.call++;
      this.opts.recorder.record(c);
      turnCalls++;
      turnText += textToRedact(c);
    }
    if (store && now - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = now;
      void store.prune(now - (this.opts.retainMs ?? 30 * 86_400_000), now - PENDING_MS).catch(this.failed(0));
    }
    for (const r of SPAN_RESULTS) if (counts[r] > 0) this.spansTotal.inc({ result: r }, counts[r]);
    const rejectedMessage = [...reasons].map(([why, n]) => `${n} span${n === 1 ? '' : 's'}: ${why}`).join('; ');
    return { counts, requestIds, rejectedMessage };
  }

  /**
   * A detail extra (`ctx.detailExtras`): the spans of the call's trace that came after it, on the trace's anchor
   * call, merged into its `spans` (each span once), so its page and its trace's page draw the whole waterfall.
   */
  readonly detailExtra = async (requestId: string, call: LlmCall): Promise<Record<string, unknown>> => {
    const store = this.opts.traceSpans;
    if (!store || !call.traceId || !requestId.startsWith('otlp-')) return {};
    const later = await store.spansOf(call.traceId, requestId);
    if (later.length === 0) return {};
    const have = new Set(call.spans.map((s) => s.spanId));
    return { spans: [...call.spans, ...later.filter((s) => !have.has(s.spanId))].map(spanToWire) };
  };

  /**
   * For DELETE /api/users/{id}/data (`ctx.erasers`): the trace spans kept beside the erased user's calls go with
   * them (they may carry the user's id in their attributes), and so do the spans kept anywhere whose attributes name
   * the user: an agent's span that came after the erase (waiting for a call of its trace), or one kept beside another
   * user's call of the trace.
   */
  readonly eraser = {
    name: 'otlp',
    erase: async (user: string, requestIds: readonly string[]): Promise<Record<string, number>> => {
      const store = this.opts.traceSpans;
      if (!store) return { trace_spans: 0 };
      const beside = await store.eraseCalls(requestIds);
      return { trace_spans: beside + (await store.eraseNaming(user, USER_ATTRIBUTE_KEYS)) };
    },
  };

  private prunedAt = 0;

  /**
   * store.claim, CLAIM_AT_ONCE traces at a time with the event loop handed back between turns (an export of 40,000
   * calls, each its own trace: SQLite claims on the event loop). Each trace is claimed once, in one of the parts, so
   * the parts together claim what one call would; a part that fails claims nothing (reported), as the whole did.
   */
  private async claimInTurns(
    store: TraceSpanStore,
    anchors: readonly { traceId: string; requestId: string }[],
    now: number,
    turns: Turns,
  ): Promise<Claimed> {
    const none = (): Claimed => ({ pending: new Map(), anchored: new Map() });
    if (anchors.length <= CLAIM_AT_ONCE) return store.claim(anchors, now).catch(this.failed(none()));
    const all = none();
    for (let at = 0; at < anchors.length; at += CLAIM_AT_ONCE) {
      if (turns.spent()) await turns.next();
      const part = await store.claim(anchors.slice(at, at + CLAIM_AT_ONCE), now).catch(this.failed(none()));
      for (const [k, v] of part.pending) all.pending.set(k, v);
      for (const [k, v] of part.anchored) all.anchored.set(k, v);
    }
    return all;
  }

  private failed<T>(fallback: T): (err: unknown) => T {
    return (err) => {
      this.opts.onError?.(err);
      return fallback;
    };
  }

  /** A call id this export took (`taking`, after `recent` said no) and recorded: not remembered before. */
  private remember(id: string): void {
    this.recent.addNew(id);
  }
}

/** Attributes only AI instrumentations (and llmscope's own namespace) set. */
const AI_ATTRIBUTE = /^(gen_ai|llm|ai|openinference|traceloop|llmscope|retrieval|embedding|reranker|tool)\./;
const isAiSpanRecord = (s: SpanRecord): boolean => Object.keys(s.attributes).some((k) => AI_ATTRIBUTE.test(k));

/** parseJson, for a body over 1 MiB parsed piece by piece with the event loop handed back between turns. */
async function parseJsonBodyInTurns(body: Buffer): Promise<unknown> {
  try {
    return await parseJsonInTurns(body);
  } catch (err) {
    throw new MalformedOtlpError(`the body is not valid JSON (${(err as Error).message})`);
  }
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new MalformedOtlpError(`the body is not valid JSON (${(err as Error).message})`);
  }
}
