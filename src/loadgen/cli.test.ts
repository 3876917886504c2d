import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type BenchFlags, benchCommand } from './cli.js';
import type { Summary } from './index.js';

const flags = (url: string, extra: Partial<BenchFlags> = {}): BenchFlags => ({
  url,
  model: 'gpt-4o-mini',
  concurrency: '2',
  requests: '6',
  stream: false,
  json: false,
  ...extra,
});

let server: Server | undefined;
afterEach(() => new Promise<void>((ok) => (server ? server.close(() => ok()) : ok())));

/** An endpoint that rate-limits every other call. */
async function flaky(): Promise<string> {
  let n = 0;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (n++ % 2 === 0) {
        res.statusCode = 429;
        res.end(JSON.stringify({ error: { message: 'Rate limit reached for requests', type: 'requests' } }));
      } else res.end(JSON.stringify({ choices: [{ message: { content: 'hi' } }], usage: { completion_tokens: 5 } }));
    });
  });
  await new Promise<void>((ok) => server?.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

async function closedPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return `http://127.0.0.1:${port}/v1`;
}

describe('llmscope bench', () => {
  it('against a closed port: counts ECONNREFUSED, prints no throughput, exits 1', async () => {
    const url = await closedPort();
    let out = '';
    const code = await benchCommand(flags(url, { requests: '5' }), { out: (s) => (out += s) });
    expect(code).toBe(1);
    expect(out).toContain('0 ok, 5 failed');
    expect(out).toMatch(/5 {2}ECONNREFUSED/);
    expect(out).toContain('every request failed');
    expect(out).not.toMatch(/requests\/s/);
    expect(out).not.toMatch(/^latency\s/m);
  });

  it('--json reports the causes and null throughput when all failed', async () => {
    const url = await closedPort();
    let out = '';
    const code = await benchCommand(flags(url, { requests: '3', json: true }), { out: (s) => (out += s) });
    const s = JSON.parse(out) as Summary;
    expect(code).toBe(1);
    expect(s.errorCauses).toEqual([
      { cause: 'ECONNREFUSED', count: 3, example: expect.stringContaining('ECONNREFUSED') },
    ]);
    expect(s.requestsPerS).toBeNull();
    expect(s.latencyMs).toBeNull();
  });

  it('counts HTTP 429 with the upstream message, and throughput of the successful calls only', async () => {
    const url = await flaky();
    let out = '';
    const code = await benchCommand(flags(url, { concurrency: '1', json: true }), { out: (s) => (out += s) });
    const s = JSON.parse(out) as Summary;
    expect(code).toBe(0);
    expect(s.ok).toBe(3);
    expect(s.errorCauses).toEqual([{ cause: 'HTTP 429', count: 3, example: 'Rate limit reached for requests' }]);
    expect(s.requestsPerS).toBeCloseTo(3 / s.durationS, 6);
    let text = '';
    await benchCommand(flags(url, { concurrency: '1' }), { out: (x) => (text += x) });
    expect(text).toContain('HTTP 429  (Rate limit reached for requests)');
    expect(text).toContain('successful requests/s');
  });

  it('rejects a URL without a scheme', async () => {
    await expect(benchCommand(flags('localhost:8080'), { out: () => {} })).rejects.toThrow(/--url must be an http/);
  });
});
