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

describe('webHandler: /api answers', () => {
  it('are sent no-store and nosniff, set before the guard so its refusals carry them too (QA36)', async () => {
    const set: Record<string, string> = {};
    const res = {
      writeHead() {
        return this;
      },
      setHeader(k: string, v: string) {
        set[k.toLowerCase()] = v;
      },
      end() {},
    } as unknown as ServerResponse;
    let seen: Record<string, string> | null = null;
    const api = {
      ...parts,
      auth: {
        guardApi: () => {
          seen = { ...set };
          return { kind: 'open', name: 'admin', role: 'admin', scope: null };
        },
      },
      api: { dispatch: async () => undefined },
    } as unknown as WebParts;
    await webHandler(api)({ method: 'GET', headers: {} } as IncomingMessage, res, new URL('/api/requests', 'http://x'));
    // Before: neither header (a browser kept /api/requests' prompts in its HTTP cache).
    expect(seen).toEqual({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  });
});
