// A Realtime response refused its admission once the provider had started it (QA39: its key's one request a minute
// spent) used tokens the provider bills to that key. Since 96daac5 it is recorded as the refusal, with its tokens, and
// its budgets count its cost; but the key's tokens per minute never took its tokens (a refused admission holds no
// rate-limit state), so the key's next call was told, and let through on, a bucket that had not paid for them. Now the
// key's bucket takes them, in one process and under `serve --workers 2` (the recorder process's limiter).
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCostModule, hashKey } from '../../src/cost/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { getJson, killServe, type Stack, startServeWithConfig, startStack, until } from './helpers.js';

const KEY = 'lsk_qa39_realtime_tpm_0123456789abcd';
/** Small enough that a refill over the test's seconds (33 tokens a second) is less than the refused response's. */
const TPM = 2000;
// 400 output tokens 1 ms apart: a response still runs when a refusal of it arrives
const SIM = { ttftMs: 2, tpotMs: 1, outputTokens: 400 };
const config = {
  keys: [{ id: 'voice', hash: hashKey(KEY), team: 'voice', rpm: 1, tpm: TPM }],
  pricing: { models: [{ model: 'gpt-realtime', input: 4, cachedInput: 0.4, output: 16 }] },
  gpu: { collector: 'none' as const },
};

let stack: Stack | undefined;
let sim: Simulator | undefined;
let proc: ChildProcess | undefined;
afterAll(async () => {
  killServe(proc);
  await sim?.close();
  await stack?.close();
});

interface Tokens {
  status: string;
  tokens: number;
}

/**
 * One session of two responses (the second refused on the key's rpm, after the provider started it), then an HTTP
 * call with the key: its 429 (the rpm again) says what the key's tokens-per-minute bucket holds.
 */
async function refusedThenHttp(base: string, recorded: () => Promise<Tokens[] | null>) {
  const t0 = Date.now();
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`, {
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
  // the second response's prompt: ~1,500 tokens, which the provider bills though llmscope refuses the response (its
  // output is cut at once, a few tokens)
  const text = 'word '.repeat(1500);
  const item = { type: 'message', role: 'user', content: [{ type: 'input_text', text }] };
  ws.send(JSON.stringify({ type: 'conversation.item.create', item }));
  ws.send(JSON.stringify({ type: 'response.create' }));
  expect(await closed).toBe(1008);
  const calls = await until(recorded, 30_000);
  expect(calls.map((c) => c.status).sort()).toEqual(['ok', 'rate_limited']);
  const used = calls.reduce((s, c) => s + c.tokens, 0);
  const refused = calls.find((c) => c.status === 'rate_limited')?.tokens as number;
  expect(refused).toBeGreaterThan(1000);
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  const elapsed = Date.now() - t0;
  await res.arrayBuffer();
  expect(res.status).toBe(429);
  const remaining = Number(res.headers.get('x-ratelimit-remaining-tokens'));
  // What the bucket can hold at most: both responses' tokens taken, refilled for as long as the test ran. Before,
  // the refused response's tokens were never taken: it held TPM less the first response's (~1590 and up, against
  // ~80 now).
  const refill = Math.ceil((TPM * elapsed) / 60_000) + 1;
  expect(refill).toBeLessThan(refused);
  expect(remaining).toBeGreaterThan(0);
  expect(remaining).toBeLessThanOrEqual(TPM - used + refill);
}

describe("Realtime: a response refused once the provider started it takes its tokens from its key's tpm", () => {
  it('in one process', async () => {
    const s = await startStack({ sim: SIM, config, app: { modules: [createCostModule] } });
    stack = s;
    await refusedThenHttp(s.base, async () => {
      const mine = s.calls.filter((c) => c.team === 'voice' && c.endpoint === 'realtime');
      if (mine.length !== 2 || mine.some((c) => c.costUsd === null)) return null;
      await s.app.ctx.recorder.flush();
      return mine.map((c) => ({ status: c.status, tokens: (c.inputTokens ?? 0) + (c.outputTokens ?? 0) }));
    });
  });

  it('under serve --workers 2', async () => {
    sim = await startSimulator({ port: 0, ...SIM });
    const simUrl = sim.url;
    const run = await startServeWithConfig({
      prefix: 'llmscope-qa39-tpm-',
      workers: 2,
      config: (dir) => ({
        ...config,
        providers: [{ name: 'sim', baseUrl: simUrl }],
        storage: { url: `sqlite:${join(dir, 'app.db')}` },
      }),
    });
    proc = run.proc;
    await refusedThenHttp(run.base, async () => {
      const got = await getJson<{
        data: { status: string; input_tokens: number | null; output_tokens: number | null; cost_usd: number | null }[];
      }>(`${run.base}/api/requests?endpoint=realtime&limit=10`);
      if (got.data.length !== 2 || got.data.some((c) => c.cost_usd === null)) return null;
      return got.data.map((c) => ({ status: c.status, tokens: (c.input_tokens ?? 0) + (c.output_tokens ?? 0) }));
    });
  });
});
