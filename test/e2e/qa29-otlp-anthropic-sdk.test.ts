// The Anthropic SDK traces itself: @anthropic-ai/sdk makes an OpenTelemetry span of every API call with the tracer
// provider the app registered (no instrumentation package), named anthropic.<resource>.<method>. Its spans name
// the cache writes gen_ai.usage.cache_write.input_tokens (split 5-minute / 1-hour in
// anthropic.usage.cache_creation.*), the answer's stop reason anthropic.message.stop_reason, and give a token count
// (anthropic.messages.count_tokens) a model and a provider but no operation. A real app (otlp-apps/anthropic-sdk.cjs)
// calls the simulator and exports to llmscope: every call priced with its cache writes at their rates, its stop
// reason read (a refusal counted), and the token count not a call but a span of the trace.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { getJson, type Stack, startStack } from './helpers.js';

interface AppRun {
  traceId: string;
  usages: Record<string, number>[];
  counted: number;
  stops: string[];
  limited: number;
  exports: number[];
}

interface Wire {
  trace_id: string;
  started_at: string;
  endpoint: string;
  stream: boolean;
  status: string;
  input_tokens: number | null;
  cached_input_tokens: number | null;
  cache_write_input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  finish_reason: string | null;
  refusal: boolean;
  session: string | null;
  team: string | null;
}

function runApp(env: Record<string, string>): Promise<AppRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['test/e2e/otlp-apps/anthropic-sdk.cjs'],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`anthropic-sdk.cjs failed: ${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as AppRun);
      },
    );
  });
}

async function callsOfTrace(s: Stack, traceId: string, n: number): Promise<Wire[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await s.app.ctx.recorder.flush();
    const page = await getJson<{ data: Wire[] }>(`${s.base}/api/requests?q=${traceId}&limit=50`);
    const mine = page.data.filter((c) => c.trace_id === traceId);
    if (mine.length >= n || Date.now() > deadline)
      return mine.sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the Anthropic SDK's own spans, exported to /v1/traces", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ app: { modules: [createCostModule] } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('cache writes priced at their rates, stop reasons read, a token count not a call', async () => {
    const run = await runApp({ LLMSCOPE_URL: s.base, SIM_URL: s.sim.url, OTLP_FORMAT: 'protobuf' });
    expect(run.exports.every((code) => code === 0)).toBe(true);
    const [cachedUsage, streamedUsage] = run.usages as [Record<string, number>, Record<string, number>];
    expect(cachedUsage).toMatchObject({
      input_tokens: expect.any(Number),
      cache_read_input_tokens: 400,
      cache_creation_input_tokens: 300,
    });
    expect(run.stops).toEqual(['end_turn', 'refusal']);
    // four calls: the cached one, the stream, the refusal and the 429; the token count is not one
    const calls = await callsOfTrace(s, run.traceId, 4);
    await new Promise((r) => setTimeout(r, 200));
    expect(await callsOfTrace(s, run.traceId, 0)).toHaveLength(4);
    const [cached, streamed, refused, limited] = calls as [Wire, Wire, Wire, Wire];
    const prompt = (cachedUsage.input_tokens ?? 0) + 400 + 300;
    expect(cached).toMatchObject({
      endpoint: 'messages',
      status: 'ok',
      input_tokens: prompt,
      cached_input_tokens: 400,
      cache_write_input_tokens: 300,
      output_tokens: cachedUsage.output_tokens,
      finish_reason: 'end_turn',
      refusal: false,
      team: 'research',
    });
    // claude-haiku-4-5: $1 input, $0.10 cached, $1.25 a 5-minute cache write, $2 a 1-hour one, $5 output (per 1M)
    const uncached = prompt - 400 - 300;
    const out = cachedUsage.output_tokens ?? 0;
    expect(cached.cost_usd).toBeCloseTo((uncached * 1 + 400 * 0.1 + 200 * 1.25 + 100 * 2 + out * 5) / 1e6, 12);
    expect(streamed).toMatchObject({
      stream: true,
      status: 'ok',
      input_tokens: streamedUsage.input_tokens,
      output_tokens: streamedUsage.output_tokens,
      finish_reason: 'end_turn',
      session: 'conv-7',
    });
    expect(refused).toMatchObject({ status: 'ok', finish_reason: 'refusal', refusal: true });
    expect(limited).toMatchObject({ status: 'rate_limited', input_tokens: null, cost_usd: null });
    // the token count is kept with the trace
    const t = await getJson<{ calls: { spans: { name: string }[] }[] }>(`${s.base}/api/traces/${run.traceId}`);
    const names = t.calls.flatMap((c) => c.spans.map((x) => x.name));
    expect(names.filter((n) => n === 'anthropic.messages.count_tokens')).toHaveLength(1);
    expect(names.filter((n) => n === 'anthropic.messages.create')).toHaveLength(4);
  }, 90_000);
});
