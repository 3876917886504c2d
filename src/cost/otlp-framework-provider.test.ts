// Decision 165: a call traced by an agent framework that names itself where the provider belongs (Google ADK's
// `gcp.vertex.agent`, Strands Agents' `strands-agents`) is recorded under the provider the price catalog says serves
// its model (PriceBook.providerOfModel, which serve hands the OTLP receiver): `google` for Gemini, `bedrock` for a
// Bedrock model id (AWS bills it, whichever vendor's price it costs), and the price is what it was under the
// framework's name. A model the catalog does not know keeps the framework's name.
import { describe, expect, it } from 'vitest';
import { withModelProvider } from '../otlp/map.js';
import { attributeCall } from '../otlp/testing.js';
import { costConfigOf } from './config.js';
import { PriceBook } from './pricing.js';

const prices = new PriceBook(costConfigOf({}).pricing);
const T = Date.UTC(2026, 10, 2, 12);
const lookup = (model: string) => prices.providerOfModel(model);

const call = (system: string, model: string) => ({
  ...attributeCall({
    'gen_ai.system': system,
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': model,
    'gen_ai.usage.input_tokens': 1_000_000,
    'gen_ai.usage.output_tokens': 100_000,
  }),
  startedAt: T,
  endedAt: T + 1000,
});
const recorded = (system: string, model: string) => withModelProvider(call(system, model), lookup);

describe('OTLP calls of agent frameworks: the provider from the catalog (decision 165)', () => {
  it('Google ADK on Gemini: google, priced as before', () => {
    const c = recorded('gcp.vertex.agent', 'gemini-2.0-flash');
    expect(c.provider).toBe('google');
    expect(prices.priceCall(c).costUsd).toBe(prices.priceCall(call('gcp.vertex.agent', 'gemini-2.0-flash')).costUsd);
    expect(prices.priceCall(c).costUsd).toBeGreaterThan(0);
  });

  it('Strands Agents on a Bedrock id: bedrock, priced as before (Anthropic’s price; Bedrock’s own for 4.5 regional)', () => {
    for (const model of [
      'us.anthropic.claude-sonnet-4-20250514-v1:0',
      'anthropic.claude-3-haiku-20240307-v1:0',
      'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
    ]) {
      const c = recorded('strands-agents', model);
      expect(c.provider, model).toBe('bedrock');
      const before = prices.priceCall(call('strands-agents', model)).costUsd;
      expect(before, model).toBeGreaterThan(0);
      expect(prices.priceCall(c).costUsd, model).toBe(before);
    }
  });

  it('a plain model name is its vendor’s; a Vertex spelling is google’s', () => {
    expect(recorded('strands-agents', 'gpt-4o').provider).toBe('openai');
    expect(recorded('strands-agents', 'claude-sonnet-4-20250514').provider).toBe('anthropic');
    expect(recorded('gcp.vertex.agent', 'claude-sonnet-4-5@20250929').provider).toBe('google');
  });

  it("a model the catalog does not know keeps the framework's name; a real provider is never changed", () => {
    expect(recorded('strands-agents', 'my-finetune-7b').provider).toBe('strands-agents');
    expect(recorded('gcp.vertex.agent', 'my-tuned-gemini').provider).toBe('gcp.vertex.agent');
    expect(recorded('openai', 'gemini-2.0-flash').provider).toBe('openai');
    // an open-weight model only resellers price says nothing of who served it
    expect(prices.providerOfModel('llama-3.3-70b-versatile')).toBeNull();
  });
});
