// The OTLP/HTTP trace receiver (POST /v1/traces): LLM spans become calls, their traces' other spans stay with them.
export { decodeJson } from './json.js';
export { decodeLogsJson, decodeLogsProtobuf, encodeLogsProtobuf, type OtlpLogRecord } from './logs-decode.js';
export { eventNameOf, logRequestIdOf, logToOutcome } from './logs-map.js';
export { LOG_RESULTS, type LogResult, type LogsOutcome, OtlpLogsReceiver } from './logs-receiver.js';
export {
  invalidReason,
  isLlmSpan,
  metadataOfSpan,
  requestIdOf,
  spanToCall,
  textsOfSpan,
  toSpanRecord,
} from './map.js';
export { MalformedOtlpError, type OtlpSpan } from './model.js';
export { decodeProtobuf, decodeProtobufResponse, encodeProtobufResponse } from './proto.js';
export {
  type ExportOutcome,
  MAX_TRACE_SPANS,
  OTLP_BODY_LIMIT,
  OtlpReceiver,
  PENDING_MS,
  SPAN_RESULTS,
  type SpanResult,
} from './receiver.js';
export { type TraceSpanStore, traceSpanStoreFor } from './storage/index.js';
