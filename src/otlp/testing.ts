// Test-only reference: the receiver's first protobuf decoder, protobufjs's reflective decode into message objects
// then converted to OtlpSpan. proto.ts now reads the wire directly; equivalence.test.ts checks both give the same
// spans (and the same errors) on varied exports. Also encodes export requests for tests (fromObject + encode).
import { Registry } from 'prom-client';
import type { LlmCall } from '../calls/index.js';
import { decodeJson } from './json.js';
import { isLlmSpan, spanToCall } from './map.js';
import { type Attributes, type AttrValue, MalformedOtlpError, type OtlpSpan } from './model.js';
import { MAX_VALUE_DEPTH, root } from './proto.js';
import { OtlpReceiver, type OtlpReceiverOptions } from './receiver.js';

const Request = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');

// The decoded messages, read directly (no toObject copy). Unset scalar fields read as their defaults (from the
// prototype), 64-bit integers as Long (or number), bytes as Uint8Array, and `value` names AnyValue's set field.
interface LongLike {
  low: number;
  high: number;
}
type Int64 = LongLike | number | string;
interface PbAnyValue {
  value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64;
  doubleValue?: number;
  arrayValue?: { values?: PbAnyValue[] } | null;
  kvlistValue?: { values?: PbKeyValue[] } | null;
  bytesValue?: Uint8Array;
}
interface PbKeyValue {
  key?: string;
  value?: PbAnyValue | null;
}
interface PbSpan {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  parentSpanId?: Uint8Array;
  name?: string;
  kind?: number;
  startTimeUnixNano?: Int64;
  endTimeUnixNano?: Int64;
  attributes?: PbKeyValue[];
  events?: { timeUnixNano?: Int64; name?: string; attributes?: PbKeyValue[] }[];
  status?: { message?: string; code?: number } | null;
}
interface PbRequest {
  resourceSpans?: {
    resource?: { attributes?: PbKeyValue[] } | null;
    scopeSpans?: { scope?: { name?: string; version?: string } | null; spans?: PbSpan[] }[];
  }[];
}

/** A 64-bit integer as bigint (unsigned: OTLP times are fixed64). */
function big(v: Int64 | undefined): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'string') return BigInt(v);
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}

/** A signed 64-bit integer attribute as a number (exact up to 2^53). */
function int64(v: Int64 | undefined): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  return v.high * 4_294_967_296 + (v.low >>> 0);
}

function anyValue(v: PbAnyValue | null | undefined, depth: number): AttrValue {
  if (!v || depth > MAX_VALUE_DEPTH) return null;
  switch (v.value) {
    case 'stringValue':
      return v.stringValue ?? '';
    case 'boolValue':
      return v.boolValue ?? false;
    case 'intValue':
      return int64(v.intValue);
    case 'doubleValue':
      return v.doubleValue ?? 0;
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map((x) => anyValue(x, depth + 1));
    case 'kvlistValue':
      return attributes(v.kvlistValue?.values, depth + 1);
    case 'bytesValue':
      return Buffer.from(v.bytesValue ?? []).toString('base64');
    default:
      return null;
  }
}

function attributes(kvs: PbKeyValue[] | undefined, depth = 0): Attributes {
  const out: Attributes = {};
  if (kvs) for (const kv of kvs) if (kv.key) out[kv.key] = anyValue(kv.value, depth);
  return out;
}

const hex = (b: Uint8Array | undefined): string =>
  b && b.length > 0 ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex') : '';

/** The spans of a protobuf ExportTraceServiceRequest; throws MalformedOtlpError when the bytes are not one. */
export function referenceDecodeProtobuf(body: Uint8Array): OtlpSpan[] {
  let msg: PbRequest;
  try {
    msg = Request.decode(body) as unknown as PbRequest;
  } catch (err) {
    throw new MalformedOtlpError(`not an OTLP protobuf ExportTraceServiceRequest (${(err as Error).message})`);
  }
  const spans: OtlpSpan[] = [];
  for (const rs of msg.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      const scope = { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' };
      for (const s of ss.spans ?? [])
        spans.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId) || null,
          name: s.name ?? '',
          kind: s.kind ?? 0,
          startNs: big(s.startTimeUnixNano),
          endNs: big(s.endTimeUnixNano),
          attributes: attributes(s.attributes),
          events: (s.events ?? []).map((e) => ({
            name: e.name ?? '',
            timeNs: big(e.timeUnixNano),
            attributes: attributes(e.attributes),
          })),
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
          resource,
          scope,
        });
    }
  }
  return spans;
}

/** An ExportTraceServiceRequest in protobuf from its protobufjs object form (ids as bytes, times as decimal strings). */
export function encodeExportRequest(msg: Record<string, unknown>): Uint8Array {
  return Request.encode(Request.fromObject(msg)).finish();
}

/**
 * One span (trace `ab…`, span `cd…`, from 1700000000 s for `durationMs`, default 1 s; named `name`, default `chat`) with
 * these attributes (strings; whole numbers as intValue, others as doubleValue), decoded from OTLP/JSON as the receiver
 * decodes it.
 */
export function attributeSpan(
  attrs: Record<string, string | number>,
  o: { name?: string; durationMs?: number } = {},
): OtlpSpan {
  const [s] = decodeJson({
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: [
              {
                traceId: 'ab'.repeat(16),
                spanId: 'cd'.repeat(8),
                name: o.name ?? 'chat',
                startTimeUnixNano: '1700000000000000000',
                endTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(o.durationMs ?? 1000) * 1_000_000n),
                attributes: Object.entries(attrs).map(([key, v]) => ({
                  key,
                  value:
                    typeof v !== 'number'
                      ? { stringValue: v }
                      : Number.isInteger(v)
                        ? { intValue: String(v) }
                        : { doubleValue: v },
                })),
              },
            ],
          },
        ],
      },
    ],
  });
  if (!s) throw new Error('no span');
  return s;
}

/** attributeSpan's span as the call it is recorded as; throws when it is not an LLM call's span. */
export function attributeCall(
  attrs: Record<string, string | number>,
  o: { name?: string; durationMs?: number } = {},
): LlmCall {
  const s = attributeSpan(attrs, o);
  if (!isLlmSpan(s)) throw new Error('not an LLM span');
  return spanToCall(s);
}

/**
 * A receiver for tests: what it records goes to `recorded`, the store knows no call ids, the body limit is 1 MiB and
 * the registry its own; `opts` replaces any of them or adds the rest.
 */
export function recordingReceiver(opts: Partial<OtlpReceiverOptions> = {}): {
  r: OtlpReceiver;
  recorded: LlmCall[];
  registry: Registry;
} {
  const recorded: LlmCall[] = [];
  const registry = opts.registry ?? new Registry();
  const r = new OtlpReceiver({
    recorder: { record: (c) => void recorded.push(c) },
    store: { knownIds: async () => new Set<string>() },
    bodyLimit: 1 << 20,
    ...opts,
    registry,
  });
  return { r, recorded, registry };
}
