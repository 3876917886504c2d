import { describe, expect, it } from 'vitest';
import type { Admission } from '../gateway/proxy.js';
import { costConfigOf } from './config.js';
import { hashKey, KeyRing, keyHook, newKey } from './keys.js';

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

  it("takes user and team from the key, over headers, and keeps the client's key from the upstream", () => {
    const hook = keyHook(ring([{ id: 'search-prod', hash: hashKey(KEY), user: 'svc-search', team: 'search' }]), true);
    const a = admission(
      { authorization: `Bearer ${KEY}`, 'x-llmscope-team': 'finance', 'x-llmscope-feature': 'autocomplete' },
      'mallory',
    );
    hook.authenticate?.(a);
    expect(a.attribution).toEqual({
      user: 'svc-search',
      team: 'search',
      feature: 'autocomplete',
      session: 's1',
      apiKeyId: 'search-prod',
    });
    expect(a.forwardClientAuth).toBe(false);
  });

  it("takes the key from Anthropic's x-api-key header too (Anthropic SDKs, Claude Code)", () => {
    const hook = keyHook(ring([{ id: 'claude-code', hash: hashKey(KEY), team: 'dev' }]), true);
    const a = admission({ 'x-api-key': KEY });
    hook.authenticate?.(a);
    expect(a.attribution.apiKeyId).toBe('claude-code');
    expect(a.forwardClientAuth).toBe(false);
    const g = admission({ 'x-goog-api-key': KEY });
    hook.authenticate?.(g);
    expect(g.attribution.apiKeyId).toBe('claude-code');
  });

  it('honours headers only for what the key trusts them with', () => {
    const hook = keyHook(ring([{ id: 'app', hash: hashKey(KEY), team: 'web', trustHeaders: ['user'] }]), true);
    const a = admission({ authorization: `Bearer ${KEY}`, 'x-llmscope-feature': 'x' }, 'end-user-42');
    hook.authenticate?.(a);
    expect(a.attribution).toMatchObject({ user: 'end-user-42', team: 'web', feature: null, session: null });
  });

  it('refuses unknown, disabled, missing and provider keys with 401 when keys are configured', () => {
    const hook = keyHook(ring([{ id: 'off', hash: hashKey(KEY), disabled: true }]), true);
    const code = (h: Record<string, string>) => {
      try {
        hook.authenticate?.(admission(h));
        return 'ok';
      } catch (e) {
        return `${(e as { code: string }).code}: ${(e as Error).message}`;
      }
    };
    expect(code({ authorization: 'Bearer lsk_nope' })).toMatch(/INVALID_API_KEY: unknown virtual key/);
    expect(code({ authorization: `Bearer ${KEY}` })).toMatch(/disabled/);
    expect(code({})).toMatch(/needs a virtual key/);
    expect(code({ authorization: 'Bearer sk-proj-123' })).toMatch(/not provider keys/);
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
