// privacy.maskUpstream on the Realtime WebSocket counts what it masks in llmscope_redactions_total{kind}, as HTTP
// masking does (46790ae masked the session's text events with a redactor of its own that counted nowhere): one
// process, and `serve --workers 2` (each worker's relay counts, GET /metrics adds the workers up).
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { metricValue, parseMetrics, type Stack, startServeWithConfig, startStack, until } from './helpers.js';

/** Opens a Realtime session at `base`, sends a session.update naming an email and a phone, and closes it. */
async function session(base: string): Promise<void> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`, {
    headers: { authorization: 'Bearer sk-test' },
  });
  ws.on('error', () => undefined);
  await new Promise((ok, fail) => {
    ws.once('open', ok);
    ws.once('error', fail);
  });
  ws.send(
    JSON.stringify({
      type: 'session.update',
      session: { instructions: 'The customer is jane.doe@example.org, phone +1 (415) 555-0132' },
    }),
  );
  return new Promise((r) => {
    ws.once('close', () => r());
    setTimeout(() => ws.close(), 50);
  });
}

const counted = async (base: string, kind: string): Promise<number> =>
  metricValue(parseMetrics(await (await fetch(`${base}/metrics`)).text()), 'llmscope_redactions_total', { kind });

describe('privacy.maskUpstream on a Realtime session: counted in llmscope_redactions_total', () => {
  let upstream: WebSocketServer;
  const got: string[] = [];
  let url = '';
  beforeAll(async () => {
    upstream = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    upstream.on('connection', (ws) => ws.on('message', (d) => got.push(d.toString())));
    await new Promise((r) => upstream.once('listening', r));
    url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise((r) => upstream?.close(r)));

  it('one process', async () => {
    const s: Stack = await startStack({
      config: { providers: [{ name: 'realtime-up', baseUrl: url }], privacy: { maskUpstream: true } } as never,
    });
    try {
      const before = got.length;
      await session(s.base);
      await until(() => got.length > before, 10_000, 10);
      expect(got.at(-1)).toContain('[redacted-email]');
      expect(got.at(-1)).toContain('[redacted-phone]');
      expect(await counted(s.base, 'email')).toBe(1);
      expect(await counted(s.base, 'phone')).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('serve --workers 2: each worker counts', async () => {
    const run = await startServeWithConfig({
      workers: 2,
      prefix: 'llmscope-qa-rt-redact-',
      config: { providers: [{ name: 'realtime-up', baseUrl: url }], privacy: { maskUpstream: true } },
    });
    try {
      const before = got.length;
      for (let i = 0; i < 4; i++) await session(run.base);
      await until(() => got.length >= before + 4, 20_000, 10);
      expect(got.slice(before).every((m) => m.includes('[redacted-email]'))).toBe(true);
      await until(async () => (await counted(run.base, 'email')) === 4, 20_000, 100);
      expect(await counted(run.base, 'phone')).toBe(4);
    } finally {
      await run.stop();
    }
  }, 120_000);
});
