// OTLP/HTTP protobuf: the trace export request and response messages, decoded and encoded by protobufjs.
// The schema is the part of opentelemetry-proto's trace, common, resource and collector/trace/v1 packages a
// receiver reads (same package, message and field numbers, so the wire format is the official one); fields it
// does not name (links, dropped counts, trace state) are skipped by the decoder as unknown fields.
import protobuf from 'protobufjs';
import type { Turns } from '../http/json-stream.js';
import { type Attributes, type AttrValue, MalformedOtlpError, type OtlpEvent, type OtlpSpan } from './model.js';

/**
 * opentelemetry-proto's common and resource messages, as the trace and the logs schema (logs-decode.ts) both use them:
 * each schema string ends with these, in its own package.
 */
export const COMMON_MESSAGES = `
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message InstrumentationScope {
  string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4;
}
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
`;

const SCHEMA = `
syntax = "proto3";
package opentelemetry.proto.collector.trace.v1;

message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
message ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }

message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  repeated Event events = 11;
  uint32 dropped_events_count = 12;
  uint32 dropped_links_count = 14;
  Status status = 15;
  fixed32 flags = 16;
}
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Status { string message = 2; int32 code = 3; }
${COMMON_MESSAGES}`;

/** The parsed schema (test-only encoders and the reference decoder in testing.ts look their types up in it). */
export const root = protobuf.parse(SCHEMA, { keepCase: false }).root;
const Response = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');

/** Nesting allowed in attribute values (arrays and key-value lists), deeper levels read as null. */
export const MAX_VALUE_DEPTH = 8;

// The request is read straight off the wire into OtlpSpan objects with protobufjs's Reader, one function per message
// of the schema above, instead of protobufjs decoding message objects (and a Long per time) that were then copied
// into spans: the same spans, and the same errors, as protobufjs's decoder (src/otlp/testing.ts keeps it; the
// equivalence test compares them). Like protobufjs's generated code, each function switches on the field number
// only (a known field is read as its declared type whatever the wire type says), skips unknown fields (links,
// dropped counts of messages not named), a repeated message field appends and a singular one replaces, counts
// nesting (`n`, at most Reader.recursionLimit) and bounds every nested message by its length.
type Reader = protobuf.Reader;
const { Reader } = protobuf;

interface LongLike {
  low: number;
  high: number;
}

/** Enters a nested message of `len` bytes: checks depth and length as protobufjs's decoders do; returns its end. */
function enter(r: Reader, n: number): number {
  const len = r.uint32();
  if (n > Reader.recursionLimit) throw Error('maximum nesting depth exceeded');
  const end = r.pos + len;
  if (end > r.len) throw RangeError('index out of range');
  return end;
}

/** Leaves a nested message entered with `enter` (its reader length was set to `end`), restoring `outer`. */
function leave(r: Reader, end: number, outer: number): void {
  if (r.pos !== end) throw RangeError('index out of range');
  r.len = outer;
}

/** fixed64 as an unsigned bigint (OTLP times). */
function fixed64(r: Reader): bigint {
  const v = r.fixed64() as unknown as LongLike | number;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}

/** int64 as a number (exact up to 2^53), as attributes carry it. */
function int64(r: Reader): number {
  const v = r.int64() as unknown as LongLike | number;
  if (typeof v === 'number') return v;
  return v.high * 4_294_967_296 + (v.low >>> 0);
}

const hex = (b: Uint8Array): string =>
  b.length > 0 ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex') : '';

/**
 * A bytes field read as hex (trace and span ids): straight from the body's Buffer, without the two views `r.bytes()`
 * and `hex` make of it; the same string and the same errors as `hex(r.bytes())` (whose read it falls back to when the
 * length runs past the message, or the reader's buffer is not a Buffer).
 */
function hexField(r: Reader): string {
  const buf = (r as unknown as { buf: Uint8Array }).buf;
  if (!Buffer.isBuffer(buf)) return hex(r.bytes());
  const at = r.pos;
  const len = r.uint32();
  const start = r.pos;
  const end = start + len;
  if (end > r.len) {
    r.pos = at;
    return hex(r.bytes());
  }
  r.pos = end;
  return len > 0 ? (buf as Buffer).toString('hex', start, end) : '';
}

// AnyValue's oneof: protobufjs's message reports the member first set last (its own keys' order), so the value taken
// is the last value of that member.
const STRING = 1;
const BOOL = 2;
const INT = 3;
const DOUBLE = 4;
const ARRAY = 5;
const KVLIST = 6;
const BYTES = 7;

function anyValue(r: Reader, n: number, depth: number): AttrValue {
  const end = enter(r, n);
  const outer = r.len;
  r.len = end;
  let set = 0;
  let which = 0;
  let str = '';
  let bool = false;
  let int = 0;
  let dbl = 0;
  // an array or a list read only when the value has one (most are strings or numbers: no garbage for them)
  let list: AttrValue[] | null = null;
  let kv: Attributes | null = null;
  let bytes: Uint8Array | null = null;
  while (r.pos < end) {
    const t = r.uint32();
    const f = t >>> 3;
    switch (f) {
      case STRING:
        str = r.string();
        break;
      case BOOL:
        bool = r.bool();
        break;
      case INT:
        int = int64(r);
        break;
      case DOUBLE:
        dbl = r.double();
        break;
      case ARRAY:
        list = arrayValue(r, n + 1, depth + 1);
        break;
      case KVLIST:
        kv = keyValueList(r, n + 1, depth + 1);
        break;
      case BYTES:
        bytes = r.bytes();
        break;
      default:
        r.skipType(t & 7, n);
        continue;
    }
    if ((set & (1 << f)) === 0) {
      set |= 1 << f;
      which = f;
    }
  }
  leave(r, end, outer);
  if (depth > MAX_VALUE_DEPTH) return null;
  switch (which) {
    case STRING:
      return str;
    case BOOL:
      return bool;
    case INT:
      return int;
    case DOUBLE:
      return dbl;
    case ARRAY:
      return list ?? [];
    case KVLIST:
      return kv ?? {};
    case BYTES:
      return Buffer.from(bytes ?? []).toString('base64');
    default:
      return null;
  }
}

function arrayValue(r: Reader, n: number, depth: number): AttrValue[] {
  const end = enter(r, n);
  const outer = r.len;
  r.len = end;
  const out: AttrValue[] = [];
  while (r.pos < end) {
    const t = r.uint32();
    if (t >>> 3 === 1) out.push(anyValue(r, n + 1, depth));
    else r.skipType(t & 7, n);
  }
  leave(r, end, outer);
  return out;
}

function keyValueList(r: Reader, n: number, depth: number): Attributes {
  const end = enter(r, n);
  const outer = r.len;
  r.len = end;
  const out: Attributes = {};
  while (r.pos < end) {
    const t = r.uint32();
    if (t >>> 3 === 1) keyValue(r, n + 1, depth, out);
    else r.skipType(t & 7, n);
  }
  leave(r, end, outer);
  return out;
}

/** Attribute names read lately, by a hash of their bytes (the same few dozen names come in every span). */
const keyCache = new Map<number, { bytes: Uint8Array; name: string }>();

/**
 * An attribute's name: the string already made for the same bytes when there is one (no UTF-8 decoding, and the
 * same string each time, which V8 finds faster as a property name), else decoded. Reads exactly as protobufjs's
 * BufferReader.string does, which clamps a length past the message's end (a plain Uint8Array's reader throws there:
 * its own string() is used for those).
 */
function attributeName(r: Reader): string {
  const buf = (r as unknown as { buf: Uint8Array }).buf;
  if (!Buffer.isBuffer(buf)) return r.string();
  const len = r.uint32();
  const start = r.pos;
  const end = Math.min(start + len, r.len);
  r.pos = end;
  const n = end - start;
  if (n <= 0 || n > 96) return buf.toString('utf8', start, end);
  const h =
    (n << 20) ^ ((buf[start] as number) << 12) ^ ((buf[start + (n >> 1)] as number) << 6) ^ (buf[end - 1] as number);
  const had = keyCache.get(h);
  if (had !== undefined && had.bytes.length === n) {
    let k = 0;
    while (k < n && had.bytes[k] === buf[start + k]) k++;
    if (k === n) return had.name;
  }
  const name = buf.toString('utf8', start, end);
  if (keyCache.size >= 4096) keyCache.clear();
  keyCache.set(h, { bytes: Uint8Array.prototype.slice.call(buf, start, end), name });
  return name;
}

/** One KeyValue into `out` (a key-less one is left out; a later value of a key replaces the earlier). */
function keyValue(r: Reader, n: number, depth: number, out: Attributes): void {
  const end = enter(r, n);
  const outer = r.len;
  r.len = end;
  let key = '';
  let value: AttrValue = null;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        key = attributeName(r);
        break;
      case 2:
        value = anyValue(r, n + 1, depth);
        break;
      default:
        r.skipType(t & 7, n);
    }
  }
  leave(r, end, outer);
  if (key) out[key] = value;
}

/** Resource or InstrumentationScope: its attributes (field `attrField`), and the scope's name and version. */
function resourceOrScope(
  r: Reader,
  n: number,
  scope: boolean,
): { attributes: Attributes; name: string; version: string } {
  const end = enter(r, n);
  const outer = r.len;
  r.len = end;
  const attributes: Attributes = {};
  let name = '';
  let version = '';
  while (r.pos < end) {
    const t = r.uint32();
    const f = t >>> 3;
    if (scope ? f === 3 : f === 1) keyValue(r, n + 1, 0, attributes);
    else if (scope ? f === 4 : f === 2) r.uint32();
    else if (scope && f === 1) name = r.string();
    else if (scope && f === 2) version = r.string();
    else r.skipType(t & 7, n);
  }
  leave(r, end, outer);
  return { attributes, name, version };
}

function event(r: Reader, n: number): OtlpEvent {
  const end = enter(r, n);
  const outer = r.len;
  r.len = end;
  let timeNs = 0n;
  let name = '';
  const attributes: Attributes = {};
  while (r.pos < end) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        timeNs = fixed64(r);
        break;
      case 2:
        name = r.string();
        break;
      case 3:
        keyValue(r, n + 1, 0, attributes);
        break;
      default:
        r.skipType(t & 7, n);
    }
  }
  leave(r, end, outer);
  return { name, timeNs, attributes };
}

function status(r: Reader, n: number): { code: number; message: string } {
  const end = enter(r, n);
  const outer = r.len;
  r.len = end;
  let code = 0;
  let message = '';
  while (r.pos < end) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 2:
        message = r.string();
        break;
      case 3:
        code = r.int32();
        break;
      default:
        r.skipType(t & 7, n);
    }
  }
  leave(r, end, outer);
  return { code, message };
}

const NO_ATTRIBUTES: Attributes = {};
const NO_SCOPE = { name: '', version: '' };

/** A Span, its resource and scope filled in by the caller once their messages are read (they may come after). */
function span(r: Reader, n: number): OtlpSpan {
  const end = enter(r, n);
  const outer = r.len;
  r.len = end;
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let name = '';
  let kind = 0;
  let startNs = 0n;
  let endNs = 0n;
  const attributes: Attributes = {};
  const events: OtlpEvent[] = [];
  let st = { code: 0, message: '' };
  while (r.pos < end) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        traceId = hexField(r);
        break;
      case 2:
        spanId = hexField(r);
        break;
      case 3:
        r.string();
        break;
      case 4:
        parentSpanId = hexField(r);
        break;
      case 5:
        name = r.string();
        break;
      case 6:
        kind = r.int32();
        break;
      case 7:
        startNs = fixed64(r);
        break;
      case 8:
        endNs = fixed64(r);
        break;
      case 9:
        keyValue(r, n + 1, 0, attributes);
        break;
      case 10:
      case 12:
      case 14:
        r.uint32();
        break;
      case 11:
        events.push(event(r, n + 1));
        break;
      case 15:
        st = status(r, n + 1);
        break;
      case 16:
        r.fixed32();
        break;
      default:
        r.skipType(t & 7, n);
    }
  }
  leave(r, end, outer);
  return {
    traceId,
    spanId,
    parentSpanId: parentSpanId || null,
    name,
    kind,
    startNs,
    endNs,
    attributes,
    events,
    status: st,
    resource: NO_ATTRIBUTES,
    scope: NO_SCOPE,
  };
}

// scopeSpans, resourceSpans and decodeSteps are generators that yield after each span, so decodeProtobufInTurns can hand
// the event loop back between spans of a large export; decodeProtobuf runs them through at once.
function* scopeSpans(r: Reader, n: number, out: OtlpSpan[]): Generator<void, void> {
  const end = enter(r, n);
  const outer = r.len;
  r.len = end;
  const from = out.length;
  let scope = NO_SCOPE;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1: {
        const sc = resourceOrScope(r, n + 1, true);
        scope = { name: sc.name, version: sc.version };
        break;
      }
      case 2:
        out.push(span(r, n + 1));
        yield;
        break;
      case 3:
        r.string();
        break;
      default:
        r.skipType(t & 7, n);
    }
  }
  leave(r, end, outer);
  if (scope === NO_SCOPE) scope = { name: '', version: '' };
  for (let k = from; k < out.length; k++) (out[k] as OtlpSpan).scope = scope;
}

function* resourceSpans(r: Reader, n: number, out: OtlpSpan[]): Generator<void, void> {
  const end = enter(r, n);
  const outer = r.len;
  r.len = end;
  const from = out.length;
  let resource: Attributes | null = null;
  while (r.pos < end) {
    const t = r.uint32();
    switch (t >>> 3) {
      case 1:
        resource = resourceOrScope(r, n + 1, false).attributes;
        break;
      case 2:
        yield* scopeSpans(r, n + 1, out);
        break;
      case 3:
        r.string();
        break;
      default:
        r.skipType(t & 7, n);
    }
  }
  leave(r, end, outer);
  const shared = resource ?? {};
  for (let k = from; k < out.length; k++) (out[k] as OtlpSpan).resource = shared;
}

function* decodeSteps(body: Uint8Array, spans: OtlpSpan[]): Generator<void, void> {
  const r = Reader.create(body);
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t >>> 3 === 1) yield* resourceSpans(r, 1, spans);
    else r.skipType(t & 7, 0);
  }
}

const malformed = (err: unknown) =>
  new MalformedOtlpError(`not an OTLP protobuf ExportTraceServiceRequest (${(err as Error).message})`);

/** The spans of a protobuf ExportTraceServiceRequest; throws MalformedOtlpError when the bytes are not one. */
export function decodeProtobuf(body: Uint8Array): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  try {
    for (const _ of decodeSteps(body, spans));
  } catch (err) {
    throw malformed(err);
  }
  return spans;
}

/**
 * decodeProtobuf, handing the event loop back between turns (Turns): 15 MiB of spans (40,000) took ~0.6-1.4 s in one
 * go on a busy 2-core host, during which no other client was served.
 */
export async function decodeProtobufInTurns(body: Uint8Array, turns: Turns): Promise<OtlpSpan[]> {
  const spans: OtlpSpan[] = [];
  try {
    let i = 0;
    for (const _ of decodeSteps(body, spans)) if (turns.due(i++)) await turns.next();
  } catch (err) {
    throw malformed(err);
  }
  return spans;
}

/** An ExportTraceServiceResponse in protobuf: empty when all spans were accepted, else with partial_success. */
export function encodeProtobufResponse(rejected: number, message: string): Uint8Array {
  const body = rejected > 0 ? { partialSuccess: { rejectedSpans: rejected, errorMessage: message } } : {};
  return Response.encode(Response.fromObject(body)).finish();
}

/** Decodes a protobuf ExportTraceServiceResponse (tests read the receiver's answers with it). */
export function decodeProtobufResponse(body: Uint8Array): { rejectedSpans: number; errorMessage: string } | null {
  const r = Response.toObject(Response.decode(body), { longs: Number }) as {
    partialSuccess?: { rejectedSpans?: number; errorMessage?: string };
  };
  if (!r.partialSuccess) return null;
  return { rejectedSpans: r.partialSuccess.rejectedSpans ?? 0, errorMessage: r.partialSuccess.errorMessage ?? '' };
}
