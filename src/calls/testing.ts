// A complete LlmCall with plain defaults, for tests of core folders and capabilities alike.
import type { LlmCall } from './call.js';

let seq = 0;

export function fakeCall(over: Partial<LlmCall> = {}): LlmCall {
  const startedAt = over.startedAt ?? Date.parse('2025-07-01T12:00:00Z');
  return {
    requestId: `req-${++seq}`,
    traceId: null,
    startedAt,
    endedAt: startedAt + 1000,
    provider: 'openai',
    model: 'gpt-4o-mini',
    endpoint: 'chat.completions',
    stream: false,
    status: 'ok',
    httpStatus: 200,
    errorType: null,
    user: null,
    team: null,
    feature: null,
    session: null,
    apiKeyId: null,
    inputTokens: 1000,
    outputTokens: 500,
    cachedInputTokens: 0,
    reasoningTokens: 0,
    tokenSource: 'usage',
    ttftMs: null,
    tpotMs: null,
    latencyMs: 1000,
    overheadMs: 1,
    costUsd: null,
    price: null,
    finishReason: 'stop',
    refusal: false,
    requestBytes: 0,
    responseBytes: 0,
    source: 'ingest',
    spans: [],
    events: [],
    content: null,
    ...over,
  };
}
