// The listener's guards against clients that never finish a request's headers (slowloris): they are answered 408 in
// the error shape and closed once the header timeout passes, which `requestTimeout: 0` had turned off.
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createListener, HEADERS_TIMEOUT_MS } from './listener.js';

let server: Server | undefined;
afterEach(() => server?.close());

describe('createListener', () => {
  it('keeps a header timeout although request bodies have none', () => {
    server = createListener(undefined, (_req, res) => res.end());
    expect(server.requestTimeout).toBe(0);
    expect(server.headersTimeout).toBe(HEADERS_TIMEOUT_MS);
  });

  it('closes a connection whose headers trickle in past the timeout, with a 408 in the error shape', async () => {
    server = createListener(undefined, (_req, res) => res.end('served'), { headersTimeoutMs: 300, checkEveryMs: 100 });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const answer = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1');
      let got = '';
      // a header line every 50 ms: never idle, never done (it would go on for ever)
      const drip = setInterval(() => s.writable && s.write('x-slow: 1\r\n'), 50);
      s.on('data', (d) => {
        got += d.toString();
      });
      s.on('error', () => {});
      s.on('close', () => {
        clearInterval(drip);
        resolve(got);
      });
      s.write('GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
    expect(body.error.code).toBe('request_timeout');
  });
});
