// The routes besides /v1 and /api that webHandler answers itself: /healthz and /readyz take GET and HEAD only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { LlmscopeError } from '../errors.js';
import type { WebParts } from './web.js';
import { webHandler } from './web.js';

const parts = {
  readiness: { ping: async () => true, upstreams: () => 1, draining: () => false },
} as unknown as WebParts;

async function call(method: string, path: string): Promise<number | LlmscopeError> {
  let status = 0;
  const res = {
    writeHead(s: number) {
      status = s;
      return this;
    },
    setHeader() {},
    end() {},
  } as unknown as ServerResponse;
  try {
    await webHandler(parts)({ method, headers: {} } as IncomingMessage, res, new URL(path, 'http://llmscope'));
    return status;
  } catch (err) {
    return err as LlmscopeError;
  }
}

describe('webHandler: health probes', () => {
  it('answers GET and HEAD on /healthz and /readyz, and 405 with Allow for any other method', async () => {
    for (const path of ['/healthz', '/readyz']) {
      expect(await call('GET', path)).toBe(200);
      expect(await call('HEAD', path)).toBe(200);
      for (const method of ['POST', 'PUT', 'DELETE', 'TRACE', 'OPTIONS']) {
        const e = await call(method, path);
        expect(e).toBeInstanceOf(LlmscopeError);
        expect(e).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' } });
      }
    }
  });
});
