// bench:ingest's OTLP/HTTP protobuf bodies: BATCH spans per export request, each an LLM call by the OpenTelemetry
// GenAI conventions (operation, provider, model, token usage, user, session, a llmscope.meta.* key), encoded with
// protobufjs on the official message and field numbers. Each span is its own trace; trace ids start with a tag of
// the run, so its calls (request ids `otlp-<trace id>-<span id>`) can be counted by prefix.
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

/** `encode(tag, first, now)`: BATCH spans numbered from `first`; `tagOf(prefix)` gives the hex tag of the run. */
export function spanEncoder(batch) {
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
    /** The request-id prefix every call of this run's `prefix` has. */
    idPrefix: (prefix) => `otlp-${tagOf(prefix).toString('hex')}`,
    encode(prefix, first, now) {
      const tag = tagOf(prefix);
      const spans = [];
      for (let i = 0; i < batch; i++) {
        const k = first + i;
        const m = k % 4;
        const traceId = Buffer.alloc(16);
        tag.copy(traceId, 0);
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
      const msg = {
        resourceSpans: [
          {
            resource: { attributes: [str('service.name', 'bench-app')] },
            scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-openai', version: '0.1.0' }, spans }],
          },
        ],
      };
      return Request.encode(Request.fromObject(msg)).finish();
    },
  };
}
