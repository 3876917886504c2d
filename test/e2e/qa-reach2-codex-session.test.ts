// The Codex CLI names its conversation in a `session_id` request header on POST /v1/responses (older versions send
// `conversation_id` too, with the same id), not in the body. llmscope read a session only from its own header and
// the body (Claude Code's metadata.user_id), so Codex's calls had no session. The openai client sends the headers as
// Codex does; the simulator answers.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

describe('reach: a Codex call’s session comes from its session_id header', () => {
  let s: Stack;

  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 5, tpotMs: 1, outputTokens: 4 } });
  });
  afterAll(() => s.close());

  const client = (headers: Record<string, string>) =>
    new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-not-real', maxRetries: 0, defaultHeaders: headers });

  it('session_id (streamed, as Codex sends it) and conversation_id alone (older versions) name the session', async () => {
    const codex = client({ session_id: '0199a1b2-0000-7000-8000-00000000c0de', 'x-request-id': 'codex-1' });
    const stream = await codex.responses.create({ model: 'gpt-4o-mini', input: 'Hi', stream: true });
    for await (const _ of stream);
    expect((await s.callOf('codex-1')).session).toBe('0199a1b2-0000-7000-8000-00000000c0de');

    const older = client({ conversation_id: '0199a1b2-0000-7000-8000-0000000000aa', 'x-request-id': 'codex-2' });
    await older.responses.create({ model: 'gpt-4o-mini', input: 'Hi' });
    expect((await s.callOf('codex-2')).session).toBe('0199a1b2-0000-7000-8000-0000000000aa');
  });

  it('x-llmscope-session wins over it, and a call without either has none', async () => {
    const both = client({ session_id: 'codex-s', 'x-llmscope-session': 'mine', 'x-request-id': 'codex-3' });
    await both.responses.create({ model: 'gpt-4o-mini', input: 'Hi' });
    expect((await s.callOf('codex-3')).session).toBe('mine');

    await client({ 'x-request-id': 'codex-4' }).responses.create({ model: 'gpt-4o-mini', input: 'Hi' });
    expect((await s.callOf('codex-4')).session).toBeNull();
  });
});
