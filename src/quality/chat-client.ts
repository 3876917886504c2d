// A minimal OpenAI-compatible chat client for llmscope's own model calls (the judge, extra consistency samples).
// Every call it makes is handed to `onCall` as an LlmCall with feature `llmscope-eval`, so evaluation traffic is
// recorded, counted and priced like any other call — and can be told apart from the users'.
import { request } from 'undici';
import type { LlmCall } from '../calls/index.js';
import { uuidv7 } from '../telemetry/ids.js';

export const EVAL_FEATURE = 'llmscope-eval';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatClientOptions {
  /** Provider name recorded on the calls. */
  provider: string;
  /** OpenAI-compatible base URL, with the /v1 part. */
  baseUrl: string;
  apiKey?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  onCall?: (call: LlmCall) => void;
  now?: () => number;
}

export interface ChatReply {
  text: string;
  finishReason: string | null;
  requestId: string;
}

export class ChatClient {
  constructor(private readonly opts: ChatClientOptions) {}

  /** One non-streaming chat completion; rejects on transport or HTTP errors (the call is still recorded). */
  async chat(body: {
    model: string;
    messages: ChatMessage[];
    temperature?: number;
    max_tokens?: number;
  }): Promise<ChatReply> {
    const now = this.opts.now ?? Date.now;
    const started = now();
    const requestId = uuidv7(started);
    const payload = JSON.stringify({ ...body, stream: false });
    const url = `${this.opts.baseUrl.replace(/\/$/, '')}/chat/completions`;
    let status = 0;
    let json: Record<string, unknown> | null = null;
    let failure: Error | null = null;
    let timedOut = false;
    try {
      const res = await request(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-request-id': requestId,
          'x-llmscope-feature': EVAL_FEATURE,
          ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}),
          ...this.opts.headers,
        },
        body: payload,
        headersTimeout: this.opts.timeoutMs ?? 30_000,
        bodyTimeout: this.opts.timeoutMs ?? 30_000,
      });
      status = res.statusCode;
      const text = await res.body.text();
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = null;
      }
      if (status >= 400) failure = new Error(`upstream answered HTTP ${status}: ${text.slice(0, 200)}`);
      else if (!json) failure = new Error('upstream answered with a body that is not JSON');
    } catch (err) {
      failure = err as Error;
      timedOut = /timeout/i.test(failure.name) || /timeout/i.test(failure.message);
    }
    const ended = now();
    const choice = (json?.choices as { message?: { content?: unknown }; finish_reason?: unknown }[] | undefined)?.[0];
    const text = typeof choice?.message?.content === 'string' ? choice.message.content : '';
    const finishReason = typeof choice?.finish_reason === 'string' ? choice.finish_reason : null;
    const usage = json?.usage as { prompt_tokens?: number; completion_tokens?: number } | undefined;
    this.opts.onCall?.({
      requestId,
      traceId: null,
      startedAt: started,
      endedAt: ended,
      provider: this.opts.provider,
      model: body.model,
      endpoint: 'chat.completions',
      stream: false,
      status: timedOut
        ? 'timeout'
        : status === 0
          ? 'upstream_error'
          : status === 429
            ? 'rate_limited'
            : status >= 500
              ? 'upstream_error'
              : status >= 400
                ? 'client_error'
                : 'ok',
      httpStatus: status || 502,
      errorType: failure ? (timedOut ? 'timeout' : 'upstream_error') : null,
      user: null,
      team: null,
      feature: EVAL_FEATURE,
      session: null,
      apiKeyId: null,
      inputTokens: typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : null,
      outputTokens: typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : null,
      cachedInputTokens: null,
      reasoningTokens: null,
      tokenSource: usage ? 'usage' : null,
      ttftMs: null,
      tpotMs: null,
      latencyMs: ended - started,
      overheadMs: 0,
      costUsd: null,
      price: null,
      finishReason,
      refusal: false,
      requestBytes: Buffer.byteLength(payload),
      responseBytes: 0,
      source: 'ingest',
      spans: [],
      events: [],
      content: null,
    });
    if (failure) throw failure;
    return { text, finishReason, requestId };
  }
}
