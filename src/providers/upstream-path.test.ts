// The upstream path of a call keeps the client's query string on every wire format: Azure OpenAI needs its
// `api-version`, Claude Code sends `/v1/messages?beta=true`, Gemini's `alt=sse` selects the stream's framing.
import { describe, expect, it } from 'vitest';
import { anthropicAdapter } from './anthropic/index.js';
import { geminiAdapter } from './gemini/index.js';
import { openaiCompatibleAdapter } from './openai-compatible/index.js';
import { openaiResponsesAdapter } from './openai-responses/index.js';

describe('upstreamPath keeps the client query', () => {
  it('chat completions, completions and embeddings (Azure OpenAI api-version)', () => {
    const q = '?api-version=2024-10-21';
    expect(openaiCompatibleAdapter.upstreamPath('chat.completions', `/v1/chat/completions${q}`, 'gpt-4o')).toBe(
      `/chat/completions${q}`,
    );
    expect(openaiCompatibleAdapter.upstreamPath('completions', `/v1/completions${q}`, 'x')).toBe(`/completions${q}`);
    expect(openaiCompatibleAdapter.upstreamPath('embeddings', `/v1/embeddings${q}`, 'x')).toBe(`/embeddings${q}`);
    expect(openaiCompatibleAdapter.upstreamPath('chat.completions', '/v1/chat/completions', 'gpt-4o')).toBe(
      '/chat/completions',
    );
  });

  it('Anthropic messages (?beta=true) and Responses', () => {
    expect(anthropicAdapter.upstreamPath('messages', '/v1/messages?beta=true', 'claude-sonnet-4-5')).toBe(
      '/messages?beta=true',
    );
    expect(anthropicAdapter.upstreamPath('messages', '/v1/messages', 'claude-sonnet-4-5')).toBe('/messages');
    expect(openaiResponsesAdapter.upstreamPath('responses', '/v1/responses?api-version=preview', 'gpt-4o')).toBe(
      '/responses?api-version=preview',
    );
    expect(openaiResponsesAdapter.upstreamPath('responses', '/v1/responses', 'gpt-4o')).toBe('/responses');
  });

  it('Gemini, as before', () => {
    expect(
      geminiAdapter.upstreamPath(
        'generate_content',
        '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
        'gemini-2.5-flash',
      ),
    ).toBe('/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  });
});
