// Built-in tools billed per use (call.internal.toolUses, from the answer's usage): Anthropic's web search at $10 per
// 1,000 and web fetch at 0; OpenAI's web search $10, web_search_preview $25 on GPT-4o and $10 on reasoning models,
// file search $2.50; `pricing.tools` rules before the catalog; a tool without a price counted, not charged. And the
// providers' parsing of the counts: Anthropic's usage.server_tool_use (body and message_delta), the Responses API's
// web_search_call and file_search_call items (body and response.completed).
import { describe, expect, it } from 'vitest';
import { arrivedInternals, type LlmCall, type ToolUses, toolUsesOf } from '../calls/index.js';
import { AnthropicStreamReader, responseInfo as anthropicInfo } from '../providers/anthropic/index.js';
import { responseInfo as responsesInfo, responsesStreamReader } from '../providers/openai-responses/index.js';
import { costConfigOf } from './config.js';
import { PriceBook } from './pricing.js';
import { fakeCall } from './testing.js';

const book = (pricing: unknown = {}) => new PriceBook(costConfigOf({ pricing }).pricing);

/** A call of 1,000 prompt tokens and 100 output tokens that used `uses`. */
const used = (model: string, provider: string, uses: ToolUses | undefined): LlmCall =>
  fakeCall({
    model,
    provider,
    inputTokens: 1000,
    cachedInputTokens: 0,
    outputTokens: 100,
    internal: { ...arrivedInternals(0, '', '', null), upstreamStartAt: 1, toolUses: uses },
  });

describe('built-in tool prices', () => {
  it('adds Anthropic web searches at $10 per 1,000 to the tokens; web fetch is counted at 0', () => {
    const p = book().priceCall(used('claude-sonnet-4-5', 'anthropic', { web_search: 3, web_fetch: 2 }));
    const tokens = (1000 * 3 + 100 * 15) / 1e6;
    expect(p.costUsd).toBe(Math.round((tokens + 0.03) * 1e12) / 1e12);
    expect(p.price?.tools).toEqual([
      { tool: 'web_search', unitPrice: 0.01, units: 3 },
      { tool: 'web_fetch', unitPrice: 0, units: 2 },
    ]);
    // without tools: as before, no tools in the price
    const plain = book().priceCall(used('claude-sonnet-4-5', 'anthropic', undefined));
    expect(plain.costUsd).toBe(tokens);
    expect(plain.price?.tools).toBeUndefined();
  });

  it('prices OpenAI web search, the preview tool by model family, and file search', () => {
    const tokens = (1000 * 2.5 + 100 * 10) / 1e6;
    const gpt4o = book().priceCall(used('gpt-4o', 'openai', { web_search: 1, file_search: 2 }));
    expect(gpt4o.costUsd).toBe(Math.round((tokens + 0.01 + 0.005) * 1e12) / 1e12);
    const preview = book().priceCall(used('gpt-4o', 'openai', { web_search_preview: 2 }));
    expect(preview.price?.tools).toEqual([{ tool: 'web_search_preview', unitPrice: 0.025, units: 2 }]);
    const o4 = book().priceCall(used('o4-mini', 'openai', { web_search_preview: 1 }));
    expect(o4.price?.tools).toEqual([{ tool: 'web_search_preview', unitPrice: 0.01, units: 1 }]);
  });

  it('counts a tool it has no price for as unpriced, outside the cost', () => {
    // the preview tool on a model whose family is not known; web search on a model no catalog provider bills
    const p = book().priceCall(used('gpt-3.5-turbo', 'openai', { web_search_preview: 1 }));
    expect(p.price?.tools).toEqual([{ tool: 'web_search_preview', unitPrice: null, units: 1 }]);
    expect(p.costUsd).toBe((1000 * 0.5 + 100 * 1.5) / 1e6);
    const own = book({ models: [{ model: 'my-model', input: 1, output: 1 }] }).priceCall(
      used('my-model', 'local', { web_search: 1 }),
    );
    expect(own.price?.tools).toEqual([{ tool: 'web_search', unitPrice: null, units: 1 }]);
    expect(own.costUsd).toBe(1100 / 1e6);
  });

  it('takes the first pricing.tools rule for the tool, provider and model, before the catalog', () => {
    const b = book({
      tools: [
        { tool: 'web_search', provider: 'other', perThousand: 99 },
        { tool: 'web_search', model: 'claude-sonnet-*', perThousand: 0 },
        { tool: 'web_search', perThousand: 5 },
        { tool: 'file_search', model: 'gpt-4o', perThousand: 1 },
      ],
    });
    expect(b.priceCall(used('claude-sonnet-4-5', 'anthropic', { web_search: 2 })).price?.tools).toEqual([
      { tool: 'web_search', unitPrice: 0, units: 2 },
    ]);
    expect(b.priceCall(used('claude-haiku-4-5', 'anthropic', { web_search: 2 })).price?.tools).toEqual([
      { tool: 'web_search', unitPrice: 0.005, units: 2 },
    ]);
    // a rule for the tool only: file search on gpt-4o at $1; the preview tool keeps the catalog's price
    expect(b.priceCall(used('gpt-4o', 'openai', { file_search: 1, web_search_preview: 1 })).price?.tools).toEqual([
      { tool: 'file_search', unitPrice: 0.001, units: 1 },
      { tool: 'web_search_preview', unitPrice: 0.025, units: 1 },
    ]);
  });

  it('refuses a rule for a tool it does not know or a negative price', () => {
    expect(() => costConfigOf({ pricing: { tools: [{ tool: 'code_execution', perThousand: 1 }] } })).toThrow();
    expect(() => costConfigOf({ pricing: { tools: [{ tool: 'web_search', perThousand: -1 }] } })).toThrow();
  });

  it('names web searches web_search_preview when the request declared only the preview tool', () => {
    expect(toolUsesOf({ web_search: 2 }, [{ type: 'web_search_preview' }])).toEqual({ web_search_preview: 2 });
    expect(toolUsesOf({ web_search: 2 }, [{ type: 'web_search_preview_2025_03_11' }, { type: 'function' }])).toEqual({
      web_search_preview: 2,
    });
    expect(toolUsesOf({ web_search: 2 }, [{ type: 'web_search_preview' }, { type: 'web_search' }])).toEqual({
      web_search: 2,
    });
    expect(toolUsesOf({ web_search: 1 }, undefined)).toEqual({ web_search: 1 });
  });
});

describe('tool uses as the providers report them', () => {
  it('Anthropic: usage.server_tool_use, in the body and in message_delta', () => {
    const body = {
      content: [{ type: 'text', text: 'hi' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 10, output_tokens: 5, server_tool_use: { web_search_requests: 2, web_fetch_requests: 1 } },
    };
    expect(anthropicInfo(body).usage?.toolUses).toEqual({ web_search: 2, web_fetch: 1 });
    const none = {
      ...body,
      usage: { input_tokens: 10, output_tokens: 5, server_tool_use: { web_search_requests: 0 } },
    };
    expect(anthropicInfo(none).usage?.toolUses).toBeUndefined();
    const r = new AnthropicStreamReader();
    r.read(
      JSON.stringify({ type: 'message_start', message: { id: 'm', usage: { input_tokens: 10, output_tokens: 1 } } }),
    );
    const end = r.read(
      JSON.stringify({
        type: 'message_delta',
        delta: { stop_reason: 'end_turn' },
        usage: { output_tokens: 7, server_tool_use: { web_search_requests: 3, web_fetch_requests: 0 } },
      }),
    );
    expect(end?.usage?.toolUses).toEqual({ web_search: 3 });
  });

  it('Responses: web_search_call and file_search_call items, in the body and in response.completed', () => {
    const response = {
      status: 'completed',
      output: [
        { type: 'web_search_call', id: 'ws_1', status: 'completed' },
        { type: 'web_search_call', id: 'ws_2', status: 'completed' },
        { type: 'file_search_call', id: 'fs_1', status: 'completed' },
        { type: 'message', content: [{ type: 'output_text', text: 'ok' }] },
      ],
      usage: { input_tokens: 10, output_tokens: 5 },
    };
    expect(responsesInfo(response).usage?.toolUses).toEqual({ web_search: 2, file_search: 1 });
    expect(responsesInfo(response).finishReason).toBe('stop');
    const ev = responsesStreamReader.read(JSON.stringify({ type: 'response.completed', response }));
    expect(ev?.usage?.toolUses).toEqual({ web_search: 2, file_search: 1 });
    // the Response echoes its request's tools: the preview tool's searches are named so
    expect(responsesInfo({ ...response, tools: [{ type: 'web_search_preview' }] }).usage?.toolUses).toEqual({
      web_search_preview: 2,
      file_search: 1,
    });
    const plain = { ...response, output: [response.output[3]] };
    expect(responsesInfo(plain).usage?.toolUses).toBeUndefined();
  });
});
