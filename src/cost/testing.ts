// A complete LlmCall, and a gateway admission, with plain defaults, for tests of the cost capability.
import type { LlmCall } from '../calls/index.js';
import type { Admission } from '../gateway/proxy.js';

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

/** A chat call's admission by `user` (100 output tokens at most), as budgets see it. */
export function fakeAdmission(user: string): Admission {
  return {
    requestId: 'r',
    endpoint: 'chat.completions',
    model: 'gpt-4o-mini',
    provider: 'openai',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], max_tokens: 100 },
    headers: {},
    attribution: { user, team: null, feature: null, session: null, apiKeyId: null },
    forwardClientAuth: true,
    state: {},
  };
}
