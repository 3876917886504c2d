// Errors on the OTLP/HTTP routes, as the OTLP specification has them: "the response body for all HTTP 4xx and HTTP
// 5xx responses MUST be a Protobuf-encoded Status message that describes the problem" (google.rpc.Status), in the
// request's encoding (protobuf, or its JSON mapping for a JSON request). An OpenTelemetry Collector forwarding to
// llmscope logs Status.message; the status codes and Retry-After are the same as on every other route.
import type { IncomingMessage, ServerResponse } from 'node:http';
import protobuf from 'protobufjs';
import { renderError } from '../errors.js';

const Status = protobuf
  .parse(`syntax = "proto3"; package google.rpc; message Status { int32 code = 1; string message = 2; }`, {
    keepCase: true,
  })
  .root.lookupType('google.rpc.Status');

/** The OTLP/HTTP routes, where errors are answered as a Status. */
export function isOtlpPath(url: string | undefined): boolean {
  const path = (url ?? '').split('?', 1)[0] ?? '';
  return path === '/v1/traces' || path === '/v1/logs' || path === '/api/otlp/v1/traces' || path === '/api/otlp/v1/logs';
}

/** The gRPC code for an HTTP status (the spec does not use it, and a client may only record it; it says the kind). */
export function grpcCodeOf(status: number): number {
  switch (status) {
    case 400:
    case 413:
    case 415:
    case 422:
      return 3; // INVALID_ARGUMENT
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 5; // NOT_FOUND
    case 405:
      return 12; // UNIMPLEMENTED
    case 408:
    case 504:
      return 4; // DEADLINE_EXCEEDED
    case 429:
      return 8; // RESOURCE_EXHAUSTED
    case 499:
      return 1; // CANCELLED
    case 502:
    case 503:
      return 14; // UNAVAILABLE
    default:
      return status >= 500 ? 13 : 2; // INTERNAL, UNKNOWN
  }
}

/** Answers `err` on an OTLP route: the status and headers it always gets, the body a google.rpc.Status. */
export function sendOtlpError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const r = renderError(err);
  const status = { code: grpcCodeOf(r.status), message: r.body.error.message };
  const ct = String(req.headers['content-type'] ?? '')
    .split(';', 1)[0]
    ?.trim()
    .toLowerCase();
  const proto = ct === 'application/x-protobuf' || ct === 'application/protobuf';
  const body = proto ? Buffer.from(Status.encode(Status.fromObject(status)).finish()) : JSON.stringify(status);
  res.writeHead(r.status, {
    'content-type': proto ? 'application/x-protobuf' : 'application/json',
    'content-length': Buffer.byteLength(body),
    ...r.headers,
  });
  res.end(body);
}

/** Decodes a protobuf Status (tests read the receiver's error answers with it). */
export function decodeStatus(body: Uint8Array): { code: number; message: string } {
  const s = Status.toObject(Status.decode(body), { defaults: true }) as { code: number; message: string };
  return { code: s.code, message: s.message };
}
