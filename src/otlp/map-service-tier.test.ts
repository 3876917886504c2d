// The service tier the answer says served an OTLP span's call (GenAI's `openai.response.service_tier`, or the older
// `gen_ai.openai.response.service_tier`) travels on the call's internals, where the price enricher reads it, as a
// gateway call's does; the request's tier does not.
import { describe, expect, it } from 'vitest';
import { attributeCall } from './testing.js';

const call = (attrs: Record<string, string | number>) => attributeCall(attrs, { name: 'chat gpt-4o' });

const chat = { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o' };

describe('OTLP spans: service tier', () => {
  it('the response tier, current or older name, with or without content', () => {
    const usage = { 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 };
    expect(call({ ...chat, ...usage, 'openai.response.service_tier': 'priority' }).internal?.serviceTier).toBe(
      'priority',
    );
    expect(call({ ...chat, ...usage, 'gen_ai.openai.response.service_tier': 'flex' }).internal?.serviceTier).toBe(
      'flex',
    );
    const withText = call({ ...chat, 'gen_ai.prompt.0.content': 'hi', 'openai.response.service_tier': 'flex' });
    expect(withText.internal).toMatchObject({ promptText: 'hi', serviceTier: 'flex' });
  });

  it("the AI SDK's: its OpenAI provider metadata's serviceTier (ai.response.providerMetadata), no other provider's", () => {
    const ai = {
      'ai.operationId': 'ai.generateText.doGenerate',
      'ai.model.provider': 'openai.responses',
      'ai.model.id': 'gpt-4o',
      'ai.usage.inputTokens': 10,
      'ai.usage.outputTokens': 5,
    };
    const meta = (m: unknown) => call({ ...ai, 'ai.response.providerMetadata': JSON.stringify(m) }).internal;
    expect(meta({ openai: { responseId: 'resp_1', serviceTier: 'priority' } })?.serviceTier).toBe('priority');
    expect(meta({ openai: { responseId: 'resp_1' } })).toBeUndefined();
    expect(meta({ other: { serviceTier: 'flex' } })).toBeUndefined();
    expect(call({ ...ai, 'ai.response.providerMetadata': '{"serviceTier": not json' }).internal).toBeUndefined();
  });

  it('the request tier alone names none; a span with neither usage nor text keeps no internals', () => {
    const usage = { 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 };
    expect(call({ ...chat, ...usage, 'openai.request.service_tier': 'priority' }).internal).toBeUndefined();
    const bare = call({ ...chat, 'openai.response.service_tier': 'flex' });
    expect(bare.internal).toBeUndefined();
    expect(bare.inputTokens).toBeNull();
  });
});
