// The end user named in a call's body is the call's user when no x-llmscope-user header (or virtual key) names one,
// on every route, each in its own field: OpenAI's `safety_identifier` (and its older `user`), Anthropic's
// `metadata.user_id` (Claude Code's read as its account and session).
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, simProviders, startStack } from './helpers.js';

describe("the body's end user as the call's user", () => {
  let s: Stack;
  const userOf = async (path: string, id: string, body: unknown, headers: Record<string, string> = {}) => {
    const r = await request(`${s.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id, ...headers },
      body: JSON.stringify(body),
    });
    await r.body.text();
    expect(r.statusCode, id).toBe(200);
    return (await s.callOf(id)).user;
  };

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 1, tpotMs: 1, outputTokens: 3 },
      config: (sim) => ({
        providers: simProviders(sim, 'openai', 'anthropic'),
      }),
    });
  });
  afterAll(() => s.close());

  it("takes Anthropic's metadata.user_id, under an x-llmscope-user header", async () => {
    const claudeCode = 'user_5f1c_account_9d2e_session_77ab';
    const msg = (metadata: unknown) => ({
      model: 'claude-sonnet-4-5',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'hi' }],
      metadata,
    });
    expect(await userOf('/v1/messages', 'bu-anth', msg({ user_id: claudeCode }))).toBe(claudeCode);
    expect(
      await userOf('/v1/messages', 'bu-anth-h', msg({ user_id: claudeCode }), { 'x-llmscope-user': 'alice' }),
    ).toBe('alice');
    expect(await userOf('/v1/messages', 'bu-anth-none', msg({}))).toBeNull();
    expect(await userOf('/v1/messages', 'bu-anth-num', msg({ user_id: 42 }))).toBeNull();
  });

  it("reads Claude Code's metadata.user_id as its account (else device) and session, so one person's sessions are one user", async () => {
    const device = 'a3f9'.repeat(16);
    const account = '0c6e2d4a-5b1f-4e7a-9c3d-2f8b6a1e7d90';
    const session = '7d1b9e0f-3a2c-4d5e-8f6a-1b2c3d4e5f60';
    const msg = (userId: string) => ({
      model: 'claude-sonnet-4-5',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'hi' }],
      metadata: { user_id: userId },
    });
    const post = async (id: string, userId: string, headers: Record<string, string> = {}) => {
      const r = await request(`${s.base}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': id, ...headers },
        body: JSON.stringify(msg(userId)),
      });
      await r.body.text();
      expect(r.statusCode, id).toBe(200);
      const c = await s.callOf(id);
      return { user: c.user, session: c.session };
    };
    // signed in to claude.ai: the account
    expect(await post('cc-account', `user_${device}_account_${account}_session_${session}`)).toEqual({
      user: account,
      session,
    });
    // an API key without a claude.ai login: the account part is empty, the device names the user
    expect(await post('cc-device', `user_${device}_account__session_${session}`)).toEqual({ user: device, session });
    // the same ids as JSON
    expect(
      await post('cc-json', JSON.stringify({ device_id: device, account_uuid: account, session_id: session })),
    ).toEqual({ user: account, session });
    // headers still win
    expect(
      await post('cc-headers', `user_${device}_account_${account}_session_${session}`, {
        'x-llmscope-user': 'alice',
        'x-llmscope-session': 'mine',
      }),
    ).toEqual({ user: 'alice', session: 'mine' });
  });

  it("takes the Responses API's safety_identifier, else its older user", async () => {
    const base = { model: 'gpt-4o-mini', input: 'hi' };
    expect(await userOf('/v1/responses', 'bu-resp-si', { ...base, safety_identifier: 'hash-123' })).toBe('hash-123');
    expect(await userOf('/v1/responses', 'bu-resp-u', { ...base, user: 'bob' })).toBe('bob');
    expect(await userOf('/v1/responses', 'bu-resp-both', { ...base, user: 'bob', safety_identifier: 'hash-9' })).toBe(
      'hash-9',
    );
    expect(
      await userOf(
        '/v1/responses',
        'bu-resp-h',
        { ...base, safety_identifier: 'hash-123' },
        { 'x-llmscope-user': 'al' },
      ),
    ).toBe('al');
  });

  it("takes chat completions' safety_identifier (which replaced user there too), else its user", async () => {
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], user: 'carol' };
    expect(await userOf('/v1/chat/completions', 'bu-chat', body)).toBe('carol');
    const { user: _, ...noUser } = body;
    expect(await userOf('/v1/chat/completions', 'bu-chat-si', { ...noUser, safety_identifier: 'hash-7' })).toBe(
      'hash-7',
    );
    expect(await userOf('/v1/chat/completions', 'bu-chat-both', { ...body, safety_identifier: 'hash-8' })).toBe(
      'hash-8',
    );
  });
});
