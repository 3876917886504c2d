// POST /api/ingest: record LLM calls made outside the gateway, in the same snake_case record the API returns.
// Accepts one record, an array, or {"calls": [...]}; every record is validated and all problems are reported.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import {
  type AppliedPrice,
  arrivedInternals,
  BUILT_IN_TOOLS,
  type BuiltInTool,
  CALL_STATUSES,
  type CallInternals,
  ENDPOINTS,
  type LlmCall,
  METADATA_MAX_KEYS,
  METADATA_MAX_VALUE,
  metadataProblem,
  RecentIds,
  type Recorder,
  statusOf,
} from '../calls/index.js';
import { BILLING_UNITS, type BillingUnit, UNIT_ENDPOINTS, unitsEvent, unitsUnknownEvent } from '../calls/units.js';
import { formsError, LlmscopeError, missingIsRequired } from '../errors.js';
import { dropRest } from '../http/body.js';
import { fromZod, parseBody, readJson, sendJson } from '../http/index.js';
import { type ListLimit, TooManyItems, Turns } from '../http/json-stream.js';
import type { Store } from '../store/store.js';
import { uuidv7 } from '../telemetry/ids.js';
import { MAX_ISO_MS } from '../time.js';
import { checkIngestBodyInTurns, MAX_CALL_COST_USD } from './ingest-check.js';

// Epoch ms as far as an ISO date-time reaches, and durations as long: a call's end (its start + latency_ms) stays a
// time a Date can hold, and its generated request id (a UUIDv7, 48 bits of ms) can be made.
// An ISO time before 1970 is refused as a negative epoch ms is (its UUIDv7 request id cannot be made: it answered 500).
// A time that is none of these is told the forms it takes, and an absent started_at that it is required (zod's own
// words for a union were 'Invalid input'; the 1970 check, run on a string that did not parse, spoke of 1970: QA33).
const TIME_FORMS = 'an ISO 8601 date-time with Z or an offset (e.g. 2026-01-31T12:00:00Z) or epoch milliseconds';
const isoFrom1970 = z.iso
  .datetime({ offset: true, error: `expected ${TIME_FORMS}` })
  .refine((t) => !(Date.parse(t) < 0), 'must not be before 1970');
const time = z.union([isoFrom1970, z.number().nonnegative().max(MAX_ISO_MS)], {
  error: formsError(TIME_FORMS),
});
const count = z.number().int().nonnegative().nullable().optional();
const ms = z.number().nonnegative().max(MAX_ISO_MS).nullable().optional();
const text = z.string().max(256).nullable().optional();

const toMs = (t: string | number): number => (typeof t === 'number' ? t : Date.parse(t));

/** Uses of one built-in tool a record may give: far above any real call's. */
const MAX_TOOL_USES = 1e9;

/** One line of a record's price.tools, as the schema takes it. */
interface ToolLine {
  tool: BuiltInTool;
  unit_price: number | null;
  units: number;
}

/** What a record's price.tools add to its cost at their own unit_price, read as toolInternalsOf prices them. */
function toolUsesCost(tools: readonly ToolLine[]): number {
  const { toolUses, toolUnitPrices } = recordToolUses(tools);
  let sum = 0;
  for (const [tool, n] of Object.entries(toolUses) as [BuiltInTool, number][]) sum += n * (toolUnitPrices[tool] ?? 0);
  return sum;
}

export const ingestRecordSchema = z
  .object({
    request_id: z.string().min(1).max(128).optional(),
    trace_id: z
      .string()
      .regex(/^[0-9a-f]{32}$/, '32 lowercase hex characters')
      .nullable()
      .optional(),
    started_at: time,
    ended_at: time.optional(),
    provider: z.string().min(1).max(128),
    model: z.string().min(1).max(256),
    endpoint: z.enum(ENDPOINTS as [string, ...string[]]).default('chat.completions'),
    stream: z.boolean().default(false),
    status: z.enum(CALL_STATUSES as [string, ...string[]]).optional(),
    http_status: z.number().int().min(100).max(599).default(200),
    error_type: text,
    error_message: z.string().max(2048).nullable().optional(),
    user: text,
    team: text,
    feature: text,
    session: text,
    input_tokens: count,
    output_tokens: count,
    cached_input_tokens: count,
    cache_write_input_tokens: count,
    reasoning_tokens: count,
    ttft_ms: ms,
    tpot_ms: ms,
    latency_ms: ms,
    cost_usd: z.number().nonnegative().max(MAX_CALL_COST_USD).nullable().optional(),
    finish_reason: text,
    refusal: z.boolean().default(false),
    // keys, their number and value lengths are checked after parsing, as LLMSCOPE_ERR_INVALID_METADATA
    metadata: z.record(z.string(), z.string()).nullable().optional(),
    upstream_request_id: text,
    // The rest of the record as GET /api/requests returns it, so a record read there is taken back as it is (DESIGN:
    // one record for both; QA33: they were refused as unknown keys). token_source and overhead_ms are kept; price's
    // unit and units are a per-unit call's usage (decision 152, checkUnits), the rest of price, api_key_id and source
    // are read and left: an ingested call is priced from the catalog as every call is (or by its cost_usd, when its
    // price.tools and the token prices beside them are kept: ownToolPriceOf), no key vouches for it, and it is an
    // ingested call.
    token_source: z.enum(['usage', 'tokenizer', 'estimate']).nullable().optional(),
    overhead_ms: ms,
    price: z
      .object({
        // the built-in tools billed per use (price.tools, an array since ba21b48), as GET /api/requests lists them
        // (priced when the record gives no cost_usd, R6: a use count that is negative or not whole, or a price below
        // 0, is refused rather than left out or replaced, and so are uses that would cost a call more than cost_usd
        // may say: 1e15 uses at 1e300 made its cost Infinity, and every spend total of its day null)
        tools: z
          .array(
            z
              .object({
                tool: z.enum(BUILT_IN_TOOLS),
                unit_price: z.number().nonnegative().max(MAX_CALL_COST_USD).nullable(),
                units: z.number().int().nonnegative().max(MAX_TOOL_USES),
              })
              .strict(),
          )
          .refine((tools) => toolUsesCost(tools) <= MAX_CALL_COST_USD, {
            message: `the tool uses at their unit_price cost more than a call may (${MAX_CALL_COST_USD} USD)`,
          })
          .optional(),
      })
      .catchall(z.union([z.number(), z.string()]))
      .nullable()
      .optional(),
    api_key_id: text,
    source: z.enum(['gateway', 'ingest']).optional(),
  })
  .strict()
  // A call that ends before it starts is no call: its record showed an end before its start and a latency of 0.
  // (a time that does not parse is told so by its own field, not here)
  .refine((r) => r.ended_at === undefined || !(toMs(r.ended_at) < toMs(r.started_at)), {
    message: 'must not be before started_at',
    path: ['ended_at'],
  });

/** Records one batch takes at most. */
const MAX_RECORDS = 10_000;
const ingestArraySchema = z.array(ingestRecordSchema).min(1).max(MAX_RECORDS);
const ingestCallsSchema = z.object({ calls: z.array(ingestRecordSchema).min(1).max(MAX_RECORDS) }).strict();
/** A batch parsed as it arrives is refused at its MAX_RECORDS + 1st record, the rest neither parsed nor kept. */
const BATCH_LIST: ListLimit = { max: MAX_RECORDS, key: 'calls' };
/** Calls recorded in one turn at most (the recorder enriches them in one go in the next). */
const RECORD_TURN = 256;
/**
 * Characters of error messages and metadata the calls recorded in one turn hold at most (one call at least): the
 * recorder's privacy enricher scans them all for personal data when it next gets the event loop, ~20-40 ns a
 * character, so 256 calls of 7 KB each (20 metadata values of 250 characters and an error message) held it for
 * 30-180 ms in one go.
 */
export const RECORD_TURN_TEXT = 128 * 1024;
/** Records zod parses at once for a batch parsed in turns (parseIngestBody). */
const ZOD_SLICE = 256;
const ingestSliceSchema = z.array(ingestRecordSchema);

export const ingestBodySchema = z.union([ingestArraySchema, ingestCallsSchema, ingestRecordSchema]);

/**
 * The one of the body's three shapes it is meant as (an array, `{"calls": [...]}`, or one record): parsed with it
 * alone, a bad body's error names its fields ("0.model": expected string), where the union's said only "Invalid input".
 */
function ingestSchemaFor(body: unknown): z.ZodType {
  if (Array.isArray(body)) return ingestArraySchema;
  if (body !== null && typeof body === 'object' && 'calls' in body) return ingestCallsSchema;
  return ingestRecordSchema;
}

/**
 * The body as ingestBodySchema parses it (zod's data, or its error as LLMSCOPE_ERR_INVALID_BODY), handing the event
 * loop back between turns: a batch of many records is parsed ZOD_SLICE records at a time, each slice's issues given
 * the paths they have in the whole body (zod checks a batch's size before its records, and parses every record and
 * lists all their issues in order, so the slices together give what one parse gives). Other bodies are parsed at once.
 */
export async function parseIngestBody(body: unknown, turns: Turns): Promise<z.infer<typeof ingestBodySchema>> {
  const whole = Array.isArray(body) ? body : onlyCalls(body);
  if (whole === null || whole.length < 1 || whole.length > MAX_RECORDS || whole.length <= ZOD_SLICE)
    return parseBody(ingestSchemaFor(body), body) as z.infer<typeof ingestBodySchema>;
  const prefix = Array.isArray(body) ? [] : ['calls'];
  const data: z.infer<typeof ingestRecordSchema>[] = [];
  const issues: z.core.$ZodIssue[] = [];
  for (let at = 0; at < whole.length; at += ZOD_SLICE) {
    const r = ingestSliceSchema.safeParse(whole.slice(at, at + ZOD_SLICE), { error: missingIsRequired });
    if (r.success) {
      if (issues.length === 0) for (const rec of r.data) data.push(rec);
    } else
      for (const issue of r.error.issues)
        issues.push({ ...issue, path: [...prefix, at + (issue.path[0] as number), ...issue.path.slice(1)] });
    if (turns.spent()) await turns.next();
  }
  if (issues.length > 0) throw fromZod(new z.ZodError(issues), 'LLMSCOPE_ERR_INVALID_BODY');
  return Array.isArray(body) ? data : { calls: data };
}

/** The records of `{"calls": [...]}` when that is all the object holds; else null. */
function onlyCalls(body: unknown): unknown[] | null {
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, 'calls')) return null;
  let keys = 0;
  for (const _ in body) keys++;
  const calls = (body as { calls: unknown }).calls;
  return keys === 1 && Array.isArray(calls) ? calls : null;
}

export function recordToCall(r: z.infer<typeof ingestRecordSchema>, unitOf?: UnitOf): LlmCall {
  const startedAt = toMs(r.started_at);
  const endedAt = r.ended_at !== undefined ? toMs(r.ended_at) : startedAt + (r.latency_ms ?? 0);
  const hasTokens = r.input_tokens != null || r.output_tokens != null;
  return {
    requestId: r.request_id ?? uuidv7(startedAt),
    traceId: r.trace_id ?? null,
    startedAt,
    endedAt,
    provider: r.provider,
    model: r.model,
    endpoint: r.endpoint as LlmCall['endpoint'],
    stream: r.stream,
    status: (r.status as LlmCall['status'] | undefined) ?? statusOf(r.http_status),
    httpStatus: r.http_status,
    errorType: r.error_type ?? null,
    errorMessage: r.error_message ? r.error_message.slice(0, 512) : null,
    user: r.user ?? null,
    team: r.team ?? null,
    feature: r.feature ?? null,
    session: r.session ?? null,
    apiKeyId: null,
    upstreamRequestId: r.upstream_request_id ?? null,
    inputTokens: r.input_tokens ?? null,
    outputTokens: r.output_tokens ?? null,
    cachedInputTokens: r.cached_input_tokens ?? null,
    cacheWriteInputTokens: r.cache_write_input_tokens ?? null,
    reasoningTokens: r.reasoning_tokens ?? null,
    tokenSource: hasTokens ? (r.token_source ?? 'usage') : null,
    ttftMs: r.ttft_ms ?? null,
    tpotMs: r.tpot_ms ?? null,
    latencyMs: r.latency_ms ?? Math.max(0, endedAt - startedAt),
    overheadMs: r.overhead_ms ?? 0,
    costUsd: r.cost_usd ?? null,
    price: ownToolPriceOf(r),
    finishReason: r.finish_reason ?? null,
    refusal: r.refusal,
    requestBytes: 0,
    responseBytes: 0,
    source: 'ingest',
    spans: [],
    events: unitEventsOf(r, startedAt, endedAt, unitOf),
    content: null,
    metadata: r.metadata && hasKeys(r.metadata) ? r.metadata : null,
    ...toolInternalsOf(r, startedAt),
  };
}

/**
 * A record's price.tools as one use count and price per use for each tool: its lines' uses summed, the last
 * unit_price one of them gives (a number of at least 0); a line of 0 uses is skipped, price and all. Empty uses: none.
 * (the schema took only whole uses from 0 and prices from 0, both bounded)
 */
function recordToolUses(tools: readonly ToolLine[]): {
  toolUses: Partial<Record<BuiltInTool, number>>;
  toolUnitPrices: Partial<Record<BuiltInTool, number>>;
} {
  const toolUses: Partial<Record<BuiltInTool, number>> = {};
  const toolUnitPrices: Partial<Record<BuiltInTool, number>> = {};
  for (const t of tools) {
    if (t.units === 0) continue;
    toolUses[t.tool] = (toolUses[t.tool] ?? 0) + t.units;
    if (t.unit_price !== null) toolUnitPrices[t.tool] = t.unit_price;
  }
  return { toolUses, toolUnitPrices };
}

/**
 * A record's built-in tool uses (its price.tools, as GET /api/requests gives them), for the price enricher to add to
 * its cost as a proxied call's (R6): each tool's uses at the record's unit_price where it gives one (a number of at
 * least 0), else pricing.tools' or the catalog's. Only for a record priced here: one with its own cost_usd keeps it
 * (its tools are its price's, ownToolPriceOf), and one without tokens has no cost to add to (an unknown usage is
 * unpriced, never $0 plus its searches).
 */
function toolInternalsOf(
  r: z.infer<typeof ingestRecordSchema>,
  startedAt: number,
): { internal: CallInternals } | Record<string, never> {
  const tools = r.price?.tools;
  if (!tools || tools.length === 0 || r.cost_usd != null) return {};
  if (r.input_tokens == null && r.output_tokens == null) return {};
  const { toolUses, toolUnitPrices } = recordToolUses(tools);
  if (Object.keys(toolUses).length === 0) return {};
  return { internal: { ...arrivedInternals(startedAt, '', '', null), toolUses, toolUnitPrices } };
}

/** A price's source a record may give (a catalog entry id or config): as long as a model name may be. */
const MAX_PRICE_SOURCE = 256;

/**
 * The price of a record that gives its own cost_usd and uses built-in tools in its price.tools (decision 184 (b)):
 * its tool uses at its own unit_price (null: unpriced, no part of the cost) are the tool part of its cost, capped at
 * its cost_usd where spend is summed (toolCostOf), so tool spend (tool_cost_usd, api_tool_usd) counts them as it did
 * where the record was exported; the cost_usd stays as sent. Its per-token prices are the record's own input,
 * cached_input, output (and cache_write) where it gives them all as numbers of at least 0, else 0, and its source
 * the record's, else `ingest`: they show what the record said, they price nothing. Null for any other record (one
 * without cost_usd is priced by the enricher, its tools with it: toolInternalsOf).
 */
function ownToolPriceOf(r: z.infer<typeof ingestRecordSchema>): AppliedPrice | null {
  const given = r.price;
  if (r.cost_usd == null || !given?.tools) return null;
  const { toolUses, toolUnitPrices } = recordToolUses(given.tools);
  const tools = (Object.keys(toolUses) as BuiltInTool[]).map((tool) => ({
    tool,
    unitPrice: toolUnitPrices[tool] ?? null,
    units: toolUses[tool] as number,
  }));
  if (tools.length === 0) return null;
  const perToken = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  const { input, cached_input: cachedInput, output, cache_write: cacheWrite, source } = given;
  const own = perToken(input) && perToken(cachedInput) && perToken(output);
  return {
    input: own ? input : 0,
    cachedInput: own ? cachedInput : 0,
    output: own ? output : 0,
    ...(own && perToken(cacheWrite) ? { cacheWrite } : {}),
    source: typeof source === 'string' && source.length > 0 && source.length <= MAX_PRICE_SOURCE ? source : 'ingest',
    tools,
  };
}

/**
 * What a model is priced per at a time (the cost capability's price book, PriceBook.billingUnitOf): a unit, null when
 * by the token, undefined when no price names it.
 */
export type UnitOf = (model: string, provider: string, at: number) => BillingUnit | null | undefined;

/**
 * A record's billed units as its call's `billing.units` event (decision 152): its `price.unit` and `price.units` (the
 * record's own shape, so an exported record taken back keeps them), priced from the catalog when it gives no
 * `cost_usd`. A record of a model priced per unit with neither (and no tokens; a call that went through) gets a units
 * event with no count, so it is counted unpriced rather than shown as $0. checkUnits has refused any that do not fit.
 */
function unitEventsOf(
  r: z.infer<typeof ingestRecordSchema>,
  startedAt: number,
  endedAt: number,
  unitOf: UnitOf | undefined,
): LlmCall['events'] {
  const unit = r.price?.unit;
  const count = r.price?.units;
  if (typeof unit === 'string' && typeof count === 'number')
    return [unitsEvent({ unit: unit as BillingUnit, count }, endedAt)];
  if (
    unitOf === undefined ||
    r.cost_usd != null ||
    r.input_tokens != null ||
    r.output_tokens != null ||
    !UNIT_ENDPOINTS.has(r.endpoint as LlmCall['endpoint']) ||
    ((r.status as LlmCall['status'] | undefined) ?? statusOf(r.http_status)) !== 'ok'
  )
    return [];
  const per = unitOf(r.model, r.provider, startedAt);
  return per ? [unitsUnknownEvent(per, endedAt)] : [];
}

/**
 * Refuses the body (400, the record's field named, nothing of the batch recorded) when a record's `price.unit` and
 * `price.units` (decision 152) do not fit: one without the other, a unit that is not image, second or character, a
 * count that is negative or not a number (not whole for images and characters), an endpoint not billed per unit, or
 * a unit other than the one the model's price is per (a model no price names takes any; its call is unpriced).
 */
function checkUnits(
  records: readonly z.infer<typeof ingestRecordSchema>[],
  pathOf: (i: number) => string,
  unitOf: UnitOf | undefined,
): void {
  const bad = (param: string, message: string) =>
    new LlmscopeError('LLMSCOPE_ERR_INVALID_BODY', `invalid "${param}": ${message}`, { param });
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as z.infer<typeof ingestRecordSchema>;
    const unit = r.price?.unit;
    const count = r.price?.units;
    if (unit === undefined && count === undefined) continue;
    const at = pathOf(i);
    if (unit === undefined) throw bad(`${at}price.unit`, 'price.units needs price.unit (image, second or character)');
    if (typeof unit !== 'string' || !(BILLING_UNITS as readonly string[]).includes(unit))
      throw bad(`${at}price.unit`, `expected image, second or character, got ${JSON.stringify(unit)}`);
    if (count === undefined) throw bad(`${at}price.units`, `price.unit needs price.units, the count of ${unit}s`);
    if (typeof count !== 'number' || !Number.isFinite(count) || count < 0)
      throw bad(`${at}price.units`, `expected a count of ${unit}s, a number of at least 0`);
    if (unit !== 'second' && !Number.isInteger(count))
      throw bad(`${at}price.units`, `expected a whole count of ${unit}s, got ${count}`);
    if (!UNIT_ENDPOINTS.has(r.endpoint as LlmCall['endpoint']) && r.endpoint !== 'realtime')
      throw bad(
        `${at}endpoint`,
        `a call billed per ${unit} is one of ${[...UNIT_ENDPOINTS, 'realtime'].join(', ')}, not ${r.endpoint}`,
      );
    const per = unitOf?.(r.model, r.provider, toMs(r.started_at));
    if (per === null) throw bad(`${at}price.unit`, `model "${r.model}" is priced by the token, not per ${unit}`);
    if (per !== undefined && per !== unit)
      throw bad(`${at}price.unit`, `model "${r.model}" is priced per ${per}, not per ${unit}`);
  }
}

/**
 * The characters of a call's text the recorder's privacy enricher scans: its error message, metadata values, the
 * string attributes of the spans it came with, and its prompt and output text (an OTLP span's content).
 */
export function textToRedact(call: LlmCall): number {
  let n = (call.errorMessage?.length ?? 0) + (call.internal?.promptText?.length ?? 0);
  n += call.internal?.outputText?.length ?? 0;
  const m = call.metadata;
  if (m) for (const k in m) n += (m[k] as string).length;
  for (const sp of call.spans) {
    n += stringsLength(sp.attributes);
    for (const e of sp.events) if (e.attributes) n += stringsLength(e.attributes);
  }
  return n;
}

function stringsLength(attrs: Record<string, unknown>): number {
  let n = 0;
  for (const k in attrs) {
    const v = attrs[k];
    if (typeof v === 'string') n += v.length;
  }
  return n;
}

/** Whether `o` has an own key (without making the array of them). */
function hasKeys(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

/** Refuses the body when a record's metadata breaks the rules every way in shares (calls/metadata.ts). */
async function checkMetadata(
  records: readonly z.infer<typeof ingestRecordSchema>[],
  pathOf: (i: number) => string,
  turns: Turns,
): Promise<void> {
  for (let i = 0; i < records.length; i++) {
    if (turns.due(i)) await turns.next();
    const m = records[i]?.metadata;
    if (!m) continue;
    const bad = metadataProblem(m, (k) => `${pathOf(i)}metadata.${k}`);
    if (bad)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_INVALID_METADATA',
        `invalid metadata in "${bad.param}": ${bad.message}; a call takes at most ${METADATA_MAX_KEYS} keys (lowercase header tokens) with values of at most ${METADATA_MAX_VALUE} characters`,
        { param: bad.param },
      );
  }
}

/**
 * How long a batch waits for room in the ledgers' lanes (the recorder's lossless sinks: store, spend, quality) before
 * it is refused with 503 and Retry-After. Exporters (logs, traces) are not waited for: they drop and count when they
 * lag, as for gateway calls.
 */
export const INGEST_ROOM_WAIT_MS = 10_000;

/** The 503 a batch gets when a ledger's lane stayed full for `waitMs`: the sender should retry it shortly. */
export function overloaded(waitMs: number): LlmscopeError {
  return new LlmscopeError(
    'LLMSCOPE_ERR_OVERLOADED',
    `llmscope cannot store calls as fast as they arrive (its store queue stayed full for ${waitMs / 1000} s); retry this batch shortly (calls with a request_id are recorded once)`,
    { headers: { 'retry-after': '1' } },
  );
}

/**
 * Records the calls in the body. A request id the store already holds, that this server recorded lately (its batch
 * not yet written), that another batch is taking now, or that came earlier in the same body, is skipped and listed in
 * `duplicates`: a batch retried after a timeout (or sent to two replicas) then counts once in
 * spend, budgets and metrics too, not only in the store, which ignores the second row.
 */
export async function ingestCalls(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  recorder: Recorder,
  store: Pick<Store, 'knownIds'>,
  roomWaitMs = INGEST_ROOM_WAIT_MS,
  claim?: IdClaim,
  unitOf?: UnitOf,
) {
  // A large body is parsed as it arrives (readJson), and its records are checked, turned into calls and recorded a
  // few milliseconds' worth at a time (Turns): a batch of 10,000 held the event loop for all of it, ~1.2 s for 40 MB
  // on a busy host, during which no gateway call was served.
  const body = await readJson(req, limit, BATCH_LIST).catch((err: unknown) => {
    if (!(err instanceof TooManyItems)) throw err;
    dropRest(req, limit);
    // what came, with its MAX_RECORDS + 1 records: zod refuses it below as it refuses the whole batch ("Too big")
    return err.partial;
  });
  const turns = new Turns();
  // Bodies that certainly pass skip zod (the same result, at a fraction of the cost); any other gets zod's answer.
  const data =
    ((await checkIngestBodyInTurns(body, turns)) as z.infer<typeof ingestBodySchema> | null) ??
    (await parseIngestBody(body, turns));
  const records = Array.isArray(data) ? data : 'calls' in data ? data.calls : [data];
  const pathOf = Array.isArray(data)
    ? (i: number) => `${i}.`
    : 'calls' in data
      ? (i: number) => `calls.${i}.`
      : () => '';
  await checkMetadata(records, pathOf, turns);
  checkUnits(records, pathOf, unitOf);
  const calls: LlmCall[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    if (turns.due(i)) await turns.next();
    calls[i] = recordToCall(records[i] as z.infer<typeof ingestRecordSchema>, unitOf);
  }
  // A given id recorded lately, or taken by a batch still in progress (a retry racing the first send), is a
  // duplicate before any wait: the store alone cannot tell, as it holds a call only once its batch is written.
  const seen = seenIdsOf(recorder);
  const dup = new Set<number>();
  const taking: string[] = [];
  records.forEach((r, i) => {
    if (!r.request_id) return;
    const id = (calls[i] as LlmCall).requestId;
    if (seen.recent.has(id) || seen.taking.has(id)) dup.add(i);
    else {
      seen.taking.add(id);
      taking.push(id);
    }
  });
  try {
    // Observability fails open: when the store cannot be asked, the calls are recorded (the store still dedups).
    const known = await knownIdsInTurns(store, taking, turns);
    // Accepted means stored: a batch the ledgers' lanes cannot take now waits for it to drain (backpressure on the
    // sender), and is refused (503, retry; ids make a retry count once) rather than accepted and dropped. The room is
    // held until the calls are recorded, so concurrent batches cannot overfill the lanes.
    const release = await recorder.holdRoom(calls.length, roomWaitMs);
    if (!release) throw overloaded(roomWaitMs);
    const ids: string[] = [];
    const duplicates: string[] = [];
    try {
      // Replicas on one database: the given ids another replica claimed first (a batch sent to both at once) too.
      if (claim) for (const id of await claimedElsewhere(claim, taking, known)) known.add(id);
      const anyDup = dup.size > 0 || known.size > 0;
      // (this batch's given ids stay `taking` until all are recorded, so a retry meanwhile counts them as duplicates)
      let turnCalls = 0;
      let turnText = 0;
      for (let i = 0; i < calls.length; i++) {
        // The recorder enriches the calls recorded in one turn all at once, when it next gets the event loop:
        // recording is cheap, enriching is not, so a turn records at most RECORD_TURN calls holding at most
        // RECORD_TURN_TEXT characters of text to redact.
        if (turnCalls === RECORD_TURN || turnText >= RECORD_TURN_TEXT || turns.due(i)) {
          await turns.next();
          turnCalls = 0;
          turnText = 0;
        }
        const call = calls[i] as LlmCall;
        if (anyDup && (dup.has(i) || known.has(call.requestId))) {
          duplicates.push(call.requestId);
          continue;
        }
        ids.push(call.requestId);
        if (records[i]?.request_id) seen.remember(call.requestId);
        recorder.record(call);
        turnCalls++;
        turnText += textToRedact(call);
      }
    } finally {
      release();
    }
    sendJson(res, 202, { accepted: ids.length, request_ids: ids, duplicates });
  } finally {
    for (const id of taking) seen.taking.delete(id);
  }
}

/**
 * Claims given request ids for this replica among others on one database (src/store/postgres/id-claims.ts): resolves
 * with those it won; may reject (the database out of reach).
 */
export type IdClaim = (ids: readonly string[]) => Promise<Set<string>>;

/**
 * The ids of `taking` (not `known` already) that another replica claimed first. Observability fails open: when the
 * claim cannot be made, none (the store still keeps one row of each).
 */
export async function claimedElsewhere(
  claim: IdClaim,
  taking: readonly string[],
  known: ReadonlySet<string>,
): Promise<string[]> {
  const mine = taking.filter((id) => !known.has(id));
  if (mine.length === 0) return [];
  // Asked again once when it fails (a pool or connection error under load): failing open, both replicas would record
  // a batch sent to each (the final CI of session 31 saw 40 requests for 20 once).
  const won = await claim(mine)
    .catch(() => claim(mine))
    .catch(() => null);
  return won === null ? [] : mine.filter((id) => !won.has(id));
}

/** Ids looked up in the store at once: SQLite answers on the event loop, ~2-5 µs an id. */
const KNOWN_IDS_AT_ONCE = 2048;

/**
 * The ids among `ids` the store holds, asked KNOWN_IDS_AT_ONCE at a time with the event loop handed back between
 * turns (a batch of 10,000, an export of 40,000 spans). Observability fails open: when the store cannot be asked,
 * none is known (the store still dedups).
 */
export async function knownIdsInTurns(
  store: Pick<Store, 'knownIds'>,
  ids: readonly string[],
  turns: Turns,
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  if (ids.length <= KNOWN_IDS_AT_ONCE) return store.knownIds(ids).catch(() => new Set<string>());
  const known = new Set<string>();
  for (let at = 0; at < ids.length; at += KNOWN_IDS_AT_ONCE) {
    if (turns.spent()) await turns.next();
    const some = await store.knownIds(ids.slice(at, at + KNOWN_IDS_AT_ONCE)).catch(() => null);
    if (some === null) return new Set();
    for (const id of some) known.add(id);
  }
  return known;
}

/** Given ids recorded lately (until the store surely holds them), and those batches in progress are taking. */
class SeenIds {
  readonly recent = new RecentIds(RECENT_IDS);
  readonly taking = new Set<string>();
  /** An id this batch took (`taking`, so no other batch records it) and recorded: not remembered before. */
  remember(id: string): void {
    this.recent.addNew(id);
  }
}

/** Ids remembered after they were recorded, so a retry arriving before the store has them counts once. */
const RECENT_IDS = 100_000;
const seenIds = new WeakMap<object, SeenIds>();
/** One set of seen ids per recorder (per server). */
function seenIdsOf(recorder: object): SeenIds {
  let s = seenIds.get(recorder);
  if (!s) {
    s = new SeenIds();
    seenIds.set(recorder, s);
  }
  return s;
}
