import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { FRAMEWORK_PROVIDERS, withModelProvider } from './map.js';
import { attributeCall, attributeSpan, recordingReceiver } from './testing.js';

// Stands for the catalog: who serves each model it knows.
const KNOWN: Record<string, string> = {
  'gemini-2.0-flash': 'google',
  'us.anthropic.claude-sonnet-4-20250514-v1:0': 'bedrock',
  'gpt-4o-mini': 'openai',
};
const lookups: string[] = [];
const providerOfModel = (model: string): string | null => {
  lookups.push(model);
  return KNOWN[model] ?? null;
};

const adk = (model: string) => ({
  'gen_ai.system': 'gcp.vertex.agent',
  'gen_ai.request.model': model,
  'gen_ai.usage.input_tokens': 50,
  'gen_ai.usage.output_tokens': 5,
});
const strands = (model: string) => ({
  'gen_ai.system': 'strands-agents',
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': model,
  'gen_ai.usage.input_tokens': 100,
  'gen_ai.usage.output_tokens': 40,
});

const receive = async (attrs: Record<string, string | number>) => {
  const { r, recorded } = recordingReceiver({ providerOfModel });
  const out = await r.accept([attributeSpan(attrs, { name: 'call_llm' })]);
  expect(out.counts.call).toBe(1);
  return recorded[0] as LlmCall;
};

describe("OTLP: an agent framework's name where the provider belongs (decision 165)", () => {
  it("Google ADK's call_llm span: the call is the model's provider's; the stored span keeps gcp.vertex.agent", async () => {
    const c = await receive(adk('gemini-2.0-flash'));
    expect(c).toMatchObject({ provider: 'google', model: 'gemini-2.0-flash', endpoint: 'generate_content' });
    expect(c.spans?.[0]?.attributes['gen_ai.system']).toBe('gcp.vertex.agent');
  });

  it("Strands Agents' chat span on a Bedrock id: the call is Bedrock's", async () => {
    const c = await receive(strands('us.anthropic.claude-sonnet-4-20250514-v1:0'));
    expect(c).toMatchObject({ provider: 'bedrock', inputTokens: 100, outputTokens: 40 });
    expect(c.spans?.[0]?.attributes['gen_ai.system']).toBe('strands-agents');
  });

  it("a model the catalog does not know keeps the framework's name", async () => {
    expect((await receive(strands('my-finetune-7b'))).provider).toBe('strands-agents');
    expect((await receive(adk('my-tuned-gemini'))).provider).toBe('gcp.vertex.agent');
  });

  it('a span naming a real provider is unchanged, and is not looked up', async () => {
    lookups.length = 0;
    const c = await receive({ ...strands('gpt-4o-mini'), 'gen_ai.system': 'openai' });
    expect(c.provider).toBe('openai');
    // a real provider the catalog would name otherwise is kept too
    expect((await receive({ ...adk('gemini-2.0-flash'), 'gen_ai.system': 'gcp.vertex_ai' })).provider).toBe(
      'gcp.vertex_ai',
    );
    expect(lookups).toEqual([]);
  });

  it('a span naming no provider is the model provider’s; without a lookup (no cost capability) nothing changes', () => {
    const bare = attributeCall({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini' });
    expect(bare.provider).toBe('unknown');
    expect(withModelProvider({ ...bare }, providerOfModel).provider).toBe('openai');
    expect(withModelProvider(attributeCall(strands('gpt-4o-mini')), undefined).provider).toBe('strands-agents');
    // the framework names known (lower case, as providerOf lowercases them)
    for (const n of FRAMEWORK_PROVIDERS) expect(n).toBe(n.toLowerCase());
  });
});
