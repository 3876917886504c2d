// The metadata rules every way in shares, and the gateway's header parse.
import { describe, expect, it } from 'vitest';
import { METADATA_MAX_KEYS, metadataKeyProblem, metadataOfHeaders, metadataProblem } from './metadata.js';

describe('metadataOfHeaders', () => {
  it('is null without any x-llmscope-meta- header (the common case)', () => {
    expect(
      metadataOfHeaders({ 'content-type': 'application/json', 'x-llmscope-user': 'u', 'x-llmscope-meta': 'v' }),
    ).toBeNull();
  });

  it('refuses an x-llmscope-meta- header with no key, whatever its value', () => {
    for (const v of ['no key', ''])
      expect(metadataOfHeaders({ 'x-llmscope-meta-a': 'b', 'x-llmscope-meta-': v })?.problem).toEqual({
        message: expect.stringMatching(/has no key after the prefix/),
        param: 'x-llmscope-meta-',
      });
  });

  it('refuses x-llmscope-meta-__proto__ as /api/ingest and the query do, instead of dropping it without a word', () => {
    expect(metadataOfHeaders({ 'x-llmscope-meta-a': 'b', 'x-llmscope-meta-__proto__': 'v' })?.problem).toEqual({
      message: 'metadata key "__proto__" is reserved',
      param: 'x-llmscope-meta-__proto__',
    });
  });

  it('takes every x-llmscope-meta-<key> header, joins repeats, decodes UTF-8, skips empty values', () => {
    const latin1 = Buffer.from('Zürich ✓', 'utf8').toString('latin1');
    const r = metadataOfHeaders({
      'x-llmscope-meta-tenant': 'acme',
      'x-llmscope-meta-exp.arm': 'b',
      'x-llmscope-meta-city': latin1,
      'x-llmscope-meta-empty': '',
      'x-llmscope-meta-tags': ['a', 'b'],
      authorization: 'Bearer x',
    });
    expect(r).toEqual({
      metadata: { tenant: 'acme', 'exp.arm': 'b', city: 'Zürich ✓', tags: 'a, b' },
      problem: null,
    });
  });

  it('names the header of the first problem: too many keys, too long a value', () => {
    const many = Object.fromEntries(
      Array.from({ length: METADATA_MAX_KEYS + 1 }, (_, i) => [`x-llmscope-meta-k${i}`, 'v']),
    );
    expect(metadataOfHeaders(many)?.problem).toMatchObject({ param: `x-llmscope-meta-k${METADATA_MAX_KEYS}` });
    const twenty = Object.fromEntries(
      Array.from({ length: METADATA_MAX_KEYS }, (_, i) => [`x-llmscope-meta-k${i}`, 'v']),
    );
    expect(metadataOfHeaders(twenty)?.problem).toBeNull();
    const long = metadataOfHeaders({ 'x-llmscope-meta-note': 'x'.repeat(257) });
    expect(long?.problem?.param).toBe('x-llmscope-meta-note');
    expect(long?.problem?.message).toMatch(/257 characters.*at most 256/);
    expect(metadataOfHeaders({ 'x-llmscope-meta-note': 'x'.repeat(256) })?.problem).toBeNull();
  });
});

describe('metadata rules', () => {
  it('keys are lowercase header tokens of at most 64 characters', () => {
    for (const ok of ['tenant', 'exp.arm', "a!#$%&'*+.^_`|~-z", 'k'.repeat(64), '0'])
      expect(metadataKeyProblem(ok)).toBeNull();
    for (const bad of ['Tenant', 'a b', 'a"b', 'a\\b', 'ä', '', 'k'.repeat(65), '__proto__', 'a/b', 'a:b'])
      expect(metadataKeyProblem(bad)).not.toBeNull();
  });

  it('values must be strings', () => {
    expect(metadataProblem({ n: 1 }, (k) => `metadata.${k}`)).toEqual({
      message: 'metadata "n" must be a string',
      param: 'metadata.n',
    });
  });
});
