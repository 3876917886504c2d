// serve --workers 2 (the built CLI): a Realtime session's FIRST response running when its worker dies (SIGKILL) is
// recorded as cut (decision 130), as a later response is: upstream_error 502 worker_exited, its response id, tokens
// unknown. It holds the upgrade's admission, which an idle session holds too (a voice session listening), so since
// 31b12e7 the recorder process released it unrecorded, though the provider bills the response. The worker now tells
// the recorder when a session's first response starts (once a session, with its `inflight` message); an idle
// session's admission is still released with no record.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashKey } from '../../src/cost/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { childrenOf, getJson, killServe, startServeWithConfig, until } from './helpers.js';

const KEY = 'lsk_qa39_realtime_first_cut_0123456';
let sim: Simulator;
let proc: ChildProcess | undefined;
beforeAll(async () => {
  // 120 output tokens 500 ms apart: the response runs for a minute, so it is running when its worker is killed
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 500, outputTokens: 120 });
});
afterAll(async () => {
  killServe(proc);
  await sim?.close();
});

interface Wire {
  request_id: string;
  status: string;
  http_status: number;
  error_type: string | null;
  output_tokens: number | null;
}

async function session(base: string) {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  const events: Record<string, unknown>[] = [];
  ws.on('message', (d) => events.push(JSON.parse(String(d))));
  ws.on('error', () => {});
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  await new Promise((ok, no) => {
    ws.once('open', ok);
    ws.once('error', no);
  });
  return { ws, events, closed };
}

describe('Realtime under serve --workers 2: a first response running when its worker dies', () => {
  it('is recorded as cut (worker_exited), an idle session is not', async () => {
    const run = await startServeWithConfig({
      prefix: 'llmscope-qa39-first-',
      workers: 2,
      config: (dir) => ({
        providers: [{ name: 'sim', baseUrl: sim.url }],
        storage: { url: `sqlite:${join(dir, 'app.db')}`, durability: 'every-call' },
        keys: [{ id: 'voice', hash: hashKey(KEY), team: 'voice' }],
        gpu: { collector: 'none' },
      }),
    });
    proc = run.proc;
    const primary = run.proc.pid as number;
    const workers = await until(() => {
      const w = childrenOf(primary);
      return w.length === 2 ? w : null;
    });
    // A session listening (no response), and one whose first response runs.
    const idle = await session(run.base);
    const talking = await session(run.base);
    talking.ws.send(JSON.stringify({ type: 'response.create' }));
    const created = await until(() => talking.events.find((e) => e.type === 'response.created'));
    const responseId = (created.response as { id: string }).id;
    await until(() => talking.events.find((e) => String(e.type).endsWith('.delta')));
    // The worker tells the recorder within 50 ms of the response's start (its next `inflight` message).
    await new Promise((r) => setTimeout(r, 1000));
    for (const w of workers) process.kill(w, 'SIGKILL');
    expect(await talking.closed).toBe(1006);
    expect(await idle.closed).toBe(1006);
    // Both workers replaced: the recorder process has released (and recorded) what they held.
    await until(() => {
      const w = childrenOf(primary);
      return w.length === 2 && w.every((p) => !workers.includes(p)) ? w : null;
    }, 30_000);
    // before: nothing recorded (the response was released with the idle session's admission)
    const rows = await until(async () => {
      const got = await getJson<{ data: Wire[] }>(`${run.base}/api/requests?endpoint=realtime&limit=10`);
      return got.data.length > 0 ? got.data : null;
    }, 20_000);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      request_id: responseId,
      status: 'upstream_error',
      http_status: 502,
      error_type: 'worker_exited',
      output_tokens: null,
    });
  });
});
