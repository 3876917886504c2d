// OpenInference's OpenAI instrumentation records an embeddings call with its inputs and no usage, and names its model
// embedding.model_name: such calls were recorded with model `unknown`, no tokens and no cost. A real app
// (otlp-apps/openai-openinference-embeddings.cjs, the official openai client, JSON exporter) calls the simulator:
// each call is recorded with its model, the input tokens the provider billed, and priced.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { getJson, metricValue, parseMetrics, type Stack, startStack } from './helpers.js';

interface AppRun {
  traceId: string;
  usages: { prompt_tokens: number }[];
  exports: number[];
}

interface Wire {
  trace_id: string;
  started_at: string;
  endpoint: string;
  model: string;
  provider: string;
  status: string;
  input_tokens: number | null;
  output_tokens: number | null;
  token_source: string | null;
  cost_usd: number | null;
}

function runApp(env: Record<string, string>, app = 'openai-openinference-embeddings.cjs'): Promise<AppRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [`test/e2e/otlp-apps/${app}`],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`app failed: ${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as AppRun);
      },
    );
  });
}

describe("OpenInference's embeddings spans, exported to /v1/traces", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ app: { modules: [createCostModule] } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('each call with its model, the input tokens billed and its cost', async () => {
    const run = await runApp({ LLMSCOPE_URL: s.base, SIM_URL: s.sim.url, OTLP_FORMAT: 'json' });
    expect(run.exports.every((code) => code === 0)).toBe(true);
    const deadline = Date.now() + 10_000;
    let calls: Wire[] = [];
    while (calls.length < 2 && Date.now() < deadline) {
      await s.app.ctx.recorder.flush();
      const page = await getJson<{ data: Wire[] }>(`${s.base}/api/requests?q=${run.traceId}&limit=50`);
      calls = page.data
        .filter((c) => c.trace_id === run.traceId)
        .sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
      if (calls.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    const [small, large] = run.usages.map((u) => u.prompt_tokens) as [number, number];
    expect(calls.map((c) => [c.endpoint, c.provider, c.model, c.status, c.input_tokens, c.output_tokens])).toEqual([
      ['embeddings', 'openai', 'text-embedding-3-small', 'ok', small, 0],
      ['embeddings', 'openai', 'text-embedding-3-large', 'ok', large, 0],
    ]);
    // $0.02 and $0.13 per 1M input tokens
    expect(calls[0]?.cost_usd).toBeCloseTo((small * 0.02) / 1e6, 14);
    expect(calls[1]?.cost_usd).toBeCloseTo((large * 0.13) / 1e6, 14);
  }, 60_000);

  it("an export up to the Collector's 20 MiB is taken (300 calls with 30 KB prompts captured, one 18.6 MB batch); one past it is refused whole and counted (360 calls, 22 MB, 413)", async () => {
    const refused = async (reason: string) =>
      metricValue(
        parseMetrics(await (await fetch(`${s.base}/metrics`)).text()),
        'llmscope_otlp_exports_refused_total',
        {
          reason,
        },
      );
    expect(await refused('too_large')).toBe(0);
    const count = async () => (await getJson<{ data: Wire[] }>(`${s.base}/api/requests?limit=500`)).data.length;
    const before = await count();
    // 18.6 MB (16 MiB was the limit until session 30: this export was refused and its calls lost)
    await runApp(
      { LLMSCOPE_URL: s.base, SIM_URL: s.sim.url, OTLP_FORMAT: 'protobuf', CALLS: '300', OTLP_DELAY_MS: '60000' },
      'openai-openinference-rag.cjs',
    );
    await s.app.ctx.recorder.flush();
    expect(await count()).toBe(before + 300);
    expect(await refused('too_large')).toBe(0);
    // the exporter's export fails (not retried): the app's flush throws, the 360 calls are lost
    await expect(
      runApp(
        { LLMSCOPE_URL: s.base, SIM_URL: s.sim.url, OTLP_FORMAT: 'protobuf', CALLS: '360', OTLP_DELAY_MS: '60000' },
        'openai-openinference-rag.cjs',
      ),
    ).rejects.toThrow(/Payload Too Large/);
    await s.app.ctx.recorder.flush();
    expect(await count()).toBe(before + 300);
    expect(await refused('too_large')).toBe(1);
    // a body that is no export
    const bad = await fetch(`${s.base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"resourceSpans": 7}',
    });
    expect(bad.status).toBe(400);
    expect(await refused('invalid_body')).toBe(1);
  }, 90_000);
});
