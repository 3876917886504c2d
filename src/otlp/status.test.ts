// OTLP routes answer errors as google.rpc.Status (the OTLP/HTTP spec), in the request's encoding.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { LlmscopeError } from '../errors.js';
import { decodeStatus, grpcCodeOf, isOtlpPath, sendOtlpError } from './status.js';

async function answer(err: unknown, contentType: string) {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => sendOtlpError(req, res, err));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const r = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: '{}',
    });
    return { status: r.status, headers: r.headers, body: new Uint8Array(await r.arrayBuffer()) };
  } finally {
    server.close();
  }
}

describe('OTLP error answers', () => {
  it('protobuf export: a protobuf Status with the gRPC code, the message, and the status and headers of the error', async () => {
    const err = new LlmscopeError('LLMSCOPE_ERR_OVERLOADED', 'the recorder is full; retry', {
      headers: { 'retry-after': '2' },
    });
    const r = await answer(err, 'application/x-protobuf');
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('2');
    expect(r.headers.get('content-type')).toBe('application/x-protobuf');
    expect(decodeStatus(r.body)).toEqual({ code: 14, message: 'the recorder is full; retry' });
  });

  it("JSON export: Status's JSON mapping; an unknown error is 500 INTERNAL without its details", async () => {
    const r = await answer(new Error('secret stack detail'), 'application/json; charset=utf-8');
    expect(r.status).toBe(500);
    expect(r.headers.get('content-type')).toBe('application/json');
    const body = JSON.parse(Buffer.from(r.body).toString('utf8')) as { code: number; message: string };
    expect(body.code).toBe(13);
    expect(body.message).not.toMatch(/secret/);
  });

  it('knows its routes and maps statuses', () => {
    for (const p of ['/v1/traces', '/v1/logs?x=1', '/api/otlp/v1/traces', '/api/otlp/v1/logs'])
      expect(isOtlpPath(p)).toBe(true);
    for (const p of ['/v1/chat/completions', '/v1/traces/x', '/api/ingest', undefined])
      expect(isOtlpPath(p)).toBe(false);
    expect([400, 401, 403, 404, 413, 415, 429, 503, 500].map(grpcCodeOf)).toEqual([3, 16, 7, 5, 3, 3, 8, 14, 13]);
  });
});
