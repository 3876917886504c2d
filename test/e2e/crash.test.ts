// What a crash loses: the real `llmscope serve` is SIGKILLed under load, then started again on the same SQLite file.
// Calls the clients saw succeed but that are not stored must all have finished within storage.flushInterval (plus
// the event loop's lag) of the kill; the database passes integrity_check, and the rollups agree with the calls table.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { startServeProcess } from './helpers.js';

/** Lag allowed beyond flushInterval between a call's end at the client and its write (a loaded 2-core machine). */
const SLACK_MS = 500;

describe('crash (SIGKILL) under load', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 2, tpotMs: 0, outputTokens: 8 });
  });
  afterAll(() => sim.close());

  it.each([
    ['batch', '50ms'],
    ['every-call', '50ms'],
  ])(
    'storage.durability %s: what is lost is bounded, the file is sound, rollups match',
    async (durability, flush) => {
      const dir = mkdtempSync(join(tmpdir(), 'llmscope-crash-'));
      const db = join(dir, 'calls.db');
      const config = join(dir, 'llmscope.yaml');
      writeFileSync(
        config,
        [
          'server: { host: 127.0.0.1 }',
          `providers: [{ name: simulator, baseUrl: '${sim.url}' }]`,
          `storage: { url: 'sqlite:${db}', flushInterval: ${flush}, durability: ${durability} }`,
          'telemetry: { logLevel: warn }',
        ].join('\n'),
      );
      const { proc, base } = await startServeProcess({ LLMSCOPE_PORT: '0' }, ['--config', config]);
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      const agent = new Agent({ connections: 16 });
      const succeeded = new Map<string, number>();
      let killedAt = 0;
      let n = 0;
      const client = async (): Promise<void> => {
        while (killedAt === 0) {
          const id = `crash-${durability}-${n++}`;
          try {
            const r = await request(`${base}/v1/chat/completions`, {
              method: 'POST',
              dispatcher: agent,
              headers: { 'content-type': 'application/json', 'x-request-id': id },
              body: JSON.stringify({
                model: 'gpt-4o-mini',
                messages: [{ role: 'user', content: 'hi' }],
                stream: n % 2 === 0,
              }),
            });
            await r.body.text();
            if (r.statusCode === 200) succeeded.set(id, Date.now());
          } catch {
            /* the kill cut it: not a success */
          }
        }
      };
      const clients = Array.from({ length: 12 }, client);
      await new Promise((r) => setTimeout(r, 3_000));
      proc.kill('SIGKILL');
      killedAt = Date.now();
      await Promise.all(clients);
      await exited;
      await agent.close();

      // Start again on the same file: it opens (WAL recovered) and serves.
      const again = await startServeProcess({ LLMSCOPE_PORT: '0' }, ['--config', config]);
      const ready = await request(`${again.base}/readyz`);
      expect(ready.statusCode).toBe(200);
      await ready.body.text();
      const stopped = new Promise<void>((resolve) => again.proc.once('exit', () => resolve()));
      again.proc.kill('SIGTERM');
      await stopped;

      const sql = new Database(db, { readonly: true });
      try {
        expect(sql.pragma('integrity_check', { simple: true })).toBe('ok');
        const stored = new Set(
          (sql.prepare('SELECT request_id FROM calls').all() as { request_id: string }[]).map((r) => r.request_id),
        );
        const lost = [...succeeded].filter(([id]) => !stored.has(id));
        const oldest = lost.length ? Math.min(...lost.map(([, at]) => at)) : killedAt;
        console.log(
          `durability ${durability}: ${succeeded.size} calls succeeded at the client, ${lost.length} not stored` +
            (lost.length ? `, all finished in the last ${Math.max(0, killedAt - oldest)} ms before the kill` : ''),
        );
        expect(succeeded.size).toBeGreaterThan(30);
        expect(killedAt - oldest).toBeLessThanOrEqual(50 + SLACK_MS);
        for (const table of ['calls_rollup_minute', 'calls_rollup_hour']) {
          const { requests } = sql.prepare(`SELECT coalesce(sum(requests), 0) AS requests FROM ${table}`).get() as {
            requests: number;
          };
          expect(requests, table).toBe(stored.size);
        }
      } finally {
        sql.close();
      }
    },
    90_000,
  );
});
