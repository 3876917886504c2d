// OTLP/HTTP JSON: the protobuf JSON mapping of ExportTraceServiceRequest as the OTLP specification defines it
// (lowerCamelCase keys, trace and span ids as hex strings, 64-bit integers as decimal strings or numbers, enums as
// integers). snake_case keys and enum names are accepted too, as the Collector's decoder does. Any value of the wrong
// type makes the whole body malformed (400, nothing stored), as a protobuf decode error would.
import type { Turns } from '../http/json-stream.js';
import { type Attributes, type AttrValue, MalformedOtlpError, type OtlpEvent, type OtlpSpan } from './model.js';

type Obj = Record<string, unknown>;
const MAX_VALUE_DEPTH = 8;

/**
 * The readers of OTLP's JSON mapping shared by the trace and the logs export (and by protobuf bodies that protobufjs
 * turned into that shape): each checks a value's type and throws MalformedOtlpError, its message starting `prefix`
 * and naming where in the body the value was.
 */
export function otlpJsonReader(prefix: string) {
  function bad(where: string, what: string): never {
    throw new MalformedOtlpError(`${prefix}: ${where} ${what}`);
  }

  /** The field under its lowerCamelCase name, or its proto (snake_case) name. */
  function field(o: Obj, camel: string): unknown {
    if (camel in o) return o[camel];
    const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    return o[snake];
  }

  function obj(v: unknown, where: string): Obj {
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) bad(where, 'is not an object');
    return v as Obj;
  }

  function list(v: unknown, where: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) bad(where, 'is not an array');
    return v;
  }

  function str(v: unknown, where: string): string {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') bad(where, 'is not a string');
    return v;
  }

  function nanos(v: unknown, where: string): bigint {
    if (v === undefined || v === null || v === '') return 0n;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v);
    if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v);
    return bad(where, 'is not a time in unix nanoseconds');
  }

  function int(v: unknown, where: string): number {
    if (v === undefined || v === null) return 0;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return Number(v);
    return bad(where, 'is not an integer');
  }

  function anyValue(v: unknown, where: string, depth: number): AttrValue {
    if (depth > MAX_VALUE_DEPTH) return null;
    const o = obj(v, where);
    const s = field(o, 'stringValue');
    if (s !== undefined) return str(s, `${where}.stringValue`);
    const b = field(o, 'boolValue');
    if (b !== undefined) {
      if (typeof b !== 'boolean') bad(`${where}.boolValue`, 'is not a boolean');
      return b;
    }
    const i = field(o, 'intValue');
    if (i !== undefined) return int(i, `${where}.intValue`);
    const d = field(o, 'doubleValue');
    if (d !== undefined) {
      if (typeof d === 'number') return d;
      if (d === 'NaN' || d === 'Infinity' || d === '-Infinity') return Number(d);
      // proto3's JSON mapping takes a double written as a string too ("120.5", "1e3"), as protojson reads it
      if (typeof d === 'string' && /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(d)) return Number(d);
      return bad(`${where}.doubleValue`, 'is not a number');
    }
    const a = field(o, 'arrayValue');
    if (a !== undefined)
      return list(field(obj(a, where), 'values'), `${where}.arrayValue.values`).map((x, n) =>
        anyValue(x, `${where}.arrayValue.values[${n}]`, depth + 1),
      );
    const kv = field(o, 'kvlistValue');
    if (kv !== undefined) return attributes(field(obj(kv, where), 'values'), `${where}.kvlistValue.values`, depth + 1);
    const bytes = field(o, 'bytesValue');
    if (bytes !== undefined) return str(bytes, `${where}.bytesValue`);
    return null;
  }

  function attributes(v: unknown, where: string, depth = 0): Attributes {
    const out: Attributes = {};
    list(v, where).forEach((kv, n) => {
      const o = obj(kv, `${where}[${n}]`);
      const key = str(field(o, 'key'), `${where}[${n}].key`);
      if (key) out[key] = anyValue(field(o, 'value'), `${where}[${n}].value`, depth);
    });
    return out;
  }

  return { bad, field, obj, list, str, nanos, int, anyValue, attributes };
}

const { bad, field, obj, list, str, nanos, int, attributes } = otlpJsonReader(
  'not an OTLP JSON ExportTraceServiceRequest',
);

const KINDS: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const CODES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

function enumValue(v: unknown, names: Record<string, number>, where: string): number {
  if (typeof v === 'string' && v in names) return names[v] as number;
  return int(v, where);
}

const BASE64_ID = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * A trace, span or parent span id as the receiver keeps it (lowercase hex). OTLP/JSON writes ids in hex; senders that
 * use protobuf's standard JSON mapping on OTLP's messages (Go's protojson, Python's json_format) write them in base64
 * (`S/knNXezTaajzpKdDg5HNg==`): such an id, when it is base64 of exactly the id's bytes, is taken as those bytes.
 * Anything else is kept as sent (and the span rejected with the reason, as before).
 */
export function idOf(v: string, bytes: number): string {
  if (v.length === bytes * 2) return v.toLowerCase();
  // (padded, or unpadded as base64url often is: 24 or 22 characters for 16 bytes, 12 or 11 for 8)
  if ((v.length !== Math.ceil(bytes / 3) * 4 && v.length !== Math.ceil((bytes * 4) / 3)) || !BASE64_ID.test(v))
    return v.toLowerCase();
  const b = Buffer.from(v, 'base64');
  return b.length === bytes ? b.toString('hex') : v.toLowerCase();
}

/** The spans of a JSON ExportTraceServiceRequest (already parsed); throws MalformedOtlpError when it is not one. */
export function decodeJson(body: unknown): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  for (const _ of decodeSteps(body, spans));
  return spans;
}

/** decodeJson, handing the event loop back between turns (Turns): a 15 MiB export holds ~20,000 spans. */
export async function decodeJsonInTurns(body: unknown, turns: Turns): Promise<OtlpSpan[]> {
  const spans: OtlpSpan[] = [];
  let i = 0;
  for (const _ of decodeSteps(body, spans)) if (turns.due(i++)) await turns.next();
  return spans;
}

/** Decodes the spans of `body` into `spans`, yielding after each. */
function* decodeSteps(body: unknown, spans: OtlpSpan[]): Generator<void, void> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) bad('the body', 'is not a JSON object');
  const rsList = list(field(body as Obj, 'resourceSpans'), 'resourceSpans');
  for (let r = 0; r < rsList.length; r++) {
    const rw = `resourceSpans[${r}]`;
    const rs = obj(rsList[r], rw);
    const resource = attributes(field(obj(field(rs, 'resource'), `${rw}.resource`), 'attributes'), `${rw}.resource`);
    const ssList = list(field(rs, 'scopeSpans'), `${rw}.scopeSpans`);
    for (let s = 0; s < ssList.length; s++) {
      const sw = `${rw}.scopeSpans[${s}]`;
      const ss = obj(ssList[s], sw);
      const sc = obj(field(ss, 'scope'), `${sw}.scope`);
      const scope = { name: str(field(sc, 'name'), `${sw}.scope.name`), version: str(field(sc, 'version'), sw) };
      const spList = list(field(ss, 'spans'), `${sw}.spans`);
      for (let n = 0; n < spList.length; n++) {
        const w = `${sw}.spans[${n}]`;
        const sp = obj(spList[n], w);
        const status = obj(field(sp, 'status'), `${w}.status`);
        const events: OtlpEvent[] = list(field(sp, 'events'), `${w}.events`).map((ev, e) => {
          const eo = obj(ev, `${w}.events[${e}]`);
          return {
            name: str(field(eo, 'name'), `${w}.events[${e}].name`),
            timeNs: nanos(field(eo, 'timeUnixNano'), `${w}.events[${e}].timeUnixNano`),
            attributes: attributes(field(eo, 'attributes'), `${w}.events[${e}].attributes`),
          };
        });
        spans.push({
          traceId: idOf(str(field(sp, 'traceId'), `${w}.traceId`), 16),
          spanId: idOf(str(field(sp, 'spanId'), `${w}.spanId`), 8),
          parentSpanId: idOf(str(field(sp, 'parentSpanId'), `${w}.parentSpanId`), 8) || null,
          name: str(field(sp, 'name'), `${w}.name`),
          kind: enumValue(field(sp, 'kind'), KINDS, `${w}.kind`),
          startNs: nanos(field(sp, 'startTimeUnixNano'), `${w}.startTimeUnixNano`),
          endNs: nanos(field(sp, 'endTimeUnixNano'), `${w}.endTimeUnixNano`),
          attributes: attributes(field(sp, 'attributes'), `${w}.attributes`),
          events,
          status: {
            code: enumValue(field(status, 'code'), CODES, `${w}.status.code`),
            message: str(field(status, 'message'), `${w}.status.message`),
          },
          resource,
          scope,
        });
        yield;
      }
    }
  }
}
