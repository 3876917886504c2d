// A streamed pass-through upload (multipart: audio, files, images) that the provider answers before the body is whole
// (a 404 or 400 it gives at once), and whose client then sends no more: once server.bodyIdleTimeout passes, llmscope
// closes the connection, as for any stalled body, rather than hold it (and its socket) for ever waiting for the rest.
// The built CLI, one process and --workers 2, in front of the simulator (which answers POST /v1/uploads/{id}/parts, an
// upload's multipart part, 404 before reading the body), over a raw socket.
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { killServe, type ServeProcess, startServeProcess } from './helpers.js';

let sim: Simulator;
const serves: ServeProcess[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
});
afterAll(async () => {
  for (const s of serves) killServe(s.proc);
  await sim?.close();
});

describe('a streamed upload answered early, then stalled', () => {
  for (const workers of ['1', '2'])
    it(`is closed after server.bodyIdleTimeout (--workers ${workers})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'llmscope-qa-idle-'));
      const file = join(dir, 'llmscope.yaml');
      writeFileSync(
        file,
        JSON.stringify({
          server: { bodyIdleTimeout: '1s' },
          providers: [{ name: 'sim', baseUrl: sim.url }],
          storage: { url: 'sqlite::memory:' },
          gpu: { collector: 'none' },
        }),
      );
      const s = await startServeProcess({ LLMSCOPE_PORT: '0' }, ['-c', file, '--workers', workers]);
      serves.push(s);
      const sock = net.connect(Number(new URL(s.base).port), '127.0.0.1');
      let got = '';
      sock.on('data', (d: Buffer) => {
        got += d.toString();
      });
      const closed = new Promise<'closed'>((r) => sock.once('close', () => r('closed')));
      // 100 bytes declared, 5 sent, then nothing
      sock.write(
        'POST /v1/uploads/upload_1/parts HTTP/1.1\r\nHost: localhost\r\n' +
          'Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100\r\n\r\n--x\r\n',
      );
      // Bounded by far more than the 1 s idle timeout: before, the connection was still open after minutes.
      const outcome = await Promise.race([closed, new Promise<'open'>((r) => setTimeout(() => r('open'), 20_000))]);
      sock.destroy();
      expect(got).toMatch(/^HTTP\/1\.1 404 /); // the provider's answer, passed on
      expect(outcome).toBe('closed');
    }, 60_000);
});
