// OTLP/HTTP logs: ExportLogsServiceRequest in protobuf (opentelemetry-proto's logs, common, resource and
// collector/logs/v1 packages, the fields a receiver reads, same numbers as the official schema) or in OTLP JSON
// (lowerCamelCase keys, snake_case accepted, ids as hex, 64-bit integers as strings or numbers). The protobuf body is
// decoded by protobufjs into the JSON shape and read by the same JSON reader, so both encodings give the same
// records and the same errors: anything of the wrong type makes the whole body malformed (400, nothing stored).
import protobuf from 'protobufjs';
import { type Attributes, type AttrValue, MalformedOtlpError } from './model.js';

const SCHEMA = `
syntax = "proto3";
package opentelemetry.proto.collector.logs.v1;

message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }
message ExportLogsPartialSuccess { int64 rejected_log_records = 1; string error_message = 2; }

message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message InstrumentationScope {
  string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4;
}
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
const MAX_VALUE_DEPTH = 8;

function bad(where: string, what: string): never {
  throw new MalformedOtlpError(`not an OTLP ExportLogsServiceRequest: ${where} ${what}`);
}

function field(o: Obj, camel: string): unknown {
  if (camel in o) return o[camel];
  return o[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
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
    if (typeof d === 'string' && /^(-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|NaN|-?Infinity)$/.test(d)) return Number(d);
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

function hexId(v: unknown, where: string, base64: boolean): string {
  const s = str(v, where);
  if (s === '') return '';
  return base64 ? Buffer.from(s, 'base64').toString('hex') : s.toLowerCase();
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
          traceId: hexId(field(lr, 'traceId'), `${w}.traceId`, base64Ids),
          spanId: hexId(field(lr, 'spanId'), `${w}.spanId`, base64Ids),
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
