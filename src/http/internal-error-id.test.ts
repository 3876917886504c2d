// internalErrorId: the id an internal error's answer and its `http_error` log line share, in one process
// (server.ts) and in a gateway worker (cluster/worker.ts, whose log line had no id): the call's own x-request-id
// where it has one, else a new UUIDv7 set as x-request-id on the answer.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { internalErrorId } from './reply.js';

const answer = () => new ServerResponse(new IncomingMessage(new Socket()));

describe('internalErrorId', () => {
  it("keeps a call's own x-request-id", () => {
    const res = answer();
    res.setHeader('x-request-id', 'call-1');
    expect(internalErrorId(res)).toBe('call-1');
    expect(res.getHeader('x-request-id')).toBe('call-1');
  });

  it('gives an answer without one a new UUIDv7, sent as x-request-id', () => {
    const res = answer();
    const id = internalErrorId(res);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(res.getHeader('x-request-id')).toBe(id);
    expect(internalErrorId(res)).toBe(id);
  });
});
