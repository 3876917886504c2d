// Keys managed through /api/keys, used by the official OpenAI client against the gateway (SQLite, one process):
// a key with rpm N gets N answers then 429 rate_limit_exceeded with Retry-After and the x-ratelimit-* headers the
// client surfaces; tokens per minute hold calls in flight to their estimates and settle what they used; revoking
// and rotating take effect on the next call; the list never shows a key, only its prefix.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { jsonCall, type Stack, startStack } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    sim: { ttftMs: 40, tpotMs: 1, outputTokens: 12 },
    config: { gpu: { collector: 'none' } },
    app: { modules: [createCostModule] },
  });
});
afterAll(async () => {
  await stack?.close();
});

const api = (method: 'GET' | 'POST', path: string, body?: unknown) => jsonCall(stack.base, method, path, body);

const client = (key: string) => new OpenAI({ baseURL: `${stack.base}/v1`, apiKey: key, maxRetries: 0 });
const ask = (c: OpenAI, extra: Record<string, unknown> = {}) =>
  c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], ...extra });

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return err.status ?? 0;
    throw err;
  }
}

describe('virtual keys from /api/keys at the gateway', () => {
  it('before any key exists calls pass with their own key; after, every call needs one', async () => {
    expect(await statusOf(ask(client('sk-anything')))).toBe(200);
    const c = await api('POST', '/api/keys', { name: 'first', team: 'search' });
    expect(c.status).toBe(201);
    const err = await ask(client('sk-anything')).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.code).toBe('invalid_api_key');
  });

  it('rpm 5: five answers with x-ratelimit headers counting down, then 429 with Retry-After', async () => {
    const c = await api('POST', '/api/keys', { name: 'rpm5', rpm: 5, user: 'svc-a', team: 'search' });
    const key = c.body.key as string;
    expect(c.body).toMatchObject({ name: 'rpm5', rpm: 5, tpm: null, status: 'active', source: 'store' });
    expect(key.startsWith(c.body.prefix as string)).toBe(true);
    const oa = client(key);
    for (let i = 0; i < 5; i++) {
      const { response } = await ask(oa).withResponse();
      expect(response.headers.get('x-ratelimit-limit-requests')).toBe('5');
      expect(response.headers.get('x-ratelimit-remaining-requests')).toBe(String(4 - i));
      expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+ms|\d+(\.\d+)?s)$/);
      expect(response.headers.get('x-ratelimit-limit-tokens')).toBeNull();
    }
    const err = await ask(oa).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.status).toBe(429);
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.type).toBe('rate_limit_error');
    expect(err.message).toMatch(
      /Rate limit reached for virtual key "rpm5" \(key_\w+\) on requests per min \(RPM\): Limit 5, Remaining 0, Requested 1\. Please try again in \d+(\.\d+)?s/,
    );
    const h = err.headers as Headers;
    // 12 s for one request at 5 a minute, less the time the five calls took
    expect(Number(h.get('retry-after'))).toBeGreaterThanOrEqual(5);
    expect(Number(h.get('retry-after'))).toBeLessThanOrEqual(12);
    expect(Number(h.get('retry-after-ms'))).toBeGreaterThan(5_000);
    expect(Number(h.get('retry-after-ms'))).toBeLessThanOrEqual(12_000);
    expect(h.get('x-ratelimit-limit-requests')).toBe('5');
    expect(h.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(h.get('x-ratelimit-reset-requests')).toMatch(/^(59|60|\d\d(\.\d+)?)s$|^1m0s$/);
    // the refused call is recorded, rate_limited, with the key's attribution
    const calls = await stack.waitForCalls(1);
    await stack.app.ctx.recorder.flush();
    const refused = calls.find((x) => x.httpStatus === 429 && x.apiKeyId === c.body.id);
    expect(refused).toMatchObject({
      status: 'rate_limited',
      user: 'svc-a',
      team: 'search',
      errorType: 'rate_limit_exceeded',
    });
    // another key is not limited by this one
    const other = await api('POST', '/api/keys', { name: 'other' });
    expect(await statusOf(ask(client(other.body.key as string)))).toBe(200);
  });

  it('tpm: calls in flight hold their estimates; finished calls settle what they used', async () => {
    const c = await api('POST', '/api/keys', { name: 'tpm', tpm: 1000 });
    const oa = client(c.body.key as string);
    // too large for the key at all: refused at once, no point retrying
    const big = await ask(oa, { max_tokens: 2000 }).catch((e) => e);
    expect(big).toBeInstanceOf(OpenAI.RateLimitError);
    expect(big.message).toMatch(/Request too large .* Limit 1000, Requested \d+/);
    expect(big.headers.get('retry-after')).toBeNull();
    // five at once, each reserving ~400 (max_tokens) of 1000: two fit
    // (the simulator answers these after 1.5 s, so none has ended, and settled, before the last is admitted)
    const slow = { headers: { 'x-simulator-ttft-ms': '1500' } };
    const statuses = await Promise.all(
      Array.from({ length: 5 }, () =>
        statusOf(
          oa.chat.completions.create(
            { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 400 },
            slow,
          ),
        ),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(2);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    // each used ~20 tokens, given back when it ended: one after another, many more than two fit
    let ok = 0;
    for (let i = 0; i < 6; i++) {
      const { response } = await ask(oa, { max_tokens: 400 }).withResponse();
      expect(Number(response.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(1000);
      ok++;
    }
    expect(ok).toBe(6);
  });

  it('revoke stops the key on the next call; rotate swaps the secret; the list never shows a key', async () => {
    const c = await api('POST', '/api/keys', { name: 'temp', feature: 'chat' });
    const id = c.body.id as string;
    const first = c.body.key as string;
    expect(await statusOf(ask(client(first)))).toBe(200);
    const rot = await api('POST', `/api/keys/${id}/rotate`);
    expect(rot.status).toBe(200);
    const second = rot.body.key as string;
    expect(rot.body).toMatchObject({ id, name: 'temp', status: 'active' });
    expect(await statusOf(ask(client(first)))).toBe(401);
    expect(await statusOf(ask(client(second)))).toBe(200);

    const rev = await api('POST', `/api/keys/${id}/revoke`);
    expect(rev.body).toMatchObject({ id, status: 'revoked' });
    const err = await ask(client(second)).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.message).toMatch(/revoked at/);

    const list = await api('GET', '/api/keys');
    const text = JSON.stringify(list.body);
    for (const secret of [first, second]) expect(text).not.toContain(secret);
    expect((list.body.keys as { name: string }[]).map((k) => k.name)).not.toContain('temp');
    // each action is in the audit log, with who did it and on which key, never the key itself
    const audit = await api('GET', '/api/audit?limit=100');
    const entries = (audit.body.data as { action: string; target: string; actor: string }[]).filter(
      (e) => e.target === `key:${id}`,
    );
    expect(entries.map((e) => e.action).sort()).toEqual(['key.create', 'key.revoke', 'key.rotate']);
    expect(entries.every((e) => e.actor === 'admin')).toBe(true);
    for (const secret of [first, second]) expect(JSON.stringify(audit.body)).not.toContain(secret);
    const all = await api('GET', '/api/keys?include_revoked=true');
    expect((all.body.keys as { name: string; status: string }[]).find((k) => k.name === 'temp')?.status).toBe(
      'revoked',
    );
  });

  it('answers bad requests in the OpenAI error shape', async () => {
    const dup = await api('POST', '/api/keys', { name: 'rpm5' });
    expect(dup).toMatchObject({ status: 409, body: { error: { code: 'key_name_taken', param: 'name' } } });
    const bad = await api('POST', '/api/keys', { name: 'x', rpm: -1 });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'invalid_body', param: 'rpm' } } });
    const missing = await api('POST', '/api/keys/key_nope/revoke');
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });
});
