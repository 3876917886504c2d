// What agent frameworks' model-call spans say of usage, timing and session, as their sources write it (QA46):
// - Strands Agents (strands.telemetry.tracer) writes Bedrock's cache writes as gen_ai.usage.cache_write_input_tokens
//   beside gen_ai.usage.cache_read_input_tokens: the writes were not read, so a call that wrote 1,000 tokens to the
//   cache was priced as 1,000 plain input tokens (Claude's writes cost 1.25x);
// - Strands puts Bedrock's timeToFirstByteMs in gen_ai.server.time_to_first_token, in milliseconds, where the
//   conventions say seconds: read as seconds it was longer than the call and dropped, so no TTFT;
// - Google ADK's call_llm span names its session only in gcp.vertex.agent.session_id (gen_ai.conversation.id is on
//   the agent's span around it): an ADK app without the google-genai instrumentation had its calls under no session.
import { describe, expect, it } from 'vitest';
import { attributeCall } from './testing.js';

const call = (attrs: Record<string, string | number>, durationMs = 1500) => attributeCall(attrs, { durationMs });

const strands = {
  'gen_ai.system': 'strands-agents',
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': 'us.anthropic.claude-sonnet-4-20250514-v1:0',
};

describe('OTLP spans: agent frameworks’ usage, timing and session', () => {
  it("Strands' cache writes (gen_ai.usage.cache_write_input_tokens) are the call's cache writes", () => {
    const c = call({
      ...strands,
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 40,
      'gen_ai.usage.cache_read_input_tokens': 0,
      'gen_ai.usage.cache_write_input_tokens': 1000,
    });
    // Bedrock's inputTokens leaves the cache's parts out: the whole prompt is 1,100 tokens, 1,000 of them written
    expect(c).toMatchObject({ inputTokens: 1100, cachedInputTokens: 0, cacheWriteInputTokens: 1000 });
  });

  it("Strands' time to first token in milliseconds is the call's TTFT; one in seconds still reads as seconds", () => {
    expect(call({ ...strands, 'gen_ai.server.time_to_first_token': 420 }, 1500).ttftMs).toBe(420);
    expect(call({ ...strands, 'gen_ai.server.time_to_first_token': 0.42 }, 1500).ttftMs).toBe(420);
    // a whole number of seconds that fits the call is seconds, as the conventions say
    expect(call({ ...strands, 'gen_ai.server.time_to_first_token': 1 }, 1500).ttftMs).toBe(1000);
    // longer than the call either way: no TTFT
    expect(call({ ...strands, 'gen_ai.server.time_to_first_token': 2000 }, 1500).ttftMs).toBeNull();
  });

  it("Google ADK's call_llm span: its session is gcp.vertex.agent.session_id", () => {
    const c = call({
      'gen_ai.system': 'gcp.vertex.agent',
      'gen_ai.request.model': 'gemini-2.0-flash',
      'gcp.vertex.agent.session_id': 'sess-7',
      'gen_ai.usage.input_tokens': 50,
      'gen_ai.usage.output_tokens': 5,
    });
    expect(c).toMatchObject({ session: 'sess-7', endpoint: 'generate_content', model: 'gemini-2.0-flash' });
    // a session the app names itself still wins
    expect(
      call({
        'gen_ai.system': 'gcp.vertex.agent',
        'gen_ai.request.model': 'gemini-2.0-flash',
        'gcp.vertex.agent.session_id': 'sess-7',
        'session.id': 'app-session',
      }).session,
    ).toBe('app-session');
  });
});
