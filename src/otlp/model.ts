// The spans of one OTLP export, whichever encoding they came in (protobuf or JSON), as the receiver reads them:
// ids in lowercase hex, times in epoch nanoseconds (bigint), attributes as plain values.

export type AttrValue = string | number | boolean | null | AttrValue[] | { [key: string]: AttrValue };
export type Attributes = Record<string, AttrValue>;

/** OTLP's SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
export type SpanKindNumber = number;
/** OTLP's Status.code: 0 unset, 1 ok, 2 error. */
export type StatusCodeNumber = number;

export interface OtlpEvent {
  name: string;
  timeNs: bigint;
  attributes: Attributes;
}

export interface OtlpSpan {
  /** Raw ids as sent: hex when valid (32 and 16 characters), checked by the receiver. */
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: SpanKindNumber;
  startNs: bigint;
  endNs: bigint;
  attributes: Attributes;
  events: OtlpEvent[];
  status: { code: StatusCodeNumber; message: string };
  /** The resource's attributes (service.name, ...), shared by every span of its ResourceSpans. */
  resource: Attributes;
  scope: { name: string; version: string };
}

/** Thrown by the decoders for a body that is not an OTLP trace export: answered 400, nothing stored. */
export class MalformedOtlpError extends Error {}
