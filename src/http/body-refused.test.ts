// A JSON body refused for its content type or its content-encoding (415) before any of it is read: its rest is read
// and dropped at most the body limit more (1 MiB at least), then the connection is closed after the answer; a small
// such body is dropped whole and its connection takes the next request.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { rawConnection, statusesIn, until } from '../../test/e2e/helpers.js';
import { renderError } from '../errors.js';
import { readJson } from './body.js';

let server: Server | undefined;
afterEach(() => server?.close());

/** A server reading each body with readJson (body limit `limit`), answering 200 or the error. */
async function serve(limit: number): Promise<number> {
  server = createServer((req, res) => {
    readJson(req, limit).then(
      () => res.end('{}'),
      (err) => {
        const r = renderError(err);
        const text = JSON.stringify(r.body);
        res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': text.length });
        res.end(text);
      },
    );
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

const refusals = [
  ['a content type other than JSON', 'content-type: text/plain'],
  ['a content-encoding', 'content-type: application/json\r\ncontent-encoding: gzip'],
];

describe('a JSON body refused before it is read (415)', () => {
  for (const [what, headers] of refusals)
    it(`${what}: the rest that keeps coming past the limit has its connection closed after the answer`, async () => {
      const limit = 2 << 20;
      const port = await serve(limit);
      for (const declared of [true, false]) {
        const c = rawConnection(port);
        c.socket.write(
          `POST /x HTTP/1.1\r\nhost: x\r\n${headers}\r\n${declared ? 'content-length: 1000000000000' : 'transfer-encoding: chunked'}\r\n\r\n`,
        );
        const more = 'x'.repeat(64 * 1024);
        const send = (s: string) => c.socket.write(declared ? s : `${s.length.toString(16)}\r\n${s}\r\n`);
        let sent = 0;
        // before, node read and dropped the rest of such a body for as long as it came
        while (!c.closed() && sent < 16 * limit) {
          if (!send(more)) await new Promise((r) => c.socket.once('drain', r).once('close', r));
          sent += more.length;
        }
        await until(() => c.closed());
        expect(statusesIn(c.got())).toEqual([415]);
        // (what was sent includes what the sockets' buffers held)
        expect(sent).toBeLessThan(16 * limit);
      }
    });

  it('a small refused body is dropped whole and its connection takes the next request', async () => {
    const port = await serve(2 << 20);
    const c = rawConnection(port);
    const body = 'y'.repeat(5000);
    for (const [, headers] of refusals)
      c.socket.write(`POST /x HTTP/1.1\r\nhost: x\r\n${headers}\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    c.socket.write('POST /x HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
    await until(() => statusesIn(c.got()).length === 3);
    expect(statusesIn(c.got())).toEqual([415, 415, 200]);
    expect(c.closed()).toBe(false);
    c.socket.destroy();
  });
});
