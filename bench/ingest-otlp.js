// bench:ingest's OTLP/HTTP protobuf bodies: BATCH spans per export request, each an LLM call by the OpenTelemetry
// GenAI conventions (operation, provider, model, token usage, user, session, a llmscope.meta.* key), in the bytes
// protobufjs writes for the official messages and field numbers (`reference`), built the cheap way (`encode`). Each
// span is its own trace; trace ids start with a tag of the run, so its calls (request ids
// `otlp-<trace id>-<span id>`) can be counted by prefix.
import { randomBytes } from 'node:crypto';
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";
package opentelemetry.proto.collector.trace.v1;
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; Status status = 15;
}
message Status { string message = 2; int32 code = 3; }
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; } }
message KeyValue { string key = 1; AnyValue value = 2; }
`;
const Request = protobuf
  .parse(SCHEMA, { keepCase: false })
  .root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');

const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4-5', 'gemini-2.5-flash'];
const PROVIDERS = ['openai', 'openai', 'anthropic', 'gcp.gemini'];
const str = (key, v) => ({ key, value: { stringValue: v } });
const int = (key, v) => ({ key, value: { intValue: v } });

/** The export's message as protobufjs takes it (the reference form: `encode` writes the same bytes, checked). */
function messageOf(tag, batch, first, now) {
  const spans = [];
  for (let i = 0; i < batch; i++) {
    const k = first + i;
    const m = k % 4;
    const traceId = Buffer.alloc(16);
    tag.copy(traceId, 0);
    traceId.writeUInt32BE(mix(k), 6);
    traceId.writeUIntBE(k, 10, 6);
    const spanId = Buffer.alloc(8);
    spanId.writeUIntBE(k + 1, 2, 6);
    const start = BigInt(now - 2000 + (k % 1000)) * 1_000_000n;
    spans.push({
      traceId,
      spanId,
      name: `chat ${MODELS[m]}`,
      kind: 3,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: (start + BigInt(200 + (k % 700)) * 1_000_000n).toString(),
      attributes: [
        str('gen_ai.operation.name', 'chat'),
        str('gen_ai.provider.name', PROVIDERS[m]),
        str('gen_ai.request.model', MODELS[m]),
        int('gen_ai.usage.input_tokens', 100 + (k % 900)),
        int('gen_ai.usage.output_tokens', 20 + (k % 300)),
        str('user.id', `user-${k % 5000}`),
        str('session.id', `s-${Math.floor(k / 10)}`),
        str('llmscope.team', `team-${k % 20}`),
        str('llmscope.feature', `feature-${k % 8}`),
        str('llmscope.meta.tenant', `t-${k % 50}`),
      ],
      status: { code: 1 },
    });
  }
  return {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', 'bench-app')] },
        scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-openai', version: '0.1.0' }, spans }],
      },
    ],
  };
}

/**
 * 32 bits that look random, from the span's number: they follow the run's tag in its trace id, so the trace ids of a
 * run (and the ids made from them) come in no order, as apps' random W3C trace ids do, while a run's calls are still
 * found by the tag (the first 6 bytes).
 */
function mix(k) {
  let h = Math.imul(k ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A varint's bytes. */
function varint(n) {
  const out = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
/** A length-delimited field: its tag, its length, its bytes. */
const field = (no, bytes) => Buffer.concat([varint((no << 3) | 2), varint(bytes.length), bytes]);
const text = (no, s) => field(no, Buffer.from(s, 'utf8'));
/** KeyValue { key, value: AnyValue { string_value } } and { ..., int_value }. */
const kvTextBody = (key, v) => Buffer.concat([text(1, key), field(2, text(1, v))]);
const kvIntBody = (key, v) => Buffer.concat([text(1, key), field(2, Buffer.concat([varint(3 << 3), varint(v)]))]);
/** A span attribute (Span field 9). */
const kvText = (key, v) => field(9, kvTextBody(key, v));
const kvInt = (key, v) => field(9, kvIntBody(key, v));

/**
 * The same export's bytes written into one buffer from cached pieces (each attribute's encoding for each value is
 * made once), not from message objects: protobufjs's fromObject + encode cost the sender about 15 µs a span, a
 * fifth of what the server spends storing it, on the same 2 cores. Fields in protobufjs's order (by number), so the
 * bytes are equal (bench/ingest.js checks at its start against `reference`).
 */
function exportWriter() {
  /** Each attribute's encodings by the number its value is made from (lazily: index → bytes). */
  const table = (make) => {
    const t = [];
    return (n) => {
      t[n] ??= make(n);
      return t[n];
    };
  };
  const NAME = table((m) => text(5, `chat ${MODELS[m]}`));
  const OPERATION = kvText('gen_ai.operation.name', 'chat');
  const PROVIDER = table((m) => kvText('gen_ai.provider.name', PROVIDERS[m]));
  const MODEL = table((m) => kvText('gen_ai.request.model', MODELS[m]));
  const INPUT = table((n) => kvInt('gen_ai.usage.input_tokens', 100 + n));
  const OUTPUT = table((n) => kvInt('gen_ai.usage.output_tokens', 20 + n));
  const USER = table((n) => kvText('user.id', `user-${n}`));
  const TEAM = table((n) => kvText('llmscope.team', `team-${n}`));
  const FEATURE = table((n) => kvText('llmscope.feature', `feature-${n}`));
  const TENANT = table((n) => kvText('llmscope.meta.tenant', `t-${n}`));
  /** A session lasts 10 spans: its encoding is made when it starts. */
  let lastSession = -1;
  let sessionBytes = null;
  const session = (n) => {
    if (n !== lastSession) {
      lastSession = n;
      sessionBytes = kvText('session.id', `s-${n}`);
    }
    return sessionBytes;
  };
  const STATUS_OK = field(15, Buffer.from([3 << 3, 1]));
  const KIND_CLIENT = Buffer.from([6 << 3, 3]);
  const resource = field(1, field(1, kvTextBody('service.name', 'bench-app')));
  const scope = field(1, Buffer.concat([text(1, '@opentelemetry/instrumentation-openai'), text(2, '0.1.0')]));
  return (tag, batch, first, now) => {
    const out = Buffer.alloc(batch * 700 + 4096);
    let o = 0;
    const put = (b) => {
      b.copy(out, o);
      o += b.length;
    };
    const putVarint = (n) => {
      while (n > 127) {
        out[o++] = (n & 127) | 128;
        n = Math.floor(n / 128);
      }
      out[o++] = n;
    };
    for (let i = 0; i < batch; i++) {
      const k = first + i;
      const m = k % 4;
      const startMs = now - 2000 + (k % 1000);
      const parts = [
        NAME(m),
        KIND_CLIENT,
        null, // times, written in place
        OPERATION,
        PROVIDER(m),
        MODEL(m),
        INPUT(k % 900),
        OUTPUT(k % 300),
        USER(k % 5000),
        session(Math.floor(k / 10)),
        TEAM(k % 20),
        FEATURE(k % 8),
        TENANT(k % 50),
        STATUS_OK,
      ];
      let len = 18 + 10 + 18; // trace id, span id, the two times
      for (const p of parts) if (p) len += p.length;
      out[o++] = (2 << 3) | 2; // ScopeSpans.spans
      putVarint(len);
      out[o++] = (1 << 3) | 2;
      out[o++] = 16;
      tag.copy(out, o);
      out.writeUInt32BE(mix(k), o + 6);
      out.writeUIntBE(k, o + 10, 6);
      o += 16;
      out[o++] = (2 << 3) | 2;
      out[o++] = 8;
      out.fill(0, o, o + 2);
      out.writeUIntBE(k + 1, o + 2, 6);
      o += 8;
      for (const p of parts) {
        if (p) put(p);
        else {
          out[o++] = (7 << 3) | 1;
          out.writeBigUInt64LE(BigInt(startMs) * 1_000_000n, o);
          o += 8;
          out[o++] = (8 << 3) | 1;
          out.writeBigUInt64LE(BigInt(startMs + 200 + (k % 700)) * 1_000_000n, o);
          o += 8;
        }
      }
    }
    const spans = out.subarray(0, o);
    const scopeSpans = field(2, Buffer.concat([scope, spans]));
    return field(1, Buffer.concat([resource, scopeSpans]));
  };
}

/** `encode(tag, first, now)`: BATCH spans numbered from `first`; `tagOf(prefix)` gives the hex tag of the run. */
export function spanEncoder(batch) {
  const writeExport = exportWriter();
  const tags = new Map();
  const tagOf = (prefix) => {
    let t = tags.get(prefix);
    if (!t) {
      t = randomBytes(6);
      tags.set(prefix, t);
    }
    return t;
  };
  return {
    /** The trace-id prefix every call of this run's `prefix` has (whatever form its request id takes). */
    tracePrefix: (prefix) => tagOf(prefix).toString('hex'),
    encode(prefix, first, now) {
      return writeExport(tagOf(prefix), batch, first, now);
    },
    /** protobufjs's encoding of the same export, from message objects (what `encode` was; `encode` must match it). */
    reference(prefix, first, now) {
      return Request.encode(Request.fromObject(messageOf(tagOf(prefix), batch, first, now))).finish();
    },
  };
}
