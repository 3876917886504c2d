// /readyz's answer: the store, the upstreams, draining, and with `serve --workers` how many workers serve.
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { type ReadinessProbe, sendReadiness } from './health.js';

async function answer(probe: ReadinessProbe): Promise<{ status: number; body: unknown }> {
  let status = 0;
  let text = '';
  const res = {
    writeHead(s: number) {
      status = s;
      return this;
    },
    setHeader() {},
    end(b?: string | Buffer) {
      text = String(b ?? '');
    },
  } as unknown as ServerResponse;
  await sendReadiness(res, probe);
  return { status, body: JSON.parse(text) };
}

const base: ReadinessProbe = { ping: async () => true, upstreams: () => 2, draining: () => false };

describe('sendReadiness', () => {
  it('answers as before without workers: no workers field', async () => {
    expect(await answer(base)).toEqual({
      status: 200,
      body: { status: 'ready', store: 'ok', upstreams: 2, draining: false },
    });
  });

  it('says how many workers serve, ready while the fleet is whole or short within the grace', async () => {
    for (const serving of [4, 3])
      expect(await answer({ ...base, workers: () => ({ configured: 4, serving, ready: true }) })).toEqual({
        status: 200,
        body: { status: 'ready', store: 'ok', upstreams: 2, draining: false, workers: { configured: 4, serving } },
      });
  });

  it('is not ready once the fleet has been short past the grace', async () => {
    expect(await answer({ ...base, workers: () => ({ configured: 4, serving: 1, ready: false }) })).toEqual({
      status: 503,
      body: {
        status: 'not_ready',
        store: 'ok',
        upstreams: 2,
        draining: false,
        workers: { configured: 4, serving: 1 },
      },
    });
  });
});
