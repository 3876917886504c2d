// privacy.maskUpstream on the Realtime WebSocket under `serve --workers 2`: each worker relays the sessions it
// serves, and masks their text events as one process does (test/e2e/qa-priv-realtime-mask.test.ts).
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { killServe, startServeWithConfig, until } from './helpers.js';

describe('privacy.maskUpstream on Realtime sessions, two workers', () => {
  let upstream: WebSocketServer;
  let proc: ChildProcess | undefined;
  let base = '';
  const got: string[] = [];
  beforeAll(async () => {
    upstream = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    upstream.on('connection', (ws) => ws.on('message', (d) => got.push(d.toString())));
    await new Promise((r) => upstream.once('listening', r));
    const port = (upstream.address() as AddressInfo).port;
    const run = await startServeWithConfig({
      prefix: 'llmscope-rtmask-',
      workers: 2,
      config: (dir) => ({
        providers: [{ name: 'realtime-up', baseUrl: `http://127.0.0.1:${port}/v1` }],
        storage: { url: `sqlite:${join(dir, 'app.db')}` },
        privacy: { maskUpstream: true },
        gpu: { collector: 'none' },
      }),
    });
    proc = run.proc;
    base = run.base;
  }, 60_000);
  afterAll(async () => {
    killServe(proc);
    await new Promise((r) => upstream?.close(r));
  });

  it('masks every session’s text events, whichever worker serves it', async () => {
    const sessions = 4;
    for (let i = 0; i < sessions; i++) {
      const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`, {
        headers: { authorization: 'Bearer sk-test' },
      });
      ws.on('error', () => undefined);
      await new Promise((ok, fail) => {
        ws.once('open', ok);
        ws.once('error', fail);
      });
      ws.send(
        JSON.stringify({ type: 'session.update', session: { instructions: `reach me at user${i}@example.org` } }),
      );
      await until(() => got.length === i + 1, 10_000, 10);
      ws.close();
    }
    expect(got.join('\n')).not.toContain('@example.org');
    for (const m of got) expect(JSON.parse(m).session.instructions).toBe('reach me at [redacted-email]');
  }, 60_000);
});
