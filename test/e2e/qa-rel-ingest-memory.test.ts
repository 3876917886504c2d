// POST /api/ingest's bodies were not counted against server.maxBufferedBytes, which bounds what the gateway's calls
// hold: each batch may be up to server.bodyLimit (50 MiB), parsed as it arrives, so 20 batches of 45 MB sent at once
// took one process from 206 MB to 2,019 MB of memory (and more at once, out of it). A batch is now held against the
// same limit from its declared length: past it, 503 overloaded with Retry-After, and the sender retries.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawConnection, type Stack, startStack, until } from './helpers.js';

const MIB = 1024 * 1024;
let s: Stack;

beforeAll(async () => {
  s = await startStack({ config: { server: { host: '127.0.0.1', port: 0, maxBufferedBytes: 4 * MIB } } });
});

afterAll(async () => {
  await s?.close();
});

const record = (id: string) => ({
  request_id: id,
  started_at: new Date(Date.now() - 60_000).toISOString(),
  provider: 'openai',
  model: 'gpt-4o-mini',
  input_tokens: 10,
  output_tokens: 5,
  latency_ms: 200,
});

const ingest = async (body: unknown) => {
  const r = await request(`${s.base}/api/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.statusCode, headers: r.headers, body: (await r.body.json()) as Record<string, unknown> };
};

describe('POST /api/ingest under server.maxBufferedBytes', () => {
  it('a batch that would pass it while another is held gets 503 with Retry-After; once that ends, it is taken', async () => {
    // A 3 MiB batch whose body is still arriving holds 3 of the 4 MiB.
    const port = Number(new URL(s.base).port);
    const slow = rawConnection(port);
    slow.socket.write(
      `POST /api/ingest HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: ${3 * MIB}\r\n\r\n[`,
    );
    // A second batch of 2 MiB would make 5: refused at once, before its body is read.
    const padded = { ...record('qa-rel-big'), metadata: { note: 'x'.repeat(200) } };
    const n = Math.ceil((2 * MIB) / JSON.stringify(padded).length);
    let tries = 0;
    // Fresh ids each time: one sent before the held batch was in is taken, and must not make the last one duplicates.
    const big = () => {
      tries++;
      return Array.from({ length: n }, (_, i) => ({ ...padded, request_id: `qa-rel-big-${tries}-${i}` }));
    };
    const refused = await until(async () => {
      const r = await ingest(big());
      return r.status === 503 ? r : null;
    });
    expect(refused.headers['retry-after']).toBe('1');
    expect((refused.body.error as { code?: string }).code).toBe('overloaded');
    expect((refused.body.error as { message?: string }).message).toContain('server.maxBufferedBytes');
    // A small one still fits beside the held 3 MiB.
    expect((await ingest([record('qa-rel-small')])).status).toBe(202);
    // The held batch goes away (its client hangs up): the big one is taken.
    slow.socket.destroy();
    const taken = await until(async () => {
      const r = await ingest(big());
      return r.status === 202 ? r : null;
    });
    expect(taken.body.accepted).toBe(n);
  }, 60_000);
});
