import { describe, expect, it } from 'vitest';
import { LlmscopeError } from '../errors.js';
import { createKey, keyView, rotateKey } from './key-admin.js';
import { MemoryKeyStore } from './storage/index.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

describe('createKey: expiry', () => {
  it('refuses an expiry past what a date can hold, and stores nothing, so listing keys still works', async () => {
    // POST /api/keys {"expires_in": "99999999d"} was stored, answered 500, and every later GET /api/keys was a 500
    // (RangeError: Invalid time value in keyView) until the key was removed from the store by hand.
    const store = new MemoryKeyStore();
    for (const body of [
      { name: 'a', expires_in: '99999999d' },
      { name: 'b', expires_at: 9_000_000_000_000_000 },
    ]) {
      const err = await createKey(store, body, { now: NOW, by: 'admin' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LlmscopeError);
      expect(err).toMatchObject({ code: 'LLMSCOPE_ERR_INVALID_BODY', param: Object.keys(body)[1] });
    }
    expect(await store.list()).toEqual([]);
  });

  it('keeps a far expiry a date can hold', async () => {
    const store = new MemoryKeyStore();
    const { key } = await createKey(store, { name: 'c', expires_in: '36500d' }, { now: NOW, by: 'admin' });
    expect(keyView(key, NOW).expires_at).toBe('2126-05-08T00:00:00.000Z');
  });
});

describe('rotateKey', () => {
  it('refuses an expired key, whose new secret would be refused at once, and keeps its secret', async () => {
    // POST /api/keys/{id}/rotate (and `llmscope keys rotate`) of an expired key answered a new secret, shown once as
    // usable, that every call then got 401 invalid_api_key for.
    const store = new MemoryKeyStore();
    const { key } = await createKey(store, { name: 'e', expires_in: '1h' }, { now: NOW, by: 'admin' });
    const later = NOW + 2 * 3_600_000;
    const err = await rotateKey(store, key, later).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmscopeError);
    expect(err).toMatchObject({ code: 'LLMSCOPE_ERR_INVALID_BODY' });
    expect((err as Error).message).toMatch(/expired/);
    expect((await store.list())[0]?.hash).toBe(key.hash);
    // Before it expires, it rotates.
    const { key: rotated } = await rotateKey(store, key, NOW + 60_000);
    expect(rotated.hash).not.toBe(key.hash);
  });
});

describe('createKey: what a refused body is told', () => {
  it('names an unknown field by itself, and says what expires_at takes', async () => {
    // {"name":"x","bogus":1} answered 'invalid key "": Unrecognized key: "bogus"' with param null, and
    // {"expires_at":"2030-01-01"} 'invalid key "expires_at": Invalid input'.
    const store = new MemoryKeyStore();
    const unknown = await createKey(store, { name: 'x', bogus: 1 }, { now: NOW, by: 'admin' }).catch((e) => e);
    expect(unknown).toMatchObject({ code: 'LLMSCOPE_ERR_INVALID_BODY', param: 'bogus' });
    expect((unknown as Error).message).toMatch(/unknown field "bogus"; a key takes name, user, team/);
    const date = await createKey(store, { name: 'x', expires_at: '2030-01-01' }, { now: NOW, by: 'admin' }).catch(
      (e) => e,
    );
    expect(date).toMatchObject({ param: 'expires_at' });
    expect((date as Error).message).toMatch(/ISO 8601 time with a zone/);
    expect(await store.list()).toEqual([]);
  });

  it('says a missing name is required, and that the body is an object (QA33)', async () => {
    // {} answered 'invalid key "name": Invalid input: expected string, received undefined', and [] 'invalid key "":
    // Invalid input: expected object, received array'.
    const store = new MemoryKeyStore();
    const none = await createKey(store, {}, { now: NOW, by: 'admin' }).catch((e) => e);
    expect(none).toMatchObject({ code: 'LLMSCOPE_ERR_INVALID_BODY', param: 'name' });
    expect((none as Error).message).toBe('invalid key "name": required (a string), missing');
    const list = await createKey(store, [], { now: NOW, by: 'admin' }).catch((e) => e);
    expect(list).toMatchObject({ code: 'LLMSCOPE_ERR_INVALID_BODY', param: null });
    expect((list as Error).message).toBe(
      'invalid key: the body must be a JSON object such as {"name": "search-prod", "team": "search"}',
    );
    expect(await store.list()).toEqual([]);
  });
});
