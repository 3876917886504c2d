// `serve --workers 2` stopped (SIGTERM) while its workers cannot drain (here: stopped with SIGSTOP, as a worker stuck
// in a long synchronous task or swapped out would be): after server.shutdownGrace + 10 s the recorder kills them
// (SIGKILL), and the calls they had in flight are recorded as a crashed worker's are (decision 89: upstream_error,
// 502, error_type worker_exited) before the recorder closes its store. Before, the recorder closed at the kill, and
// the killed workers' exits, which record their cut calls, came after it: those calls were in no store.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/alerts/testing.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { childrenOf, killServe, type ServeProcess, startServeProcess, until } from './helpers.js';

let slow: Simulator | undefined;
let serve: ServeProcess | undefined;
let dir: string | undefined;

afterAll(async () => {
  killServe(serve?.proc);
  await slow?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('serve --workers: workers killed at the end of a stop', () => {
  it('records the calls of workers killed for not draining, before the store closes', async () => {
    // Streams of 120 tokens, one every 500 ms: a minute each, so they are in flight throughout.
    slow = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 500, outputTokens: 120 });
    dir = mkdtempSync(join(tmpdir(), 'llmscope-workers-close-kill-'));
    const db = join(dir, 'calls.db');
    const file = join(dir, 'llmscope.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        server: { host: '127.0.0.1', port: await freePort(), shutdownGrace: '1s', workers: 2 },
        providers: [{ name: 'slow', baseUrl: slow.url }],
        storage: { url: `sqlite:${db}`, durability: 'every-call' },
        telemetry: { logLevel: 'warn' },
        gpu: { collector: 'none' },
      }),
    );
    serve = await startServeProcess({}, ['-c', file]);
    const primary = serve.proc.pid as number;
    const workers = await until(() => {
      const w = childrenOf(primary);
      return w.length === 2 ? w : null;
    });
    const client = new OpenAI({
      baseURL: `${serve.base}/v1`,
      apiKey: 'sk-test',
      maxRetries: 0,
      timeout: 120_000,
      defaultHeaders: { 'x-llmscope-feature': 'stuck' },
    });
    // N streams in flight, each past its first chunk, on both workers (each on its own connection).
    const N = 4;
    const ids: string[] = [];
    const streams = await Promise.all(
      Array.from({ length: N }, async () => {
        const { data, response } = await client.chat.completions
          .create({ model: 'slow-model', stream: true, messages: [{ role: 'user', content: 'a long story' }] })
          .withResponse();
        ids.push(response.headers.get('x-request-id') as string);
        const it = data[Symbol.asyncIterator]();
        await it.next();
        return it;
      }),
    );
    // Neither worker can drain: both are stopped. Then serve is told to stop.
    for (const w of workers) process.kill(w, 'SIGSTOP');
    const exited = new Promise<number | null>((ok) => serve?.proc.once('close', (code) => ok(code)));
    serve.proc.kill('SIGTERM');
    // The clients' streams end (cut) once the workers are killed, after the grace and the 10 s the recorder allows.
    const cut = await Promise.all(
      streams.map(async (it) => {
        try {
          for (;;) if ((await it.next()).done) return 'ended';
        } catch {
          return 'cut';
        }
      }),
    );
    expect(cut).toEqual(Array(N).fill('cut'));
    expect(await exited).toBe(0);
    expect(serve.stdout.join('')).toContain('"event":"worker_kill"');
    // Every cut call is in the store, once, as a worker's exit records it.
    const store = new Database(db, { readonly: true });
    try {
      const rows = store
        .prepare("SELECT request_id, status, http_status, error_type FROM calls WHERE feature = 'stuck'")
        .all() as { request_id: string; status: string; http_status: number; error_type: string }[];
      expect(rows.map((r) => r.request_id).sort()).toEqual([...ids].sort());
      for (const r of rows)
        expect(r).toMatchObject({ status: 'upstream_error', http_status: 502, error_type: 'worker_exited' });
    } finally {
      store.close();
    }
  }, 60_000);
});
