import { describe, expect, it } from 'vitest';
import type { Admission } from '../gateway/proxy.js';
import { costConfigOf } from './config.js';
import { createKey, revokeKey, rotateKey } from './key-admin.js';
import {
  admittedKey,
  hashKey,
  KEY_CACHE_MS,
  KeyDirectory,
  KeyRing,
  keyAllowsModel,
  keyHook,
  newKey,
  sameHash,
} from './keys.js';
import { MemoryKeyStore } from './storage/index.js';

const KEY = 'lsk_test_0123456789abcdef';

function admission(headers: Record<string, string>, user: string | null = null): Admission {
  return {
    requestId: 'r',
    endpoint: 'chat.completions',
    model: 'gpt-4o-mini',
    provider: '',
    body: {},
    headers,
    attribution: {
      user,
      team: headers['x-llmscope-team'] ?? null,
      feature: headers['x-llmscope-feature'] ?? null,
      session: 's1',
      apiKeyId: null,
    },
    forwardClientAuth: true,
    state: {},
  };
}

const ring = (keys: unknown, env: NodeJS.ProcessEnv = {}) => new KeyRing(costConfigOf({ keys }).keys, env);

describe('virtual keys', () => {
  it('hashes with sha256 and makes lsk_ keys', () => {
    expect(hashKey('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(newKey()).toMatch(/^lsk_[A-Za-z0-9_-]{40}$/);
  });

  it("takes user and team from the key, over headers, and keeps the client's key from the upstream", async () => {
    const hook = keyHook(ring([{ id: 'search-prod', hash: hashKey(KEY), user: 'svc-search', team: 'search' }]));
    const a = admission(
      { authorization: `Bearer ${KEY}`, 'x-llmscope-team': 'finance', 'x-llmscope-feature': 'autocomplete' },
      'mallory',
    );
    await hook.authenticate?.(a);
    expect(a.attribution).toEqual({
      user: 'svc-search',
      team: 'search',
      feature: 'autocomplete',
      session: 's1',
      apiKeyId: 'search-prod',
    });
    expect(a.forwardClientAuth).toBe(false);
  });

  it("takes the key from Anthropic's x-api-key header too (Anthropic SDKs, Claude Code)", async () => {
    const hook = keyHook(ring([{ id: 'claude-code', hash: hashKey(KEY), team: 'dev' }]));
    const a = admission({ 'x-api-key': KEY });
    await hook.authenticate?.(a);
    expect(a.attribution.apiKeyId).toBe('claude-code');
    expect(a.forwardClientAuth).toBe(false);
    const g = admission({ 'x-goog-api-key': KEY });
    await hook.authenticate?.(g);
    expect(g.attribution.apiKeyId).toBe('claude-code');
  });

  it('honours headers only for what the key trusts them with', async () => {
    const hook = keyHook(ring([{ id: 'app', hash: hashKey(KEY), team: 'web', trustHeaders: ['user'] }]));
    const a = admission({ authorization: `Bearer ${KEY}`, 'x-llmscope-feature': 'x' }, 'end-user-42');
    await hook.authenticate?.(a);
    expect(a.attribution).toMatchObject({ user: 'end-user-42', team: 'web', feature: null, session: null });
  });

  it('refuses unknown, disabled, missing and provider keys with 401 when keys are configured', async () => {
    const hook = keyHook(ring([{ id: 'off', hash: hashKey(KEY), disabled: true }]));
    const code = async (h: Record<string, string>) => {
      try {
        await hook.authenticate?.(admission(h));
        return 'ok';
      } catch (e) {
        return `${(e as { code: string }).code}: ${(e as Error).message}`;
      }
    };
    expect(await code({ authorization: 'Bearer lsk_nope' })).toMatch(/INVALID_API_KEY: unknown virtual key/);
    expect(await code({ authorization: `Bearer ${KEY}` })).toMatch(/disabled/);
    expect(await code({})).toMatch(/needs a virtual key/);
    expect(await code({ authorization: 'Bearer sk-proj-123' })).toMatch(/not provider keys/);
  });

  it('reads a plain key from an environment variable, and reports a missing one', () => {
    const r = ring(
      [
        { id: 'a', keyEnv: 'KEY_A', user: 'ann' },
        { id: 'b', keyEnv: 'KEY_B' },
      ],
      { KEY_A: KEY },
    );
    expect(r.lookup(KEY)?.id).toBe('a');
    expect(r.size).toBe(1);
    expect(r.problems.join()).toMatch(/\$KEY_B, which is not set/);
  });

  it('requires exactly one of hash or keyEnv, and a well-formed hash', () => {
    expect(() => costConfigOf({ keys: [{ id: 'x' }] })).toThrow(/exactly one/);
    expect(() => costConfigOf({ keys: [{ id: 'x', hash: 'md5:00' }] })).toThrow(/sha256/);
  });
});

describe('keys kept in the store', () => {
  const clock = { t: Date.parse('2026-01-01T00:00:00Z') };
  const now = () => clock.t;

  async function setup(config: unknown[] = []) {
    const store = new MemoryKeyStore();
    const dir = new KeyDirectory(ring(config), store, now);
    return { store, dir, hook: keyHook(dir, now) };
  }
  const outcome = async (hook: ReturnType<typeof keyHook>, h: Record<string, string>) => {
    const a = admission(h);
    try {
      await hook.authenticate?.(a);
      return a.attribution.apiKeyId ?? 'passed';
    } catch (e) {
      return `${(e as { code: string }).code}: ${(e as Error).message}`;
    }
  };

  it('lets calls through with their own key until a key exists, then needs one (revoked keys still count)', async () => {
    const { store, dir, hook } = await setup();
    expect(await outcome(hook, { authorization: 'Bearer sk-provider' })).toBe('passed');
    const { key, secret } = await createKey(store, { name: 'ci' }, { now: now(), by: 'cli' });
    dir.invalidate();
    expect(await outcome(hook, { authorization: 'Bearer sk-provider' })).toMatch(
      /INVALID_API_KEY: .*not provider keys/,
    );
    expect(await outcome(hook, { authorization: `Bearer ${secret}` })).toBe(key.id);
    await revokeKey(store, key, now());
    dir.invalidate();
    expect(await outcome(hook, {})).toMatch(/needs a virtual key/);
  });

  it("accepts a run-time key (the demo's traffic key) without making keys required, before and after a stored key", async () => {
    const store = new MemoryKeyStore();
    const dir = new KeyDirectory(
      ring([]),
      store,
      now,
      KEY_CACHE_MS,
      ring([{ id: 'demo-traffic', hash: hashKey(KEY) }]),
    );
    const hook = keyHook(dir, now);
    expect(await dir.required()).toBe(false);
    expect(await outcome(hook, {})).toBe('passed');
    expect(await outcome(hook, { authorization: `Bearer ${KEY}` })).toBe('demo-traffic');
    await createKey(store, { name: 'mine' }, { now: now(), by: 'cli' });
    dir.invalidate();
    expect(await outcome(hook, {})).toMatch(/needs a virtual key/);
    expect(await outcome(hook, { authorization: `Bearer ${KEY}` })).toBe('demo-traffic');
  });

  it('takes attribution and limits from the stored key and never keeps the secret', async () => {
    const { store, hook } = await setup();
    const { key, secret } = await createKey(
      store,
      { name: 'search', user: 'svc', team: 'search', rpm: 10, tpm: 1000, trust_headers: ['user'] },
      { now: now(), by: 'admin' },
    );
    expect(JSON.stringify(await store.list())).not.toContain(secret);
    expect(key.prefix).toBe(secret.slice(0, 12));
    expect(key.hash).toBe(hashKey(secret));
    const a = admission({ authorization: `Bearer ${secret}` }, 'end-user');
    await hook.authenticate?.(a);
    expect(a.attribution).toMatchObject({ user: 'end-user', team: 'search', apiKeyId: key.id, session: null });
    expect(admittedKey(a.state)).toMatchObject({ rpm: 10, tpm: 1000, name: 'search' });
  });

  it('sees a revocation made elsewhere within the cache time, and refuses expired keys', async () => {
    const { store, hook } = await setup();
    const { key, secret } = await createKey(store, { name: 'a' }, { now: now(), by: null });
    const auth = { authorization: `Bearer ${secret}` };
    expect(await outcome(hook, auth)).toBe(key.id);
    await store.revoke(key.id, now()); // another replica revokes it: this one still has it cached
    clock.t += KEY_CACHE_MS - 1;
    expect(await outcome(hook, auth)).toBe(key.id);
    clock.t += 1;
    expect(await outcome(hook, auth)).toMatch(/INVALID_API_KEY: this virtual key was revoked at/);

    const e = await createKey(store, { name: 'short', expires_in: '1m' }, { now: now(), by: null });
    expect(await outcome(hook, { authorization: `Bearer ${e.secret}` })).toBe(e.key.id);
    clock.t += 60_000;
    expect(await outcome(hook, { authorization: `Bearer ${e.secret}` })).toMatch(/expired at/);
  });

  it('rotation gives a new secret for the same key; the old one stops', async () => {
    const { store, dir, hook } = await setup();
    const { key, secret } = await createKey(store, { name: 'r', team: 't' }, { now: now(), by: null });
    const next = await rotateKey(store, key, now());
    dir.invalidate();
    expect(next.key.id).toBe(key.id);
    expect(next.secret).not.toBe(secret);
    expect(await outcome(hook, { authorization: `Bearer ${secret}` })).toMatch(/unknown virtual key/);
    expect(await outcome(hook, { authorization: `Bearer ${next.secret}` })).toBe(key.id);
  });

  it('serves what the store last said while it is down, and 503 for a key it never answered for', async () => {
    const { store, hook } = await setup();
    const { key, secret } = await createKey(store, { name: 'x' }, { now: now(), by: null });
    expect(await outcome(hook, { authorization: `Bearer ${secret}` })).toBe(key.id);
    store.byHash = async () => {
      throw new Error('connection refused');
    };
    clock.t += 10 * KEY_CACHE_MS;
    expect(await outcome(hook, { authorization: `Bearer ${secret}` })).toBe(key.id);
    expect(await outcome(hook, { authorization: 'Bearer lsk_other' })).toMatch(/KEY_STORE_UNAVAILABLE/);
  });

  it('checks what a key is created with', async () => {
    const { store } = await setup();
    const code = async (b: unknown) => {
      try {
        await createKey(store, b, { now: now(), by: null });
        return 'ok';
      } catch (e) {
        return `${(e as { code: string }).code}: ${(e as Error).message}`;
      }
    };
    expect(await code({ name: 'n', rpm: 0 })).toMatch(/INVALID_BODY: invalid key "rpm"/);
    expect(await code({ name: 'n', expires_at: '2020-01-01T00:00:00Z' })).toMatch(/expire before/);
    expect(await code({ name: 'n', expires_in: '30d', expires_at: Date.now() })).toMatch(/not both/);
    expect(await code({ name: 'n', secret: 'x' })).toMatch(/INVALID_BODY/);
    expect(await code({ name: 'dup' })).toBe('ok');
    expect(await code({ name: 'dup' })).toMatch(/KEY_NAME_TAKEN/);
  });

  it('compares hashes in constant time, equal or not', () => {
    expect(sameHash(hashKey('a'), hashKey('a'))).toBe(true);
    expect(sameHash(hashKey('a'), hashKey('b'))).toBe(false);
    expect(sameHash('sha256:ab', hashKey('b'))).toBe(false);
  });
});

describe('a key’s models', () => {
  it('allows every model without a list; with one, names and */? patterns in any case, and nothing else', () => {
    expect(keyAllowsModel({ models: [] }, 'anything')).toBe(true);
    const k = { models: ['gpt-4o-mini', 'claude-*', 'gemini-2.?-flash'] };
    for (const m of ['gpt-4o-mini', 'GPT-4o-Mini', 'claude-sonnet-4-5', 'claude-', 'gemini-2.5-flash'])
      expect(keyAllowsModel(k, m), m).toBe(true);
    for (const m of ['gpt-4o', 'gpt-4o-mini-2024', 'xclaude-3', 'gemini-2.5-flash-lite', 'gemini-2.10-flash'])
      expect(keyAllowsModel(k, m), m).toBe(false);
    // a pattern's regex characters are literal
    expect(keyAllowsModel({ models: ['a.b'] }, 'axb')).toBe(false);
  });

  it('refuses a config key’s call for another model with 403 model_not_allowed, attributed to the key', async () => {
    const hook = keyHook(ring([{ id: 'mini', hash: hashKey(KEY), team: 't', models: ['gpt-4o-mini'] }]));
    const ok = admission({ authorization: `Bearer ${KEY}` });
    await hook.authenticate?.(ok);
    expect(ok.attribution.apiKeyId).toBe('mini');
    const a = { ...admission({ authorization: `Bearer ${KEY}` }), model: 'gpt-4o' };
    const err = await Promise.resolve(hook.authenticate?.(a)).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403, code: 'LLMSCOPE_ERR_MODEL_NOT_ALLOWED', param: 'model' });
    expect((err as Error).message).toContain('"gpt-4o"');
    expect((err as Error).message).toContain('"mini"');
    expect((err as Error).message).not.toContain(KEY);
    expect(a.attribution).toMatchObject({ apiKeyId: 'mini', team: 't' });
    // a request naming no model (GET /v1/responses/{id}) is not checked
    await hook.authenticate?.({ ...admission({ authorization: `Bearer ${KEY}` }), model: '' });
  });

  it('takes models on create, and refuses a pattern with a space, naming the field', async () => {
    const store = new MemoryKeyStore();
    const { key } = await createKey(store, { name: 'm', models: ['gpt-4o-mini', 'gpt-4o-mini'] }, { now: 1, by: null });
    expect(key.models).toEqual(['gpt-4o-mini']);
    const err = await createKey(store, { name: 'n', models: ['gpt 4o'] }, { now: 1, by: null }).catch((e) => e);
    expect(err).toMatchObject({ code: 'LLMSCOPE_ERR_INVALID_BODY', param: 'models.0' });
    expect(() => costConfigOf({ keys: [{ id: 'x', hash: hashKey(KEY), models: [''] }] })).toThrow();
  });
});
