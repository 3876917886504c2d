// Budgets that hold under concurrency: at admission each matching budget reserves an upper estimate of the call's
// cost (prompt size + max_tokens or a cap, at the model's price), and a `block` budget refuses the call when
// spend + reservations in flight + this estimate would pass the limit. When the call ends the reservation is
// released and the actual cost added. So overshoot is bounded by what calls cost beyond their own estimates.
// The authoritative state sits behind BudgetLedger: in-process now, a PostgreSQL ledger can settle the same
// operations transactionally when several gateways share budgets.
import { randomUUID } from 'node:crypto';
import type { Endpoint, LlmCall } from '../calls/index.js';
import { LlmscopeError } from '../errors.js';
import type { Admission, Attribution } from '../gateway/proxy.js';
import { promptTextOf } from '../providers/index.js';
import { currentRequest, type RequestContext, requestContext } from '../telemetry/context.js';
import type { BudgetConfig, BudgetScope, KeyConfig } from './config.js';
import { costOf, type PriceBook, pricesFor } from './pricing.js';
import { type BilledUnits, imageOutputTokens, requestUnitsOf, UNIT_ENDPOINTS, unitEstimateOf } from './units.js';

type Json = Record<string, unknown>;

export interface Budget {
  name: string;
  scope: BudgetScope;
  match: string | null;
  period: 'day' | 'month';
  limit: number;
  warn: readonly number[];
  action: 'alert' | 'block';
  reserveOutputTokens: number;
  /** The config setting of its limit, for messages: `budgets[].limit`, or a key's own `keys[].budget.limit`. */
  limitSetting?: string;
}

/** Budgets from `budgets` and from keys that carry their own (named `key:<id>`). */
export function budgetsFrom(budgets: readonly BudgetConfig[], keys: readonly KeyConfig[]): Budget[] {
  const out: Budget[] = budgets.map((b) => ({
    name: b.name,
    scope: b.scope,
    match: b.match ?? null,
    period: b.period,
    limit: b.limit,
    warn: [...b.warn].sort((x, y) => x - y),
    action: b.action,
    reserveOutputTokens: b.reserveOutputTokens,
  }));
  for (const k of keys)
    if (k.budget)
      out.push({
        name: `key:${k.id}`,
        scope: 'key',
        match: k.id,
        period: k.budget.period,
        limit: k.budget.limit,
        warn: [...k.budget.warn].sort((x, y) => x - y),
        action: k.budget.action,
        reserveOutputTokens: k.budget.reserveOutputTokens,
        limitSetting: `keys[].budget.limit (key "${k.id}")`,
      });
  return out;
}

/** Start of the period containing `t` (UTC). */
export function periodStart(period: 'day' | 'month', t: number): number {
  const d = new Date(t);
  return period === 'day'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** Start of the next period after the one containing `t`: when the budget resets. */
export function periodEnd(period: 'day' | 'month', t: number): number {
  const d = new Date(t);
  return period === 'day'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** The value of the budget's scope a call has ('' for global), or null when the budget does not apply. */
export function scopeValue(b: Budget, at: Pick<Attribution, 'user' | 'team' | 'feature' | 'apiKeyId'>): string | null {
  let v: string | null;
  switch (b.scope) {
    case 'global':
      return '';
    case 'user':
      v = at.user;
      break;
    case 'team':
      v = at.team;
      break;
    case 'feature':
      v = at.feature;
      break;
    case 'key':
      v = at.apiKeyId;
      break;
  }
  if (v === null || v === '') return null;
  if (b.match !== null && b.match !== v) return null;
  return v;
}

/** One budget bucket: a budget, one value of its scope, one period. */
export interface BudgetKey {
  budget: string;
  value: string;
  periodStart: number;
}

export const keyString = (k: BudgetKey): string => `${k.budget}\u0000${k.value}\u0000${k.periodStart}`;

export interface ReserveLine {
  key: BudgetKey;
  amount: number;
  limit: number;
  /** Refuse when over (block), or only account (alert). */
  enforce: boolean;
}

export interface Reservation {
  lines: { key: BudgetKey; amount: number }[];
}

export type ReserveOutcome =
  | { ok: true; reservation: Reservation }
  | { ok: false; line: ReserveLine; spent: number; reserved: number };

export interface BucketState {
  key: BudgetKey;
  spent: number;
  reserved: number;
  inFlight: number;
}

/**
 * The authoritative budget state. `reserve` is all-or-nothing across lines and atomic against other reserves;
 * `settle` releases a reservation and adds the actual cost. Methods may return promises (a shared-database ledger).
 */
/** A budget's bucket (its period) that refused a call in the time asked about. */
export interface BlockedBucket {
  budget: string;
  periodStart: number;
}

export interface BudgetLedger {
  /** Sets a bucket's spend (restored from the store at start). */
  load(key: BudgetKey, spent: number): void | Promise<void>;
  reserve(lines: readonly ReserveLine[]): ReserveOutcome | Promise<ReserveOutcome>;
  /**
   * Releases the reservation and adds the actual cost. A shared-database ledger settles each reservation once: a
   * settle tried again after its answer was lost (the commit may have happened) adds nothing the second time.
   */
  settle(reservation: Reservation, actualUsd: number): void | Promise<void>;
  /**
   * Spend that had no reservation (ingested calls, calls let through while the ledger was out of reach). With
   * `writeId` a shared-database ledger adds it once, however often the same write is tried again.
   */
  add(keys: readonly BudgetKey[], amountUsd: number, writeId?: string): void | Promise<void>;
  state(key: BudgetKey): BucketState | Promise<BucketState>;
  /** Buckets of the given budgets in their current periods. */
  buckets(): BucketState[] | Promise<BucketState[]>;
  /**
   * The budgets that refused a call at or after `since` (epoch ms), as a shared-database ledger records them: every
   * replica's refusals (the in-process ledger has none of its own: the service remembers its process's).
   */
  blockedSince?(since: number): BlockedBucket[] | Promise<BlockedBucket[]>;
  /**
   * Marks a bucket warned of up to `threshold` in a shared database: true when this call raised the mark (this replica
   * logs the warning), false when a replica already warned of it or a higher one. Absent: one process, which
   * remembers its own warnings.
   */
  claimWarning?(key: BudgetKey, threshold: number): boolean | Promise<boolean>;
  /** Forgets buckets of periods that ended before `before` and hold no reservation. */
  prune(before: (k: BudgetKey) => boolean): void | Promise<void>;
  /**
   * Forgets every bucket (and reservation) of these budgets for this value, in any period: erasing a user drops
   * their per-user budget rows (their spend in the current period starts again from 0). Returns the buckets dropped.
   */
  forget?(budgets: readonly string[], value: string): number | Promise<number>;
}

/** The ledger for one process: a map, with every operation synchronous, so nothing interleaves inside one. */
export class InProcessBudgetLedger implements BudgetLedger {
  private readonly buckets_ = new Map<string, BucketState>();

  private bucket(key: BudgetKey): BucketState {
    const k = keyString(key);
    let b = this.buckets_.get(k);
    if (!b) {
      b = { key, spent: 0, reserved: 0, inFlight: 0 };
      this.buckets_.set(k, b);
    }
    return b;
  }

  load(key: BudgetKey, spent: number): void {
    this.bucket(key).spent = spent;
  }

  reserve(lines: readonly ReserveLine[]): ReserveOutcome {
    for (const l of lines) {
      if (!l.enforce) continue;
      const b = this.bucket(l.key);
      // A hair of tolerance, so ten reservations of limit/10 fit despite float rounding.
      const limit = l.limit * (1 + 1e-9);
      if (b.spent >= l.limit || b.spent + b.reserved + l.amount > limit)
        return { ok: false, line: l, spent: b.spent, reserved: b.reserved };
    }
    for (const l of lines) {
      const b = this.bucket(l.key);
      b.reserved += l.amount;
      b.inFlight++;
    }
    return { ok: true, reservation: { lines: lines.map((l) => ({ key: l.key, amount: l.amount })) } };
  }

  settle(reservation: Reservation, actualUsd: number): void {
    for (const l of reservation.lines) {
      const b = this.bucket(l.key);
      b.reserved = Math.max(0, b.reserved - l.amount);
      b.inFlight = Math.max(0, b.inFlight - 1);
      if (b.inFlight === 0) b.reserved = 0; // no float residue once nothing is in flight
      b.spent += actualUsd;
    }
  }

  add(keys: readonly BudgetKey[], amountUsd: number): void {
    for (const k of keys) this.bucket(k).spent += amountUsd;
  }

  state(key: BudgetKey): BucketState {
    return { ...this.bucket(key) };
  }

  buckets(): BucketState[] {
    return [...this.buckets_.values()].map((b) => ({ ...b }));
  }

  prune(before: (k: BudgetKey) => boolean): void {
    for (const [k, b] of this.buckets_) if (b.inFlight === 0 && before(b.key)) this.buckets_.delete(k);
  }

  forget(budgets: readonly string[], value: string): number {
    const names = new Set(budgets);
    let n = 0;
    for (const [k, b] of this.buckets_)
      if (b.key.value === value && names.has(b.key.budget)) {
        this.buckets_.delete(k);
        n++;
      }
    return n;
  }
}

const TEXT_PARTS = new Set(['text', 'input_text', 'output_text']);
/** Parts whose size says nothing of their tokens (base64 or a file id): a flat allowance each. */
const MEDIA_PARTS = new Set([
  'image',
  'image_url',
  'input_image',
  'document',
  'input_file',
  'file',
  'audio',
  'input_audio',
  'video',
]);
/** Tokens allowed for one image, audio or document part. */
const MEDIA_TOKENS = 1100;

/**
 * Tokens a content part adds beyond the prompt text (which already holds text parts and tool results' text): a flat
 * allowance for media, what a tool result holds besides its text, else the part's JSON characters / 3 (jsonChars:
 * a tool call's arguments, thinking, a Gemini function call), on the high side as the text is.
 */
function partTokens(part: unknown): number {
  const p = part as Json | null;
  if (!p || typeof p !== 'object') return 0;
  const type = typeof p.type === 'string' ? p.type : null;
  if (type !== null ? TEXT_PARTS.has(type) : typeof p.text === 'string') return 0;
  if ((type !== null && MEDIA_PARTS.has(type)) || p.inlineData || p.fileData) return MEDIA_TOKENS;
  if (type === 'tool_result') {
    let n = 0;
    if (Array.isArray(p.content)) for (const c of p.content) n += partTokens(c);
    return n;
  }
  return Math.ceil(jsonChars(p) / 3);
}

/**
 * The characters of `root` written as JSON, but for its strings' escapes: JSON.stringify's length, less one for each
 * `"`, `\\` and control character in a string (five for the rarer \u00XX); a string counts its length and quotes.
 * Each call of an agent sends its whole history again (tool calls' inputs, tool results, thinking, reasoning items),
 * and serializing every such part made a string as long as that history on every call, scanning each character:
 * this reads each value once, each string's length without its characters, and makes no string. (A newline the model
 * reads as one character JSON writes as two: the estimate stays chars / 3.) It walks an explicit stack, not the call
 * stack, so a value nested however deep (JSON.parse takes [[[...]]] 50,000 deep) is counted the same way. Values
 * JSON.parse does not make (a class's object, one with toJSON) go to JSON.stringify; `plain` (JSON.stringify's own
 * stack was too short for one) counts them as plain objects instead. A value that contains itself (no JSON body does)
 * throws JSON.stringify's TypeError, found once the walk is deeper than CYCLE_CHECK_DEPTH.
 */
export function jsonChars(root: unknown, plain = false): number {
  if (typeof root === 'undefined' || typeof root === 'function' || typeof root === 'symbol') return 0;
  let n = 0;
  const stack: unknown[] = [root];
  const depths: number[] = [0];
  let checked = false;
  while (stack.length > 0) {
    const v = stack.pop();
    const depth = depths.pop() as number;
    switch (typeof v) {
      case 'string':
        n += v.length + 2;
        continue;
      case 'number':
        n += Number.isFinite(v) ? String(v).length : 4;
        continue;
      case 'boolean':
        n += v ? 4 : 5;
        continue;
      case 'object':
        break;
      default: // a bigint (JSON.stringify throws) or what a caller put in
        n += stringifiedLength(v);
        continue;
    }
    if (v === null) {
      n += 4;
      continue;
    }
    if (depth > CYCLE_CHECK_DEPTH && !checked) {
      throwIfCyclic(root);
      checked = true;
    }
    if (Array.isArray(v)) {
      n += v.length > 0 ? v.length + 1 : 2; // brackets and commas
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol')
          n += 4; // null
        else {
          stack.push(x);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    if (!plain) {
      const proto = Object.getPrototypeOf(v);
      if ((proto !== Object.prototype && proto !== null) || typeof (v as Json).toJSON === 'function') {
        n += stringifiedLength(v);
        continue;
      }
    }
    let members = 0;
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      const x = (v as Json)[k];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      n += k.length + 3; // quotes and colon
      stack.push(x);
      depths.push(depth + 1);
      members++;
    }
    n += members > 0 ? members + 1 : 2; // braces and commas
  }
  return n;
}

/** Nesting past which jsonChars makes sure once that the value does not contain itself (it would never end). */
const CYCLE_CHECK_DEPTH = 64;

/** Throws JSON.stringify's TypeError if `root` contains itself: a walk keeping the objects on its path. */
function throwIfCyclic(root: unknown): void {
  const path = new Set<object>();
  const stack: unknown[] = [root];
  const leaving: boolean[] = [false];
  while (stack.length > 0) {
    const v = stack.pop();
    if (leaving.pop()) {
      path.delete(v as object);
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (path.has(v)) throw new TypeError('Converting circular structure to JSON');
    path.add(v);
    stack.push(v);
    leaving.push(true);
    for (const x of Array.isArray(v) ? v : Object.values(v)) {
      stack.push(x);
      leaving.push(false);
    }
  }
}

function stringifiedLength(v: unknown): number {
  try {
    return (JSON.stringify(v) as string | undefined)?.length ?? 0;
  } catch (e) {
    // Nested deeper than JSON.stringify's stack reaches, or longer than a string: counted without recursion or a
    // string, its objects as plain ones.
    if (e instanceof RangeError) return jsonChars(v, true);
    throw e;
  }
}

/**
 * The key in a call's admission state under which a gateway worker (serve --workers) hands the recorder process the
 * call's input estimate (estimateInputTokens of its body, made in the worker), so the body itself need not cross.
 * Admission state is the server's own: a client cannot set it.
 */
export const INPUT_ESTIMATE = 'cost.inputEstimate';

/** The call's input estimate: the one its worker made (INPUT_ESTIMATE), else estimateInputTokens of its body. */
export function inputEstimateOf(a: Pick<Admission, 'body' | 'endpoint'> & { state?: Record<string, unknown> }): number {
  const made = a.state?.[INPUT_ESTIMATE];
  return typeof made === 'number' ? made : estimateInputTokens(a.body, a.endpoint);
}

/**
 * The key under which a gateway worker hands the recorder process the units a call billed per unit (or a GPT image
 * model's images) will be billed for (requestUnitsOf of its body, made in the worker; null when it does not say).
 */
export const UNITS_ESTIMATE = 'cost.unitsEstimate';

/**
 * The units a platform call's request says it will be billed for (units.ts requestUnitsOf: images, characters of
 * speech, seconds of an upload from its declared size): the worker's (UNITS_ESTIMATE), else its body's. Null for
 * other endpoints (chat, Responses, Anthropic and Gemini calls do none of this work).
 */
export function unitsEstimateOf(
  a: Pick<Admission, 'body' | 'endpoint' | 'headers'> & { state?: Record<string, unknown> },
): BilledUnits | null {
  if (!UNIT_ENDPOINTS.has(a.endpoint)) return null;
  if (a.state && UNITS_ESTIMATE in a.state) return (a.state[UNITS_ESTIMATE] as BilledUnits | null) ?? null;
  const declared = Number(a.headers?.['content-length']);
  return requestUnitsOf(a.endpoint, a.body, Number.isFinite(declared) && declared > 0 ? declared : 0);
}

/**
 * The fields of a body the admission estimate reads besides its prompt (all a worker sends the recorder process with
 * INPUT_ESTIMATE): what maxOutputTokens reads, what names a prompt the body does not carry (hiddenPromptOf: a
 * Responses `previous_response_id` or `conversation`, a Gemini `cachedContent`), and, when any block of an Anthropic
 * body asks for the 1-hour cache (asksCache1h), a top-level `cache_control` saying so.
 */
export function outputLimitFields(body: Json): Json {
  const out: Json = {};
  for (const k of OUTPUT_LIMIT_FIELDS) if (body[k] !== undefined) out[k] = body[k];
  for (const k of HIDDEN_PROMPT_FIELDS) {
    const v = idOf(body[k]);
    if (v !== null) out[k] = v;
  }
  if (asksCache1h(body)) out.cache_control = { type: 'ephemeral', ttl: '1h' };
  return out;
}
const OUTPUT_LIMIT_FIELDS = [
  'max_completion_tokens',
  'max_tokens',
  'max_output_tokens',
  'n',
  'generationConfig',
  'generation_config',
] as const;
const HIDDEN_PROMPT_FIELDS = ['previous_response_id', 'conversation', 'cachedContent', 'cached_content'] as const;

/** An id a body names: the string, or a Responses `conversation` object's `id`; null for anything else. */
function idOf(v: unknown): string | null {
  if (typeof v === 'string') return v.length > 0 && v.length <= 512 ? v : null;
  if (v && typeof v === 'object' && typeof (v as Json).id === 'string') return idOf((v as Json).id);
  return null;
}

const is1h = (c: unknown): boolean => !!c && typeof c === 'object' && (c as Json).ttl === '1h';

/**
 * Whether an Anthropic body asks for the 1-hour prompt cache (a `cache_control` with `ttl: "1h"` at the top, on a
 * system block, a tool or a message's content block), whose writes cost 2 x input rather than the 5-minute 1.25 x.
 */
export function asksCache1h(body: Json): boolean {
  if (is1h(body.cache_control)) return true;
  for (const k of ['system', 'tools'] as const) {
    const list = body[k];
    if (Array.isArray(list)) for (const p of list) if (is1h((p as Json | null)?.cache_control)) return true;
  }
  const messages = body.messages;
  if (Array.isArray(messages))
    for (const m of messages) {
      const c = (m as Json | null)?.content;
      if (Array.isArray(c)) for (const p of c) if (is1h((p as Json | null)?.cache_control)) return true;
    }
  return false;
}

/** How many ids of earlier responses, conversations and Gemini caches each gateway process remembers the size of. */
export const HIDDEN_PROMPT_MEMORY = 10_000;

/** Tokens a prompt will likely count, on the high side: UTF-8 bytes/3 (chars/3 for ASCII) plus per-message, tool and media overheads. */
export function estimateInputTokens(body: Json, endpoint: Endpoint): number {
  // The prompt in the call's own format (chat messages, Anthropic messages + system, Responses instructions + input).
  const text = promptTextOf(body, endpoint);
  // UTF-8 bytes / 3, not characters / 3: the same for ASCII text, but a Chinese, Japanese or Korean character (3 bytes)
  // is about one token (0.6-1.3 in OpenAI's and Anthropic's tokenizers), and chars / 3 priced a CJK prompt at a third
  // of that: 30 concurrent calls of 1,500 Chinese characters (914 tokens each) spent $0.061 of a $0.05 budget.
  let tokens = Math.ceil(Buffer.byteLength(text, 'utf8') / 3) + 3;
  const items =
    endpoint === 'responses'
      ? body.input
      : endpoint === 'chat.completions' || endpoint === 'messages'
        ? body.messages
        : endpoint === 'generate_content'
          ? body.contents
          : null;
  if (Array.isArray(items)) {
    tokens += 4 * items.length;
    for (const m of items) {
      const item = m as Json | null;
      const content = item?.content ?? item?.parts;
      if (Array.isArray(content)) for (const p of content) tokens += partTokens(p);
      // a Responses input item that is itself reasoning or another tool's item (no content parts); a function or
      // custom tool call's name and arguments are in the prompt text already, as a chat message's tool calls are
      else if (
        endpoint === 'responses' &&
        typeof item?.type === 'string' &&
        item.type !== 'message' &&
        item.type !== 'function_call' &&
        item.type !== 'custom_tool_call'
      )
        tokens += partTokens(item);
    }
  }
  if (Array.isArray(body.tools)) tokens += Math.ceil(toolsJsonLength(body.tools) / 3);
  return tokens;
}

/** Tool sets remembered by toolsJsonLength (most recently used kept). */
const TOOL_SETS = 32;
/** Tool sets larger than this (JSON characters) are not remembered (their copy is not kept). */
const TOOL_SET_MAX_CHARS = 512 * 1024;

interface ToolSet {
  /** How many times a set under this signature was serialized since it was last copied. */
  seen: number;
  /** A private copy of the set (never handed out, so never changed) and its JSON's length. */
  copy: unknown[] | null;
  length: number;
}
const toolSets = new Map<string, ToolSet>();

/**
 * The length of `JSON.stringify(tools)`, on the hot path of every call with budgets on. Agents send the same tool
 * definitions with every call (Claude Code's are ~60 KB: ~150 us to serialize), so a set seen twice is remembered
 * as a private copy with its length, and a later call's set that equals it field for field (the same JSON values,
 * so the same JSON length whatever its key order) takes that length: the same number, found by comparing strings
 * (memcmp) instead of serializing them. Any other set is serialized as before.
 */
export function toolsJsonLength(tools: unknown[]): number {
  if (tools.length === 0) return 2;
  const sig = toolSetSignature(tools);
  const known = toolSets.get(sig);
  if (known?.copy && sameJson(tools, known.copy, 0)) {
    // most recently used last
    toolSets.delete(sig);
    toolSets.set(sig, known);
    return known.length;
  }
  let json: string;
  try {
    json = JSON.stringify(tools);
  } catch (e) {
    if (e instanceof RangeError) return jsonChars(tools); // too deep for JSON.stringify: not remembered
    throw e;
  }
  if (json.length > TOOL_SET_MAX_CHARS) return json.length;
  const set = known ?? { seen: 0, copy: null, length: 0 };
  // A set is copied the second time its signature comes without a match: tool sets that change with every call
  // cost one serialization each, as before, and no copies.
  if (++set.seen >= 2) {
    set.copy = JSON.parse(json) as unknown[];
    set.length = json.length;
    set.seen = 0;
  }
  toolSets.delete(sig);
  toolSets.set(sig, set);
  if (toolSets.size > TOOL_SETS) toolSets.delete(toolSets.keys().next().value as string);
  return json.length;
}

/** A cheap key for a tool set: how many tools, and their names (function.name, or name). */
function toolSetSignature(tools: unknown[]): string {
  let sig = String(tools.length);
  for (const t of tools) {
    const o = t as Json | null;
    const f = o && typeof o === 'object' ? ((o.function as Json | undefined) ?? o) : null;
    const name = f && typeof f === 'object' && typeof f.name === 'string' ? f.name : '';
    sig += `\u0000${name.length > 128 ? name.slice(0, 128) : name}`;
  }
  return sig;
}

/** Nesting past which sets are not compared (serialized instead). */
const SAME_MAX_DEPTH = 64;

/**
 * Whether `a` (a parsed request's value) and `b` (a copy made by JSON.parse) serialize to JSON of the same length
 * for certain: the same JSON value, member for member (objects' own keys in any order). Anything JSON.parse cannot
 * make (undefined, functions, objects of a class) answers false.
 */
function sameJson(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return typeof a !== 'object' || a === null;
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null || depth > SAME_MAX_DEPTH)
    return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const proto = Object.getPrototypeOf(a);
  if (proto !== Object.prototype && proto !== null) return false;
  const ob = b as Json;
  let n = 0;
  for (const k in a) {
    if (!Object.hasOwn(a, k)) return false;
    if (!Object.hasOwn(ob, k) || !sameJson((a as Json)[k], ob[k], depth + 1)) return false;
    n++;
  }
  for (const k in ob) if (Object.hasOwn(ob, k)) n--;
  return n === 0;
}

/**
 * Output tokens a request may produce: its max_tokens (× n choices), else the budget's cap. Gemini's are in
 * `generationConfig` (`maxOutputTokens`, `candidateCount`).
 */
export function maxOutputTokens(body: Json, endpoint: Endpoint, cap: number): number {
  if (endpoint === 'embeddings') return 0;
  const gc = endpoint === 'generate_content' ? (body.generationConfig ?? body.generation_config) : null;
  const g = gc && typeof gc === 'object' ? (gc as Json) : null;
  const m = g
    ? (g.maxOutputTokens ?? g.max_output_tokens)
    : (body.max_completion_tokens ?? body.max_tokens ?? body.max_output_tokens);
  const count = g ? (g.candidateCount ?? g.candidate_count) : body.n;
  const n = typeof count === 'number' && count > 1 ? Math.floor(count) : 1;
  return (typeof m === 'number' && m > 0 ? Math.floor(m) : cap) * n;
}

export interface BudgetEvents {
  /** A bucket's spend crossed a warn threshold (once per bucket and threshold). */
  onThreshold?(b: Budget, key: BudgetKey, threshold: number, ratio: number): void;
  onBlocked?(b: Budget, key: BudgetKey): void;
  /** A budget's spend ratio (the largest of its buckets in the current period) changed. */
  onRatio?(b: Budget, ratio: number): void;
  /**
   * The ledger failed: a reservation (the call was let through without one), or a write (a call's settle, an
   * ingested call's spend): `retrying` while a write is tried again (the database restarting), else given up after
   * LEDGER_RETRY_MS.
   */
  onLedgerError?(op: 'reserve' | 'settle' | 'add', err: unknown, retrying: boolean): void;
}

/**
 * How long a ledger write that fails is tried again (waits doubling from 0.5 s to 10 s): a PostgreSQL restart or
 * failover passes; past it the write is given up (the call stays stored; its cost is missing from the budget's
 * spend, and its reservation is released when it expires).
 */
export const LEDGER_RETRY_MS = 5 * 60_000;

const STATE = 'cost.budget';

interface BudgetState {
  reservation: Reservation;
  settled: boolean;
  /** Let through without a reservation (the ledger out of reach at admission): settling adds the cost. */
  unreserved?: boolean;
  /** The Responses `conversation` the call continues: its size is remembered when the call settles. */
  conversation?: string;
  /** The Gemini `cachedContent` the call names: its cached tokens are remembered when the call settles. */
  cachedContent?: string;
}

/** A prompt a call is billed for that its body does not carry, as hiddenPrompt finds it. */
interface HiddenPrompt {
  /** Tokens of an earlier conversation the upstream prepends (previous_response_id, conversation). */
  tokens: number;
  /** Tokens of a Gemini cache the call names, billed at the cached-input price. */
  cached: number;
  conversation?: string;
  cachedContent?: string;
}

/** Budgets, their ledger and the price book, wired into the gateway's admit/settle and the recorder. */
export class BudgetService {
  private readonly byName = new Map<string, Budget>();
  private readonly warned = new Map<string, number>();
  private readonly maxRatio = new Map<string, number>();
  /**
   * When each `block` budget last refused a call here (epoch ms). Such a budget refuses a call whose estimate would
   * pass its limit, so its spend can stay under the limit while it refuses: the alert signal counts it as exceeded
   * while refusals happen (QA34). With `serve --workers` admission runs in the recorder process, so this sees them all.
   */
  private readonly blockedAt = new Map<string, number>();
  /**
   * The size (input + output tokens) of recent Responses calls by response id, and of conversations by id (keyed
   * `conversation\u0000<id>`): what the upstream prepends to a call naming them. Filled where calls settle, which with
   * `serve --workers` is the recorder process, where admission runs too. At most HIDDEN_PROMPT_MEMORY, oldest out.
   */
  private readonly chains = new Map<string, number>();
  /** Cached tokens of the last call naming each Gemini cachedContent (bounded the same way). */
  private readonly cachedContents = new Map<string, number>();

  constructor(
    readonly budgets: readonly Budget[],
    readonly ledger: BudgetLedger,
    private readonly prices: PriceBook,
    private readonly now: () => number,
    private readonly events: BudgetEvents = {},
  ) {
    for (const b of budgets) this.byName.set(b.name, b);
  }

  get(name: string): Budget | undefined {
    return this.byName.get(name);
  }

  /** Buckets a call with this attribution falls in, at time t. */
  keysFor(at: Pick<Attribution, 'user' | 'team' | 'feature' | 'apiKeyId'>, t: number): { b: Budget; key: BudgetKey }[] {
    const out: { b: Budget; key: BudgetKey }[] = [];
    for (const b of this.budgets) {
      const value = scopeValue(b, at);
      if (value !== null) out.push({ b, key: { budget: b.name, value, periodStart: periodStart(b.period, t) } });
    }
    return out;
  }

  /** The admit hook's work: reserve on every matching budget, or refuse with 429 naming the budget. */
  async admit(a: Admission): Promise<void> {
    if (this.budgets.length === 0) return;
    const t = this.now();
    const matched = this.keysFor(a.attribution, t);
    if (matched.length === 0) return;
    // The call's log context, for the line a refusal writes after the ledger's await (which leaves it): the gateway's
    // own (request_id, trace_id, span_id, ...) where the hook starts inside the call's code, else (a `serve --workers`
    // recorder, running the hook for a worker) the admission's ids.
    const logContext: RequestContext = currentRequest() ?? {
      request_id: a.requestId,
      trace_id: a.traceId,
      span_id: a.spanId,
      provider: a.provider,
      model: a.model,
    };
    const price = this.prices.resolve(a.model, a.provider, t);
    const hidden = this.hiddenPrompt(a.body, a.endpoint);
    // The body's prompt, and an earlier conversation the upstream prepends to it: as if written to the prompt cache
    // (a model with a cache-write price, Anthropic's, charges that for a prompt it caches, and a cache_control block
    // can ask for it): at the 1-hour cache's price (2 x input, not 1.25 x) when a block asks for that cache.
    const written = inputEstimateOf(a) + (hidden?.tokens ?? 0);
    const cached = hidden?.cached ?? 0;
    const input = written + cached;
    const hour = a.endpoint === 'messages' && asksCache1h(a.body) ? written : 0;
    // A platform call (units.ts): one billed per unit reserves its units at their price (DALL·E's n images, a speech's
    // characters: exact; a transcription's upload at 16 kB a second); a GPT image model its images' output tokens by
    // quality and size (decision 120), not the budget's reserveOutputTokens.
    const units = price ? unitsEstimateOf(a) : null;
    const perUnit = units !== null && price?.units ? unitEstimateOf(price.units, units) : null;
    const imageTokens = units?.unit === 'image' && perUnit === null ? imageOutputTokens(units) : null;
    const lines: ReserveLine[] = matched.map(({ b, key }) => {
      // An unpriced model reserves nothing (its cost will be null): it is let through rather than guessed at.
      const amount =
        perUnit !== null
          ? perUnit
          : price
            ? costOf(
                {
                  input,
                  cachedInput: cached,
                  cacheWriteInput: written,
                  cacheWrite1hInput: hour,
                  output: imageTokens ?? maxOutputTokens(a.body, a.endpoint, b.reserveOutputTokens),
                },
                pricesFor(price, input),
              )
            : 0;
      return { key, amount, limit: b.limit, enforce: b.action === 'block' };
    });
    let r: ReserveOutcome;
    try {
      r = await this.ledger.reserve(lines);
    } catch (err) {
      // Fail open, as rate limits do: with the ledger's database out of reach (restarting, failing over) the call goes
      // through without a hold, and its cost is added to its budgets' spend when it ends (tried again until the
      // database is back). A `block` budget can be passed by what such calls cost.
      this.events.onLedgerError?.('reserve', err, false);
      a.state[STATE] = {
        reservation: { lines: lines.map((l) => ({ key: l.key, amount: 0 })) },
        settled: false,
        unreserved: true,
        ...chainOf(hidden),
      } satisfies BudgetState;
      return;
    }
    if (!r.ok) {
      const b = this.byName.get(r.line.key.budget) as Budget;
      const key = r.line.key;
      this.blockedAt.set(b.name, t);
      requestContext.run(logContext, () => this.events.onBlocked?.(b, key));
      throw budgetExceeded(b, r.line.key, r.spent, r.reserved, t, r.line.amount, unitBasis(units, perUnit !== null));
    }
    a.state[STATE] = { reservation: r.reservation, settled: false, ...chainOf(hidden) } satisfies BudgetState;
  }

  /**
   * The prompt a call is billed for beyond its body, from what calls settled here said (a Map lookup each): a
   * Responses call's `previous_response_id` (that response's input + output tokens: the whole chain so far) or
   * `conversation` (its last call's), a Gemini call's `cachedContent` (the cached tokens its last call was billed
   * for). An id this process never saw (another replica's, one from before a restart, a streamed response's) adds
   * nothing: the body's estimate alone, as before. Null when the body names none.
   */
  private hiddenPrompt(body: Json, endpoint: Endpoint): HiddenPrompt | null {
    if (endpoint === 'responses') {
      const prev = idOf(body.previous_response_id);
      const conversation = idOf(body.conversation);
      if (prev === null && conversation === null) return null;
      const tokens =
        (prev !== null ? this.chains.get(prev) : undefined) ??
        (conversation !== null ? this.chains.get(`conversation\u0000${conversation}`) : undefined) ??
        0;
      return conversation !== null ? { tokens, cached: 0, conversation } : { tokens, cached: 0 };
    }
    if (endpoint === 'generate_content') {
      const cachedContent = idOf(body.cachedContent ?? body.cached_content);
      if (cachedContent === null) return null;
      return { tokens: 0, cached: this.cachedContents.get(cachedContent) ?? 0, cachedContent };
    }
    return null;
  }

  /** Remembers what a settled call tells of prompts later calls may name (see hiddenPrompt). */
  private remember(s: BudgetState, call: LlmCall): void {
    if (call.endpoint === 'responses') {
      if (call.inputTokens === null && call.outputTokens === null) return;
      const size = (call.inputTokens ?? 0) + (call.outputTokens ?? 0);
      const id = call.internal?.responseId;
      if (id) remember(this.chains, id, size);
      if (s.conversation) remember(this.chains, `conversation\u0000${s.conversation}`, size);
    } else if (s.cachedContent && call.cachedInputTokens)
      remember(this.cachedContents, s.cachedContent, call.cachedInputTokens);
  }

  /**
   * Settles a gateway call's reservation once its cost is known (null cost: nothing billed, the estimate is freed).
   * With the call, remembers its size for later calls that continue it (previous_response_id, conversation) or name
   * the same Gemini cache.
   */
  settle(state: Record<string, unknown> | undefined, costUsd: number | null, call?: LlmCall): boolean {
    const s = state?.[STATE] as BudgetState | undefined;
    if (!s || s.settled) return false;
    s.settled = true;
    if (call) this.remember(s, call);
    if (s.unreserved) {
      const keys = s.reservation.lines.map((l) => l.key);
      const writeId = randomUUID();
      if (costUsd)
        this.write(
          'add',
          () => this.ledger.add(keys, costUsd, writeId),
          () => this.afterSpend(s.reservation.lines),
        );
      return true;
    }
    this.write(
      'settle',
      () => this.ledger.settle(s.reservation, costUsd ?? 0),
      () => this.afterSpend(s.reservation.lines),
    );
    return true;
  }

  /**
   * Runs a ledger write off the call's path. One that fails (the ledger's database restarting or out of reach) is
   * tried again until LEDGER_RETRY_MS, then given up: never a rejection nobody handles, which would end the process
   * (with `serve --workers`, the recorder and with it every worker).
   */
  private write(op: 'settle' | 'add', run: () => void | Promise<void>, after: () => Promise<void>): void {
    const since = Date.now();
    const attempt = (wait: number): void => {
      // Run at once (the in-process ledger settles synchronously: the next admission sees the hold released).
      let done: Promise<void>;
      try {
        done = Promise.resolve(run());
      } catch (err) {
        done = Promise.reject(err);
      }
      done.then(
        () => after().catch(() => undefined),
        (err: unknown) => {
          const retrying = Date.now() - since + wait <= LEDGER_RETRY_MS;
          this.events.onLedgerError?.(op, err, retrying);
          if (retrying) setTimeout(() => attempt(Math.min(wait * 2, 10_000)), wait).unref();
        },
      );
    };
    attempt(500);
  }

  /** True when the call took a reservation that is not settled yet. */
  pending(state: Record<string, unknown> | undefined): boolean {
    const s = state?.[STATE] as BudgetState | undefined;
    return !!s && !s.settled;
  }

  /**
   * A bucket's spend was restored from the store (at start): the warn thresholds it has already passed were warned
   * of before (or passed while this process was not running), so they are not warned of again in this period.
   */
  restored(key: BudgetKey, spent: number): void {
    const b = this.byName.get(key.budget);
    if (!b || b.limit <= 0) return;
    const ratio = spent / b.limit;
    let passed = 0;
    for (const th of b.warn) if (ratio >= th) passed = th;
    const k = keyString(key);
    if (passed > (this.warned.get(k) ?? 0)) this.warned.set(k, passed);
  }

  /** Spend that went through no admission (ingested calls). */
  addUnreserved(call: LlmCall): void {
    if (!call.costUsd || this.budgets.length === 0) return;
    const keys = this.keysFor(call, call.startedAt).map((m) => m.key);
    if (keys.length === 0) return;
    const usd = call.costUsd;
    const writeId = randomUUID();
    this.write(
      'add',
      () => this.ledger.add(keys, usd, writeId),
      () => this.afterSpend(keys.map((key) => ({ key }))),
    );
  }

  private async afterSpend(lines: readonly { key: BudgetKey }[]): Promise<void> {
    for (const { key } of lines) {
      const b = this.byName.get(key.budget);
      if (!b || b.limit <= 0) continue;
      const st = await this.ledger.state(key);
      const ratio = st.spent / b.limit;
      if (key.periodStart === periodStart(b.period, this.now()) && ratio > (this.maxRatio.get(b.name) ?? 0)) {
        this.maxRatio.set(b.name, ratio);
        this.events.onRatio?.(b, ratio);
      }
      const k = keyString(key);
      const done = this.warned.get(k) ?? 0;
      let crossed = 0;
      for (const th of b.warn) if (ratio >= th && th > done) crossed = th;
      if (crossed > 0) {
        this.warned.set(k, crossed);
        // On PostgreSQL every replica sees the shared spend cross the threshold: the one that marks the bucket first
        // logs it (QA38: three replicas logged 1 three times, 0.5 twice). A mark that cannot be written logs anyway.
        const first = this.ledger.claimWarning
          ? await Promise.resolve(this.ledger.claimWarning(key, crossed)).catch(() => true)
          : true;
        if (first) this.events.onThreshold?.(b, key, crossed, ratio);
      }
    }
  }

  /** Each budget's spend ratio now: its own for one bucket, the largest of its buckets when each value has a limit. */
  async ratios(): Promise<Map<string, number>> {
    const t = this.now();
    const out = new Map<string, number>();
    for (const b of this.budgets) out.set(b.name, 0);
    for (const st of await this.ledger.buckets()) {
      const b = this.byName.get(st.key.budget);
      if (!b || b.limit <= 0 || st.key.periodStart !== periodStart(b.period, t)) continue;
      out.set(b.name, Math.max(out.get(b.name) ?? 0, st.spent / b.limit));
    }
    this.maxRatio.clear();
    for (const [k, v] of out) {
      this.maxRatio.set(k, v);
      this.events.onRatio?.(this.byName.get(k) as Budget, v);
    }
    return out;
  }

  /**
   * The budgets that refused a call at or after `since` (epoch ms): in this process, and on a shared-database ledger
   * (PostgreSQL replicas) on every replica. The ledger out of reach: this process's alone.
   */
  async blockedSince(since: number): Promise<Set<string>> {
    const out = new Set<string>();
    // Only refusals of the current period: a budget that refused calls at 23:59 has reset at midnight (QA38: it
    // kept BudgetExceeded firing into the new day, with nothing spent and nothing refused, for the rule's window).
    const t = this.now();
    for (const [name, at] of this.blockedAt) {
      const b = this.byName.get(name);
      if (b && at >= since && at >= periodStart(b.period, t)) out.add(name);
    }
    try {
      for (const k of (await this.ledger.blockedSince?.(since)) ?? []) {
        const b = this.byName.get(k.budget);
        if (b && k.periodStart === periodStart(b.period, t)) out.add(b.name);
      }
    } catch {
      /* the ledger's database out of reach: its failures are counted where calls use it */
    }
    return out;
  }

  /** The cached ratio (updated as spend is added and on every `ratios()`), for the gauge. */
  ratioOf(name: string): number {
    return this.maxRatio.get(name) ?? 0;
  }

  /** Drops buckets of past periods (keeps the previous one for the API) and their warning marks. */
  async prune(): Promise<void> {
    const t = this.now();
    await this.ledger.prune((k) => {
      const b = this.byName.get(k.budget);
      if (!b) return true;
      return k.periodStart < periodStart(b.period, periodStart(b.period, t) - 1);
    });
    for (const k of this.warned.keys()) {
      const ps = Number(k.slice(k.lastIndexOf('\u0000') + 1));
      if (ps < t - 62 * 86_400_000) this.warned.delete(k);
    }
  }
}

/** What of a hidden prompt the admission state keeps for settling (the ids whose size the call will tell). */
function chainOf(h: HiddenPrompt | null): Pick<BudgetState, 'conversation' | 'cachedContent'> {
  if (h?.conversation) return { conversation: h.conversation };
  if (h?.cachedContent) return { cachedContent: h.cachedContent };
  return {};
}

/** Sets a bounded map's entry as its newest, dropping the oldest past HIDDEN_PROMPT_MEMORY. */
function remember(m: Map<string, number>, key: string, value: number): void {
  m.delete(key);
  m.set(key, value);
  if (m.size > HIDDEN_PROMPT_MEMORY) m.delete(m.keys().next().value as string);
}

/**
 * Dollars in a budget's message: four decimals, as a cent's parts; an amount under $0.0001 (a tiny budget's, a cheap
 * model's estimate) to two significant digits rather than a $0.0000 that says nothing.
 */
export function usd(v: number): string {
  if (v === 0 || !Number.isFinite(v) || Math.abs(v) >= 0.0001) return v.toFixed(4);
  return Number(v.toPrecision(2)).toFixed(12).replace(/0+$/, '');
}

/** What a platform call's estimate is made of, for its refusal's message (undefined: a call's prompt and output). */
function unitBasis(units: BilledUnits | null, perUnit: boolean): string | undefined {
  if (units === null) return undefined;
  const n = units.count;
  if (units.unit === 'image')
    return perUnit
      ? `its ${n} image${n === 1 ? '' : 's'} at the model's price per image); ask for fewer or smaller images`
      : `its prompt and ${n} image${n === 1 ? '' : 's'}' output tokens by size and quality at the model's price); ask for fewer, smaller or lower-quality images`;
  if (!perUnit) return undefined;
  if (units.unit === 'character') return `its ${n} characters of input at the model's price); send a shorter input`;
  return `about ${n} seconds of audio, estimated from the upload's size at 16 kB a second); send a shorter recording`;
}

/**
 * The 429 for a call a `block` budget refuses. `estimate`: the call's own reservation; when spend and the calls in
 * flight leave room but not that much, the message says it is this call's estimate that would pass the limit (the
 * budget is not used up, and a call asking for fewer output tokens may still go).
 */
export function budgetExceeded(
  b: Budget,
  key: BudgetKey,
  spent: number,
  reserved: number,
  now: number,
  estimate = 0,
  basis = "its prompt and its max output tokens at the model's price); lower max_tokens",
): LlmscopeError {
  const resetAt = periodEnd(b.period, key.periodStart);
  const retryAfter = Math.max(1, Math.ceil((resetAt - now) / 1000));
  const who = b.scope === 'global' ? '' : ` for ${b.scope} "${key.value}"`;
  const inFlight = reserved > 0 ? ` (+$${usd(reserved)} reserved by calls in flight)` : '';
  const usedUp = spent + reserved >= b.limit;
  const setting = b.limitSetting ?? 'budgets[].limit';
  return new LlmscopeError(
    'LLMSCOPE_ERR_BUDGET_EXCEEDED',
    usedUp
      ? `budget "${b.name}"${who} is used up for this ${b.period}: $${usd(spent)} spent${inFlight} of $${b.limit}; ` +
          `it resets at ${new Date(resetAt).toISOString()}. Raise ${setting} in the config or wait for the reset.`
      : `budget "${b.name}"${who} has $${usd(b.limit - spent - reserved)} left for this ${b.period} ` +
          `($${usd(spent)} spent${inFlight} of $${b.limit}), less than this call may cost ($${usd(estimate)}: ${basis}, ` +
          `wait for calls in flight to end, or raise ` +
          `${setting} (it resets at ${new Date(resetAt).toISOString()}).`,
    // x-should-retry: the OpenAI and Anthropic SDKs sleep for whatever Retry-After says before retrying (hours, to the
    // reset): told not to, they raise the error at once.
    { headers: { 'retry-after': String(retryAfter), 'x-llmscope-budget': b.name, 'x-should-retry': 'false' } },
  );
}
