// QA39, under `serve --workers 2` (the built CLI): a Realtime response refused its admission once the provider had
// started it (the key's one request a minute spent) is recorded by the recorder process as that refusal, with the
// tokens it used, and its cost counts in its team's budget, as in one process (qa39-realtime-refused.test.ts).
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashKey } from '../../src/cost/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { getJson, killServe, startServeWithConfig, until } from './helpers.js';

const KEY = 'lsk_qa39_realtime_workers_0123456789';
let sim: Simulator;
let proc: ChildProcess | undefined;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 2, tpotMs: 1, outputTokens: 400 });
});
afterAll(async () => {
  killServe(proc);
  await sim?.close();
});

interface Wire {
  team: string | null;
  status: string;
  http_status: number;
  error_type: string | null;
  output_tokens: number | null;
  cost_usd: number | null;
}

describe('Realtime under serve --workers 2: a response refused once the provider started it', () => {
  it('is recorded as the refusal, and its cost counts in the budget', async () => {
    const run = await startServeWithConfig({
      prefix: 'llmscope-qa39-',
      workers: 2,
      config: (dir) => ({
        providers: [{ name: 'sim', baseUrl: sim.url }],
        storage: { url: `sqlite:${join(dir, 'app.db')}` },
        keys: [{ id: 'voice', hash: hashKey(KEY), team: 'voice', rpm: 1 }],
        pricing: { models: [{ model: 'gpt-realtime', input: 4, cachedInput: 0.4, output: 16 }] },
        budgets: [{ name: 'voice', scope: 'team', match: 'voice', period: 'day', limit: 1, action: 'block' }],
        gpu: { collector: 'none' },
      }),
    });
    proc = run.proc;
    const ws = new WebSocket(`${run.base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    const events: Record<string, unknown>[] = [];
    ws.on('message', (d) => events.push(JSON.parse(String(d))));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    await new Promise((ok, no) => {
      ws.once('open', ok);
      ws.once('error', no);
    });
    ws.send(JSON.stringify({ type: 'response.create' }));
    await until(() => events.find((e) => e.type === 'response.done'));
    ws.send(JSON.stringify({ type: 'response.create' }));
    expect(await closed).toBe(1008);
    const calls = await until(async () => {
      const got = await getJson<{ data: Wire[] }>(`${run.base}/api/requests?endpoint=realtime&limit=10`);
      return got.data.length === 2 && got.data.every((c) => c.cost_usd !== null) ? got.data : null;
    }, 30_000);
    const refused = calls.find((c) => c.status !== 'ok') as Wire;
    // before: upstream_error 502 upstream_stream_cut
    expect(refused).toMatchObject({ team: 'voice', status: 'rate_limited', http_status: 429 });
    expect(refused.error_type).toBe('rate_limit_exceeded');
    expect(refused.output_tokens).toBeGreaterThan(0);
    const sum = calls.reduce((s, c) => s + (c.cost_usd as number), 0);
    // before: the budget held the first response's cost alone
    const spent = await until(async () => {
      const b = await getJson<{ budgets: { name: string; buckets: { spent_usd: number }[] }[] }>(
        `${run.base}/api/cost/budgets`,
      );
      const v = b.budgets.find((x) => x.name === 'voice')?.buckets[0]?.spent_usd ?? 0;
      return Math.abs(v - sum) < 1e-9 ? v : null;
    }, 10_000).catch(() => null);
    expect(spent).not.toBeNull();
  });
});
