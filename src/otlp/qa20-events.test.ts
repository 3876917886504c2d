// A call whose answer comes as GenAI span events (`gen_ai.choice`) rather than attributes, and whose span names no
// finish reason itself: the choice event's finish reason was not read, so the record had none (and a content filter's
// refusal went uncounted). Now the first gen_ai.choice event's `finish_reason` attribute (Strands' attribute form) or
// the `finish_reason` of its `gen_ai.event.content` body (Semantic Kernel, Azure AI Inference) is the call's.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { decodeJson } from './json.js';
import { OtlpReceiver } from './receiver.js';

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const T = '1760000000000000000';

function exportOf(spanId: string, choice: unknown[]) {
  return {
    resourceSpans: [
      {
        scopeSpans: [
          {
            scope: { name: 'Microsoft.SemanticKernel.Diagnostics' },
            spans: [
              {
                traceId: '8c1a3f2c9d8e7f6a5b4c3d2e1f0a9b8c',
                spanId,
                name: 'chat.completions gpt-4o',
                kind: 3,
                startTimeUnixNano: T,
                endTimeUnixNano: '1760000000700000000',
                attributes: [
                  str('gen_ai.operation.name', 'chat.completions'),
                  str('gen_ai.system', 'openai'),
                  str('gen_ai.request.model', 'gpt-4o'),
                  { key: 'gen_ai.usage.input_tokens', value: { intValue: 20 } },
                  { key: 'gen_ai.usage.output_tokens', value: { intValue: 16 } },
                ],
                events: [
                  {
                    name: 'gen_ai.user.message',
                    timeUnixNano: T,
                    attributes: [str('gen_ai.event.content', '{"role":"user","content":"Write a poem"}')],
                  },
                  { name: 'gen_ai.choice', timeUnixNano: '1760000000700000000', attributes: choice },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}

async function callOf(body: unknown): Promise<LlmCall> {
  const calls: LlmCall[] = [];
  const r = new OtlpReceiver({
    recorder: { record: (c: LlmCall) => void calls.push(c) },
    store: { knownIds: async () => new Set() },
    registry: new Registry(),
    bodyLimit: 16 << 20,
  });
  await r.accept(decodeJson(body));
  expect(calls).toHaveLength(1);
  return calls[0] as LlmCall;
}

describe('finish reason from gen_ai.choice span events', () => {
  it("the event body's finish_reason (Semantic Kernel): a content filter is a refusal", async () => {
    const c = await callOf(
      exportOf('1111111111111111', [
        str(
          'gen_ai.event.content',
          '{"index":0,"finish_reason":"content_filter","message":{"role":"assistant","content":""}}',
        ),
      ]),
    );
    expect([c.finishReason, c.refusal, c.inputTokens, c.outputTokens]).toEqual(['content_filter', true, 20, 16]);
  });

  it("the event's finish_reason attribute", async () => {
    const c = await callOf(
      exportOf('2222222222222222', [
        { key: 'index', value: { intValue: 0 } },
        str('finish_reason', 'length'),
        str('message', '{"role":"assistant","content":"Roses are red"}'),
      ]),
    );
    expect([c.finishReason, c.refusal]).toEqual(['length', false]);
  });
});
