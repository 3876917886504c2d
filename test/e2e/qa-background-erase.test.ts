// An erase of a user's data (DELETE /api/users/{id}/data) while one of their background Responses is held for its
// poll: the held call is recorded before the erase looks the user's calls up, so the erase removes it with the rest,
// and the later poll that finishes the response passes through unrecorded. Another user's held call is left to its
// poll. The built CLI, one process and `serve --workers 2` (the held call in a worker, the erase in the recorder
// process), a SQLite file, the official openai client.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { killServe, until } from './helpers.js';

const BIN = new URL('../../bin/llmscope.js', import.meta.url).pathname;

let sim: Simulator;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 5, tpotMs: 1, outputTokens: 9 });
});
afterAll(async () => {
  for (const p of procs) killServe(p);
  await sim?.close();
});

async function serve(workers: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-qa-erase-'));
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, 'app.db')}` },
      gpu: { collector: 'none' },
    }),
  );
  const proc = spawn(process.execPath, [BIN, 'serve', '-c', file, '--workers', workers], {
    cwd: dir,
    env: { ...process.env, LLMSCOPE_PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  procs.push(proc);
  let err = '';
  return new Promise<string>((ok, fail) => {
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving on (http:\/\/[\d.:]+)/.exec(err);
      if (m) ok(m[1] as string);
    });
    proc.once('close', (code) => fail(new Error(`serve exited ${code}: ${err}`)));
  });
}

describe('an erase while a background response is held', () => {
  for (const workers of ['1', '2'])
    it(`erases the held call too, and leaves another user's to its poll (--workers ${workers})`, async () => {
      const base = await serve(workers);
      // its own connection pool (openai 6 otherwise uses the global fetch's, which this test's fetch calls share); a
      // poll that reaches the other worker finishes the call too (reach-background-workers.test.ts)
      const client = new OpenAI({
        baseURL: `${base}/v1`,
        apiKey: 'sk-test',
        maxRetries: 0,
        fetchOptions: { dispatcher: new Agent() },
      });
      const slow = { 'x-simulator-ttft-ms': '1500' };
      const alice = await client.responses.create(
        { model: 'gpt-4o-mini', input: 'the secret of alice', background: true, user: 'alice' },
        { headers: { ...slow, 'x-request-id': `bg-alice-${workers}` } },
      );
      const bob = await client.responses.create(
        { model: 'gpt-4o-mini', input: 'bob asks', background: true, user: 'bob' },
        { headers: { ...slow, 'x-request-id': `bg-bob-${workers}` } },
      );
      expect([alice.status, bob.status]).toEqual(['queued', 'queued']);

      const erase = await fetch(`${base}/api/users/alice/data`, { method: 'DELETE' });
      expect(erase.status).toBe(200);
      expect(((await erase.json()) as { erased: { calls: number } }).erased.calls).toBe(1);

      // both finished by their polls
      for (const r of [alice, bob])
        await until(async () => ((await client.responses.retrieve(r.id)).status === 'completed' ? true : null));
      const get = async (id: string) => {
        const res = await fetch(`${base}/api/requests/${id}`);
        return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : null;
      };
      expect(await until(() => get(`bg-bob-${workers}`))).toMatchObject({ user: 'bob', finish_reason: 'stop' });
      // bob's is stored, so alice's finishing poll (relayed before bob's) was recorded by then if it ever would be
      expect(await get(`bg-alice-${workers}`)).toBeNull();
      const byUser = (await (await fetch(`${base}/api/cost/summary?group_by=user`)).json()) as {
        groups: { key: string }[];
      };
      expect(byUser.groups.map((g) => g.key)).toEqual(['bob']);
    }, 60_000);
});
