// Background Responses under `llmscope serve --workers 2`, as an operator runs it, with the official `openai` client:
// the call answered queued is held by the worker that relayed it and recorded once, finished, when the client's poll
// (on its keep-alive connection, so on that worker) brings the completed response; one no poll finished is recorded
// as answered (queued) when serve stops. Both read back from the store through /api/requests. A poll on another
// connection, which may reach the other worker, finishes the call too (the primary passes it to the holder).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { killServe, startServeWithConfig, until } from './helpers.js';

const OUT = 9;

let sim: Simulator;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 5, tpotMs: 1, outputTokens: OUT });
});
afterAll(async () => {
  for (const p of procs) killServe(p);
  await sim?.close();
});

/** Starts `serve --workers 2` on a SQLite file; resolves with its base URL and a way to stop it (SIGTERM). */
async function serve(db: string) {
  const run = await startServeWithConfig({
    prefix: 'llmscope-bg-',
    workers: 2,
    config: {
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${db}` },
      gpu: { collector: 'none' },
    },
  });
  procs.push(run.proc);
  return run;
}

describe('background Responses under serve --workers 2', () => {
  let db: string;
  beforeAll(() => {
    db = join(mkdtempSync(join(tmpdir(), 'llmscope-bg-db-')), 'app.db');
  });

  it('records a polled background response once, finished; one never polled as queued when serve stops', async () => {
    const first = await serve(db);
    const client = new OpenAI({ baseURL: `${first.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const slow = { 'x-simulator-ttft-ms': '800' };
    const r = await client.responses.create(
      { model: 'gpt-4o-mini', input: 'Work on this later', background: true },
      { headers: { ...slow, 'x-request-id': 'bg-polled' } },
    );
    expect(r.status).toBe('queued');
    const done = await until(async () => {
      const x = await client.responses.retrieve(r.id);
      return x.status === 'completed' ? x : null;
    });
    await client.responses.create(
      { model: 'gpt-4o-mini', input: 'Never asked again', background: true },
      { headers: { ...slow, 'x-request-id': 'bg-unpolled' } },
    );
    const get = async (id: string) => {
      const res = await fetch(`${first.base}/api/requests/${id}`);
      return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : null;
    };
    const polled = await until(() => get('bg-polled'));
    expect(polled).toMatchObject({
      endpoint: 'responses',
      status: 'ok',
      finish_reason: 'stop',
      input_tokens: done.usage?.input_tokens,
      output_tokens: OUT,
      token_source: 'usage',
    });
    expect(polled['cost_usd']).toBeGreaterThan(0);
    // held, unrecorded, until serve stops; then recorded as it was answered
    expect(await get('bg-unpolled')).toBeNull();
    expect(await first.stop()).toBe(0);
    const second = await serve(db);
    const unpolled = await until(async () => {
      const res = await fetch(`${second.base}/api/requests/bg-unpolled`);
      return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : null;
    });
    expect(unpolled).toMatchObject({ endpoint: 'responses', status: 'ok', finish_reason: 'queued', output_tokens: 0 });
    const list = (await (await fetch(`${second.base}/api/requests?limit=50`)).json()) as {
      data: { request_id: string }[];
    };
    expect(list.data.map((c) => c.request_id).sort()).toEqual(['bg-polled', 'bg-unpolled']);
    await second.stop();
  }, 90_000);

  it('finishes a background response polled on another connection, whichever worker that reaches', async () => {
    const run = await serve(join(mkdtempSync(join(tmpdir(), 'llmscope-bg-db-')), 'app.db'));
    const client = new OpenAI({ baseURL: `${run.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const ids = Array.from({ length: 6 }, (_, i) => `bg-other-${i}`);
    const started = await Promise.all(
      ids.map((rid) =>
        client.responses.create(
          { model: 'gpt-4o-mini', input: `Later, ${rid}`, background: true },
          { headers: { 'x-simulator-ttft-ms': '300', 'x-request-id': rid } },
        ),
      ),
    );
    for (const r of started) {
      expect(r.status).toBe('queued');
      // done upstream (asked of the simulator itself), then polled once through llmscope on a connection of its own:
      // node:cluster hands new connections to the workers in turn, so some of these reach the worker not holding it
      await until(async () => {
        const res = await fetch(`${sim.url}/responses/${r.id}`);
        return ((await res.json()) as { status: string }).status === 'completed' ? true : null;
      });
      const conn = new Client(run.base);
      const poll = await conn.request({ method: 'GET', path: `/v1/responses/${r.id}` });
      expect(((await poll.body.json()) as { status: string }).status).toBe('completed');
      await conn.close();
    }
    // recorded finished while serve runs (not as queued at its stop)
    for (const rid of ids) {
      const call = await until(async () => {
        const res = await fetch(`${run.base}/api/requests/${rid}`);
        return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : null;
      });
      expect(call).toMatchObject({ status: 'ok', finish_reason: 'stop', output_tokens: OUT, token_source: 'usage' });
    }
    expect(await run.stop()).toBe(0);
  }, 90_000);
});
