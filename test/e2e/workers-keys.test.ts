// Keys and rate limits under `llmscope serve --workers 4` (the built CLI as a real process tree): a key made with
// `llmscope keys create` before the start holds its rpm within 5% while many OpenAI clients call all four workers at
// once (the buckets are one set, in the recorder process the workers admit through), and revoking it through
// /api/keys stops it on every worker within one second.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysCreate } from '../../src/cli/keys.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type ServeProcess, startServeProcess } from './helpers.js';

let sim: Simulator;
let serve: ServeProcess;
let key: { id: string; key: string };
let miniKey: string;
const RPM = 60;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-workers-keys-'));
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', workers: 4 },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, 'calls.db')}` },
      telemetry: { logLevel: 'warn' },
      gpu: { collector: 'none' },
    }),
  );
  const out: string[] = [];
  await keysCreate(
    'shared',
    { config: file, rpm: String(RPM), json: true },
    {
      out: (s) => void out.push(s),
      err: () => {},
      env: {},
    },
  );
  key = JSON.parse(out.join('')) as { id: string; key: string };
  const mini: string[] = [];
  await keysCreate(
    'mini-only',
    { config: file, models: 'gpt-4o-mini', json: true },
    { out: (s) => void mini.push(s), err: () => {}, env: {} },
  );
  miniKey = (JSON.parse(mini.join('')) as { key: string }).key;
  serve = await startServeProcess({}, ['-c', file]);
}, 60_000);
afterAll(async () => {
  serve?.proc.kill('SIGTERM');
  await new Promise((r) => serve?.proc.once('exit', r));
  await sim?.close();
});

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return err.status ?? 0;
    throw err;
  }
}

const ask = (c: OpenAI) =>
  c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

describe('keys under serve --workers 4', () => {
  it("refuses a model outside a key's models on every worker (403 model_not_allowed), allows the listed one", async () => {
    // a client per connection, so the kernel spreads them over the workers
    const clients = Array.from(
      { length: 8 },
      () => new OpenAI({ baseURL: `${serve.base}/v1`, apiKey: miniKey, maxRetries: 0 }),
    );
    for (const c of clients) {
      expect(await statusOf(ask(c))).toBe(200);
      const err = await c.chat.completions
        .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(err.code).toBe('model_not_allowed');
    }
  });

  it("holds the key's requests per minute within 5% across the workers", async () => {
    // a client per connection, so the kernel spreads them over the workers
    const clients = Array.from(
      { length: 16 },
      () => new OpenAI({ baseURL: `${serve.base}/v1`, apiKey: key.key, maxRetries: 0 }),
    );
    let ok = 0;
    let limited = 0;
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    const start = Date.now();
    // an admitted call carries the key's x-ratelimit headers from the recorder process through the worker
    const { response } = await ask(clients[0] as OpenAI).withResponse();
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe(String(RPM));
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe(String(RPM - 1));
    ok++;
    first = start;
    last = start;
    // at least 3 s, and until the limit has refused 30 calls (a loaded machine sends fewer per second), at most 20 s
    const running = () => Date.now() - start < 3_000 || (Date.now() - start < 20_000 && limited < 30);
    await Promise.all(
      clients.map(async (c) => {
        while (running()) {
          const sent = Date.now();
          const s = await statusOf(ask(c));
          if (s === 200) {
            ok++;
            first = Math.min(first, sent);
            last = Math.max(last, sent);
          } else {
            expect(s).toBe(429);
            limited++;
          }
        }
      }),
    );
    const expected = RPM + (RPM * (last - first)) / 60_000;
    console.log(`rate limit across 4 workers: ${ok} admitted, ${expected.toFixed(1)} expected, ${limited} refused`);
    expect(limited).toBeGreaterThanOrEqual(30);
    expect(Math.abs(ok - expected) / expected).toBeLessThanOrEqual(0.05);
  }, 45_000);

  it('a key made through /api/keys with rpm 6 admits exactly 6 of 40 calls sent at once across the workers', async () => {
    // rpm 6 refills one call per 10 s: a burst that takes well under that gets the bucket's 6 calls and no more.
    const made = await request(`${serve.base}/api/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'burst', rpm: 6 }),
    });
    expect(made.statusCode).toBe(201);
    const burst = (await made.body.json()) as { key: string };
    const results = await Promise.all(
      Array.from({ length: 40 }, () =>
        statusOf(ask(new OpenAI({ baseURL: `${serve.base}/v1`, apiKey: burst.key, maxRetries: 0 }))),
      ),
    );
    expect(results.filter((s) => s === 200)).toHaveLength(6);
    expect(results.filter((s) => s === 429)).toHaveLength(34);
  });

  it('a key revoked through /api/keys is refused on every worker within one second', async () => {
    const revokedAt = Date.now();
    const r = await request(`${serve.base}/api/keys/${key.id}/revoke`, { method: 'POST' });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
    // 16 fresh connections (spread over the workers), each asking until refused
    const after = await Promise.all(
      Array.from({ length: 16 }, async () => {
        const c = new OpenAI({ baseURL: `${serve.base}/v1`, apiKey: key.key, maxRetries: 0 });
        for (;;) {
          const s = await statusOf(ask(c));
          if (s === 401) return Date.now() - revokedAt;
          if (Date.now() - revokedAt > 3_000) return Number.POSITIVE_INFINITY;
          await new Promise((res) => setTimeout(res, 20));
        }
      }),
    );
    console.log(`revocation reached every worker within ${Math.max(...after)} ms`);
    expect(Math.max(...after)).toBeLessThan(1_000);
  });
});
