// SIGTERM during streaming load, on the real `llmscope serve` process: every stream in flight completes,
// the process exits 0, and every completed call is in the store.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { createStore } from '../../src/store/index.js';
import { startServeProcess, until } from './helpers.js';

describe('graceful shutdown', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 100, tpotMs: 20, outputTokens: 40 });
  });
  afterAll(() => sim.close());

  it('SIGTERM during streaming load: streams complete and every completed call is stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-shutdown-'));
    const db = join(dir, 'calls.db');
    const { proc, base, stdout } = await startServeProcess(
      { LLMSCOPE_STORAGE_URL: `sqlite:${db}`, LLMSCOPE_PORT: '0' },
      ['--upstream', sim.url],
    );
    // 'close', not 'exit': the lines it wrote last (read below) may still be in the pipe when 'exit' is emitted.
    const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
    const N = 24;
    const sentBefore = sim.stats.requests;
    const streams = Array.from({ length: N }, async (_, i) => {
      const r = await request(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `term-${i}` },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: `story ${i}` }],
          stream: true,
        }),
      });
      const text = await r.body.text();
      return {
        status: r.statusCode,
        done: text.trimEnd().endsWith('data: [DONE]'),
        tokens: (text.match(/"content":"[^"]/g) ?? []).length,
      };
    });
    // Every stream reached the upstream (so serve has it in flight) before the signal: a fixed 300 ms is no proof of
    // that on a busy machine, and a stream not yet with serve when it begins to drain is refused.
    await until(() => sim.stats.requests - sentBefore === N);
    proc.kill('SIGTERM');
    const results = await Promise.all(streams);
    expect(await exited).toBe(0);
    for (const r of results) expect(r).toEqual({ status: 200, done: true, tokens: 40 });
    const store = createStore(`sqlite:${db}`);
    await store.migrate();
    try {
      const page = await store.listCalls({ limit: 100 });
      expect(page.items.map((c) => c.requestId).sort()).toEqual(
        Array.from({ length: N }, (_, i) => `term-${i}`).sort(),
      );
      for (const c of page.items) expect(c).toMatchObject({ status: 'ok', outputTokens: 40 });
    } finally {
      await store.close();
    }
    const lines = stdout
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string });
    expect(lines.filter((l) => l.event === 'request_completed')).toHaveLength(N);
    expect(lines.at(-1)?.event).toBe('stopped');
  }, 60_000);
});
