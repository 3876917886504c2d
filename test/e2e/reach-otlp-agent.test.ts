// Agents traced with OpenTelemetry, as their developers run them: a Vercel AI SDK agent (streamText with a tool, so
// two model calls and an ai.toolCall span under ai.streamText, a call the content filter stopped, a Responses stream
// that failed half-way) and an app
// instrumented by OpenLLMetry (@traceloop/instrumentation-openai), each exporting through the real OTLP exporter to
// llmscope's /v1/traces. Every model call is one record with the tokens its SDK reported, a filtered answer is a
// refusal whichever convention names it, and a stream that failed after it began is a failed call.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { getJson, type Stack, startStack } from './helpers.js';

interface AppRun {
  traceId: string;
  rootSpanId: string;
  usages: Record<string, number>[];
  finishReasons: string[];
}

function runApp(app: string, env: Record<string, string>): Promise<AppRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [`test/e2e/otlp-apps/${app}`],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${app} failed: ${err.message}\n${stderr}`));
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as AppRun);
        } catch {
          reject(new Error(`${app} printed no result: ${stdout}\n${stderr}`));
        }
      },
    );
  });
}

interface Wire {
  request_id: string;
  trace_id: string;
  started_at: string;
  endpoint: string;
  model: string;
  stream: boolean;
  status: string;
  error_type: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  ttft_ms: number | null;
  finish_reason: string | null;
  refusal: boolean;
  user: string | null;
  team: string | null;
}

interface Span {
  name: string;
  span_id: string;
  parent_span_id: string | null;
  attributes: Record<string, unknown>;
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

describe('agents traced with OpenTelemetry, through the real exporters', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ app: { modules: [createCostModule] } });
  });
  afterAll(async () => {
    await s?.close();
  });
  const env = (format: string) => ({ LLMSCOPE_URL: s.base, SIM_URL: s.sim.url, OTLP_FORMAT: format });

  it('Vercel AI SDK agent: each step a call with its own tokens, the tool call in the waterfall, content-filter a refusal, a failed stream failed', async () => {
    const run = await runApp('vercel-ai-agent.cjs', env('protobuf'));
    expect(run.finishReasons).toEqual(['tool-calls', 'stop', 'content-filter', 'error']);
    const calls = await callsOfTrace(s, run.traceId, 4);
    expect(calls).toHaveLength(4);
    expect(calls.map((c) => [c.input_tokens, c.output_tokens])).toEqual(
      run.usages.map((u) => [u['inputTokens'], u['outputTokens']]),
    );
    const [step1, step2, filtered, failed] = calls as [Wire, Wire, Wire, Wire];
    for (const c of [step1, step2]) {
      expect(c).toMatchObject({ stream: true, refusal: false, user: 'ada', model: 'gpt-4o-mini' });
      expect(c.ttft_ms).toBeGreaterThan(0);
      expect(c.cost_usd).toBeGreaterThan(0);
    }
    expect(step1.finish_reason).toBe('tool-calls');
    expect(step2.finish_reason).toBe('stop');
    // the AI SDK reports every provider's content filter as `content-filter`: a refusal, as content_filter is
    expect(filtered).toMatchObject({ stream: false, finish_reason: 'content-filter', refusal: true });
    // the failed stream's span has status OK: its finish reason says it failed, as the gateway records such a stream
    expect(failed).toMatchObject({
      endpoint: 'responses',
      stream: true,
      status: 'upstream_error',
      error_type: 'error',
      finish_reason: 'error',
    });
    expect(failed.output_tokens).toBeGreaterThan(0);

    // the tool call sits under ai.streamText beside both steps, its arguments and result not kept
    const t = await getJson<{ calls: { spans: Span[] }[] }>(`${s.base}/api/traces/${run.traceId}`);
    const spans = t.calls.flatMap((c) => c.spans);
    const toolCall = spans.find((x) => x.name === 'ai.toolCall');
    const stream = spans.find((x) => x.span_id === toolCall?.parent_span_id);
    expect(stream?.name).toBe('ai.streamText');
    expect(toolCall?.attributes['ai.toolCall.name']).toBe('weather');
    expect(toolCall?.attributes['ai.toolCall.args']).toBeUndefined();
    expect(toolCall?.attributes['ai.toolCall.result']).toBeUndefined();
    // both steps of the tool loop under that ai.streamText (the failing stream has its own)
    expect(
      spans.filter((x) => x.name === 'ai.streamText.doStream' && x.parent_span_id === stream?.span_id),
    ).toHaveLength(2);
  }, 90_000);

  it('OpenLLMetry (@traceloop/instrumentation-openai), JSON exporter: tokens, cost, finish reasons, a filtered answer a refusal', async () => {
    const run = await runApp('openai-traceloop.cjs', env('json'));
    expect(run.finishReasons).toEqual(['stop', 'tool_calls', 'content_filter']);
    const calls = await callsOfTrace(s, run.traceId, 4);
    expect(calls).toHaveLength(4);
    const [chat, tool, filtered, responses] = calls as [Wire, Wire, Wire, Wire];
    const u = run.usages as Record<string, number>[];
    for (const [c, usage] of [
      [chat, u[0]],
      [tool, u[1]],
      [filtered, u[2]],
    ] as const) {
      expect(c).toMatchObject({
        endpoint: 'chat.completions',
        input_tokens: usage?.['prompt_tokens'],
        output_tokens: usage?.['completion_tokens'],
        team: 'support',
      });
      expect(c.cost_usd).toBeGreaterThan(0);
    }
    expect(chat).toMatchObject({ finish_reason: 'stop', refusal: false });
    // OpenLLMetry maps OpenAI's tool_calls to the GenAI conventions' tool_call
    expect(tool).toMatchObject({ finish_reason: 'tool_call', refusal: false });
    expect(filtered).toMatchObject({ finish_reason: 'content_filter', refusal: true });
    expect(responses).toMatchObject({
      endpoint: 'responses',
      input_tokens: u[3]?.['input_tokens'],
      output_tokens: u[3]?.['output_tokens'],
    });
  }, 90_000);
});
