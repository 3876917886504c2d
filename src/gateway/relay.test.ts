import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallInternals } from '../calls/index.js';
import { openaiCompatible } from '../providers/index.js';
import { CLIENT_BUFFER_BYTES, Relay, type RelayCall } from './relay.js';

/** About 20 KB of a stream's text deltas, as one upstream read brings them (over Node's 16 KiB mark). */
const EVENTS = Buffer.from(
  Array.from(
    { length: 80 },
    (_, i) =>
      `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":" word${i}"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n`,
  ).join(''),
);

describe('Relay', () => {
  let server: Server | null = null;
  let client: Socket | null = null;
  afterEach(async () => {
    client?.destroy();
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(null)));
  });

  it('passes a 20 KB read on without pausing the upstream, and pauses it once 64 KiB wait for the client', async () => {
    expect(EVENTS.length).toBeGreaterThan(16 * 1024);
    let serveOne: (res: ServerResponse) => void = () => {};
    const answer = new Promise<ServerResponse>((resolve) => {
      serveOne = resolve;
    });
    const s = createServer((_req, res) => serveOne(res));
    server = s;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const { port } = s.address() as { port: number };
    // A client that sends its request and reads nothing until told.
    const c = connect(port, '127.0.0.1');
    client = c;
    c.pause();
    let received = 0;
    c.on('data', (d: Buffer) => {
      received += d.length;
    });
    c.write('POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 0\r\n\r\n');
    const res = await answer;
    const call: RelayCall = {
      requestId: 'r1',
      endpoint: 'chat.completions',
      adapter: openaiCompatible.openaiCompatibleAdapter,
      arrivalAt: Date.now(),
      stream: true,
      internal: {} as CallInternals,
      httpStatus: 0,
      responseBytes: 0,
      cancelled: false,
      upstreamRequestId: null,
    };
    const relay = new Relay(res, call, false);
    let resumed = 0;
    relay.onHeaders(200, [Buffer.from('content-type'), Buffer.from('text/event-stream')], () => {
      resumed++;
    });
    // Node's write buffer holds the whole read (over its own 16 KiB mark): undici keeps reading.
    expect(relay.onData(EVENTS)).toBe(true);
    // With the client not reading, more reads pile up until 64 KiB wait: then the upstream is paused.
    let reads = 1;
    while (relay.onData(EVENTS)) reads++;
    expect(reads).toBe(Math.floor(CLIENT_BUFFER_BYTES / EVENTS.length));
    expect(res.writableLength).toBeGreaterThanOrEqual(CLIENT_BUFFER_BYTES);
    expect(resumed).toBe(0);
    // The client reads: the buffer drains and the upstream is resumed.
    c.resume();
    for (let i = 0; i < 200 && resumed === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(resumed).toBe(1);
    relay.onComplete();
    expect(await relay.done).toBeNull();
    for (let i = 0; i < 200 && received < (reads + 1) * EVENTS.length; i++) await new Promise((r) => setTimeout(r, 10));
    expect(received).toBeGreaterThan((reads + 1) * EVENTS.length);
    expect(call.responseBytes).toBe((reads + 1) * EVENTS.length);
    // every event was metered (the SSE meter counts them; StreamMetering does not declare the count)
    expect((relay.meter as unknown as { events: number } | null)?.events).toBe((reads + 1) * 80);
  });
});
