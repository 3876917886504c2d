// A gateway that takes virtual keys records the calls it refuses, and a caller with no live key could write them into
// any team's and any user's ledger (QA36): a 401 sent with `x-llmscope-team: blue` and `x-llmscope-user: <anyone>`
// (or a body refused before its key was read) was recorded under team blue and that user, so it showed on team blue's
// scoped views and user pages and counted in its error rate (its alerts). Once keys exist, a call refused before a
// live key admitted it is recorded without the attribution its client claimed; a key's own refusal keeps the key's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { jsonCall, type Stack, startStack } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    sim: { ttftMs: 2, tpotMs: 1, outputTokens: 4 },
    config: { gpu: { collector: 'none' } },
    app: { modules: [createCostModule] },
  });
});
afterAll(async () => {
  await stack?.close();
});

const CLAIMS = {
  'x-llmscope-team': 'blue',
  'x-llmscope-user': 'bob@blue.example',
  'x-llmscope-feature': 'blue-search',
  'x-llmscope-session': 'blue-session',
  'x-llmscope-meta-ticket': 'T-1',
};

/** A raw chat call; answers the status and the recorded call's attribution. */
async function call(
  auth: string | null,
  body: string,
  extra: Record<string, string> = {},
  path = '/v1/chat/completions',
) {
  const r = await fetch(`${stack.base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(auth ? { authorization: `Bearer ${auth}` } : {}),
      ...CLAIMS,
      ...extra,
    },
    body,
  });
  await r.text();
  const c = await stack.callOf(r.headers.get('x-request-id') as string);
  return {
    status: r.status,
    error: c.errorType,
    who: { team: c.team, user: c.user, feature: c.feature, session: c.session, metadata: c.metadata },
  };
}
const chat = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...extra });
const NOBODY = { team: null, user: null, feature: null, session: null, metadata: null };

describe('calls refused for want of a live key keep none of what their client claimed', () => {
  it('before any key exists, the headers attribute the call (as before)', async () => {
    const r = await call('sk-own', chat());
    expect(r.status).toBe(200);
    expect(r.who).toEqual({
      team: 'blue',
      user: 'bob@blue.example',
      feature: 'blue-search',
      session: 'blue-session',
      metadata: { ticket: 'T-1' },
    });
  });

  it('once keys exist: no key, an unknown, a revoked key, a body refused before its key: none of the claims', async () => {
    const red = await jsonCall(stack.base, 'POST', '/api/keys', {
      name: 'red',
      team: 'red',
      user: 'carol',
      models: ['gpt-4o-mini'],
    });
    expect(red.status).toBe(201);
    const gone = await jsonCall(stack.base, 'POST', '/api/keys', { name: 'gone', team: 'blue', user: 'dan' });
    expect((await jsonCall(stack.base, 'POST', `/api/keys/${gone.body.id}/revoke`)).status).toBe(200);

    // Before the fix each of these was recorded under team blue and user bob@blue.example.
    expect(await call(null, chat())).toEqual({ status: 401, error: 'invalid_api_key', who: NOBODY });
    expect(await call('sk-provider-key', chat({ user: 'eve-from-body' }))).toEqual({
      status: 401,
      error: 'invalid_api_key',
      who: NOBODY,
    });
    expect(await call('lsk_notakeyatallnotakeyatallnotakeyatall00', chat())).toEqual({
      status: 401,
      error: 'invalid_api_key',
      who: NOBODY,
    });
    expect(await call(gone.body.key as string, chat())).toEqual({
      status: 401,
      error: 'invalid_api_key',
      who: NOBODY,
    });
    expect(await call(null, '{"model":"gpt-4o-mini","messages":[')).toEqual({
      status: 400,
      error: 'invalid_json',
      who: NOBODY,
    });

    // A live key's own refusal (a model it may not call) and its calls are the key's, as docs/keys.md says.
    const key = red.body.key as string;
    const refused = await call(key, chat({ model: 'gpt-4o' }));
    expect(refused.status).toBe(403);
    expect(refused.who).toMatchObject({ team: 'red', user: 'carol', feature: 'blue-search', session: 'blue-session' });
    const ok = await call(key, chat());
    expect(ok.status).toBe(200);
    expect(ok.who).toMatchObject({ team: 'red', user: 'carol' });

    // Anthropic's route, its key in x-api-key.
    const anthropic = JSON.stringify({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(
      await call(null, anthropic, { 'x-api-key': 'sk-ant-x', 'anthropic-version': '2023-06-01' }, '/v1/messages'),
    ).toEqual({ status: 401, error: 'invalid_api_key', who: NOBODY });

    // Team blue's ledger holds only the call made before keys existed.
    const blue = await jsonCall(stack.base, 'GET', '/api/requests?team=blue&limit=100');
    expect((blue.body.data as unknown[]).length).toBe(1);
    const bob = await jsonCall(stack.base, 'GET', '/api/requests?user=bob%40blue.example&limit=100');
    expect((bob.body.data as unknown[]).length).toBe(1);
  });
});
