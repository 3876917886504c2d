// The relay's backpressure on real sockets: frames forwarded to a side that stops reading pile up to
// FORWARD_HIGH_BYTES, then the sending side is paused (no longer read); once the slow side reads again, everything
// arrives, in order, and the sending side is resumed.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { FORWARD_HIGH_BYTES, Forward } from './proxy.js';

let wss: WebSocketServer;
let url: string;
beforeAll(async () => {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => wss.close(r)));

/** A connection: the client end and the server's end of it. */
async function pair(): Promise<{ near: WebSocket; far: WebSocket }> {
  const accepted = new Promise<WebSocket>((r) => wss.once('connection', r));
  const near = new WebSocket(url);
  await new Promise((r) => near.once('open', r));
  return { near, far: await accepted };
}

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const by = Date.now() + ms;
  while (!check()) {
    if (Date.now() > by) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

it('pauses the sending side while the other side does not read, and passes everything once it does', async () => {
  const source = await pair();
  const sink = await pair();
  // source.near sends; source.far (the relay's `from`) forwards to sink.far (its `to`), whose reader sink.near stops
  const fw = new Forward(source.far, sink.far);
  source.far.on('message', (d, binary) => fw.send(d as Buffer, binary));
  sink.near.pause();
  const frame = 1024 * 1024;
  const frames = 48;
  let received = 0;
  let inOrder = true;
  sink.near.on('message', (d) => {
    if ((d as Buffer)[0] !== received % 256) inOrder = false;
    received++;
  });
  for (let k = 0; k < frames; k++) source.near.send(Buffer.alloc(frame, k % 256));
  await until(() => source.far.isPaused);
  expect(fw.waiting).toBeGreaterThan(FORWARD_HIGH_BYTES);
  expect(received).toBe(0);
  sink.near.resume();
  await until(() => received === frames);
  expect(inOrder).toBe(true);
  expect(source.far.isPaused).toBe(false);
  expect(fw.waiting).toBe(0);
  for (const ws of [source.near, sink.near]) ws.close();
});
