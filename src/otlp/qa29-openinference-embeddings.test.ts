// OpenInference's OpenAI instrumentation (@arizeai/openinference-instrumentation-openai 4.2, as QA29 captured its
// export) records an embeddings call with its inputs in input.value and no usage at all, so the call was recorded
// with no tokens and no cost. Its inputs are now counted, each by itself, as the provider bills them.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { countTokens } from '../calls/tokens.js';
import { decodeJson } from './json.js';
import { OtlpReceiver } from './receiver.js';

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });

async function callsOf(inputs: string[]): Promise<LlmCall[]> {
  const calls: LlmCall[] = [];
  const r = new OtlpReceiver({
    recorder: { record: (c: LlmCall) => void calls.push(c) },
    store: { knownIds: async () => new Set() },
    registry: new Registry(),
    bodyLimit: 16 << 20,
  });
  await r.accept(
    decodeJson({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: inputs.map((input, i) => ({
                traceId: `6c1a3f2c9d8e7f6a5b4c3d2e1f0a9b8${i}`,
                spanId: `333333333333333${i}`,
                name: 'OpenAI Embeddings',
                kind: 1,
                startTimeUnixNano: '1760000000000000000',
                endTimeUnixNano: '1760000000500000000',
                status: { code: 1 },
                attributes: [
                  str('openinference.span.kind', 'EMBEDDING'),
                  str('embedding.model_name', 'text-embedding-3-small'),
                  str('input.value', input),
                  str('input.mime_type', input.startsWith('[') ? 'application/json' : 'text/plain'),
                  str('llm.system', 'openai'),
                ],
              })),
            },
          ],
        },
      ],
    }),
  );
  return calls;
}

describe("OpenInference's embedding spans without usage", () => {
  it('count each input (a JSON list or one string); token ids are not guessed', async () => {
    const long = 'the river runs to the sea. '.repeat(4000); // past the exact-count cap: the rest extrapolated
    const calls = await callsOf([
      '["hello world","bye"]',
      'one string input',
      JSON.stringify(['a b c', long]),
      '[[1,2,3]]',
    ]);
    expect(calls.map((c) => [c.endpoint, c.model, c.inputTokens, c.outputTokens, c.tokenSource])).toEqual([
      ['embeddings', 'text-embedding-3-small', 3, 0, 'estimate'],
      ['embeddings', 'text-embedding-3-small', countTokens('one string input'), 0, 'estimate'],
      ['embeddings', 'text-embedding-3-small', expect.any(Number), 0, 'estimate'],
      ['embeddings', 'text-embedding-3-small', null, null, null],
    ]);
    const exact = countTokens('a b c') + countTokens(long);
    expect(Math.abs((calls[2]?.inputTokens ?? 0) - exact) / exact).toBeLessThan(0.02);
  });
});
