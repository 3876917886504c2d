// OTLP/HTTP logs: ExportLogsServiceRequest in protobuf (opentelemetry-proto's logs, common, resource and
// collector/logs/v1 packages, the fields a receiver reads, same numbers as the official schema) or in OTLP JSON
// (lowerCamelCase keys, snake_case accepted, ids as hex, 64-bit integers as strings or numbers). The protobuf body is
// decoded by protobufjs into the JSON shape and read by the same JSON reader, so both encodings give the same
// records and the same errors: anything of the wrong type makes the whole body malformed (400, nothing stored).
import protobuf from 'protobufjs';
import { idOf, otlpJsonReader } from './json.js';
import { type Attributes, MalformedOtlpError } from './model.js';
import { COMMON_MESSAGES } from './proto.js';

const SCHEMA = `
syntax = "proto3";
package opentelemetry.proto.collector.logs.v1;

message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }
message ExportLogsPartialSuccess { int64 rejected_log_records = 1; string error_message = 2; }

message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
message LogRecord {
  fixed64 time_unix_nano = 1;
  fixed64 observed_time_unix_nano = 11;
  int32 severity_number = 2;
  string severity_text = 3;
  AnyValue body = 5;
  repeated KeyValue attributes = 6;
  uint32 dropped_attributes_count = 7;
  fixed32 flags = 8;
  bytes trace_id = 9;
  bytes span_id = 10;
  string event_name = 12;
}
${COMMON_MESSAGES}`;

export const logsRoot = protobuf.parse(SCHEMA, { keepCase: false }).root;
const Request = logsRoot.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const Response = logsRoot.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');

/** One log record of an export, as the logs receiver reads it. */
export interface OtlpLogRecord {
  /** time_unix_nano, else 0n. */
  timeNs: bigint;
  observedNs: bigint;
  /** The record's event_name field (OTLP 1.5+), else ''. */
  eventName: string;
  /** The body when it is a string (Claude Code puts the event's full name there), else null. */
  body: string | null;
  attributes: Attributes;
  resource: Attributes;
  scope: { name: string; version: string };
  /** Hex, '' when absent. */
  traceId: string;
  spanId: string;
}

type Obj = Record<string, unknown>;
const { bad, field, obj, list, str, nanos, anyValue, attributes } = otlpJsonReader(
  'not an OTLP ExportLogsServiceRequest',
);

function hexId(v: unknown, where: string, base64: boolean, bytes: number): string {
  const s = str(v, where);
  if (s === '') return '';
  // (JSON's hex ids, or base64 ones from protobuf's standard JSON mapping: idOf)
  return base64 ? Buffer.from(s, 'base64').toString('hex') : idOf(s, bytes);
}

/** The records of an export in the OTLP JSON shape (parsed); `base64Ids` for protobufjs's object form. */
export function decodeLogsJson(body: unknown, base64Ids = false): OtlpLogRecord[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) bad('the body', 'is not a JSON object');
  const out: OtlpLogRecord[] = [];
  list(field(body as Obj, 'resourceLogs'), 'resourceLogs').forEach((rlv, r) => {
    const rw = `resourceLogs[${r}]`;
    const rl = obj(rlv, rw);
    const resource = attributes(field(obj(field(rl, 'resource'), `${rw}.resource`), 'attributes'), `${rw}.resource`);
    list(field(rl, 'scopeLogs'), `${rw}.scopeLogs`).forEach((slv, s) => {
      const sw = `${rw}.scopeLogs[${s}]`;
      const sl = obj(slv, sw);
      const sc = obj(field(sl, 'scope'), `${sw}.scope`);
      const scope = { name: str(field(sc, 'name'), `${sw}.scope.name`), version: str(field(sc, 'version'), sw) };
      list(field(sl, 'logRecords'), `${sw}.logRecords`).forEach((lrv, n) => {
        const w = `${sw}.logRecords[${n}]`;
        const lr = obj(lrv, w);
        const bodyValue = field(lr, 'body');
        const b = bodyValue === undefined || bodyValue === null ? null : anyValue(bodyValue, `${w}.body`, 0);
        out.push({
          timeNs: nanos(field(lr, 'timeUnixNano'), `${w}.timeUnixNano`),
          observedNs: nanos(field(lr, 'observedTimeUnixNano'), `${w}.observedTimeUnixNano`),
          eventName: str(field(lr, 'eventName'), `${w}.eventName`),
          body: typeof b === 'string' ? b : null,
          attributes: attributes(field(lr, 'attributes'), `${w}.attributes`),
          resource,
          scope,
          traceId: hexId(field(lr, 'traceId'), `${w}.traceId`, base64Ids, 16),
          spanId: hexId(field(lr, 'spanId'), `${w}.spanId`, base64Ids, 8),
        });
      });
    });
  });
  return out;
}

/** The records of a protobuf ExportLogsServiceRequest; throws MalformedOtlpError when it is not one. */
export function decodeLogsProtobuf(body: Uint8Array): OtlpLogRecord[] {
  let message: protobuf.Message;
  try {
    message = Request.decode(body);
  } catch (err) {
    throw new MalformedOtlpError(`not an OTLP protobuf ExportLogsServiceRequest (${(err as Error).message})`);
  }
  const o = Request.toObject(message, { longs: String, bytes: String, defaults: false, oneofs: false });
  return decodeLogsJson(o, true);
}

/** ExportLogsServiceResponse, with partial_success when records were rejected. */
export function encodeLogsProtobufResponse(rejected: number, message: string): Buffer {
  const body =
    rejected > 0 ? { partialSuccess: { rejectedLogRecords: rejected, errorMessage: message } } : ({} as object);
  return Buffer.from(Response.encode(Response.create(body)).finish());
}

/** For tests: a protobuf body of the JSON-shaped export (ids as base64, as protobufjs's fromObject reads bytes). */
export function encodeLogsProtobuf(request: object): Buffer {
  return Buffer.from(Request.encode(Request.fromObject(request)).finish());
}
