import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { countTokens as llmscopeCount } from '../calls/tokens.js';
import {
  countChatTokens,
  countTokens,
  generateTokens,
  hash32,
  mulberry32,
  REFUSALS,
  STARTERS,
  tokenChunks,
  WORDS,
} from './text.js';

const tokens = (s: string) => encode(s, { disallowedSpecial: new Set() });

describe('generated text', () => {
  it('is built from single tokens only', () => {
    for (const w of WORDS) expect(tokens(` ${w}`), w).toHaveLength(1);
    for (const s of STARTERS) {
      expect(tokens(s), s).toHaveLength(1);
      expect(tokens(` ${s}`), s).toHaveLength(1);
    }
  });

  it('has exactly n tokens, one per chunk, and re-tokenizes to n', () => {
    for (const seed of [1, 2, 3, 42, 1234567]) {
      for (const n of [0, 1, 2, 3, 4, 7, 20, 21, 40, 64, 257, 1000]) {
        const out = generateTokens(seed, n);
        expect(out).toHaveLength(n);
        for (const t of out) expect(tokens(t), JSON.stringify(t)).toHaveLength(1);
        expect(tokens(out.join('')), `seed ${seed} n ${n}`).toHaveLength(n);
      }
    }
  });

  it('reads as sentences and is deterministic per seed', () => {
    const a = generateTokens(7, 64).join('');
    expect(a).toBe(generateTokens(7, 64).join(''));
    expect(a).not.toBe(generateTokens(8, 64).join(''));
    expect(a).toMatch(/^[A-Z][a-z]+ .*\.$/);
    expect(a).not.toMatch(/[.,][.,]|\s{2}/);
  });

  it('seeds differ by every part', () => {
    expect(hash32(1, 'ab', 'c')).not.toBe(hash32(1, 'a', 'bc'));
    expect(hash32(1, 'x')).not.toBe(hash32(2, 'x'));
    const r1 = mulberry32(5);
    const r2 = mulberry32(5);
    const seq = Array.from({ length: 5 }, () => r1());
    expect(Array.from({ length: 5 }, () => r2())).toEqual(seq);
    for (const x of seq) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('tokenChunks', () => {
  it('splits ASCII text into one real token per chunk', () => {
    for (const text of REFUSALS) {
      const { chunks, tokens: per } = tokenChunks(text);
      expect(chunks.join('')).toBe(text);
      expect(per.every((n) => n === 1)).toBe(true);
      expect(chunks).toHaveLength(tokens(text).length);
    }
  });

  it('never splits a character across chunks', () => {
    const text = 'Grüße 🎉🧑‍💻 日本語のテキスト 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ok';
    const { chunks, tokens: per } = tokenChunks(text);
    expect(chunks.join('')).toBe(text);
    expect(per.reduce((a, b) => a + b, 0)).toBe(tokens(text).length);
    for (const c of chunks) expect(c).not.toContain('\uFFFD');
    expect(per.some((n) => n > 1)).toBe(true); // this text has characters spanning tokens
  });
});

describe('countChatTokens', () => {
  it('counts framing, roles, names, text parts and images', () => {
    const base = countChatTokens([{ role: 'user', content: 'Hello there' }]);
    expect(base).toBe(3 + 3 + tokens('user').length + tokens('Hello there').length);
    expect(countChatTokens([{ role: 'user', name: 'bob', content: 'Hello there' }])).toBe(
      base + tokens('bob').length + 1,
    );
    expect(
      countChatTokens([
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hello there' },
            { type: 'image_url', image_url: { url: 'https://x/y.png' } },
          ],
        },
      ]),
    ).toBe(base + 85);
  });
});

describe('long runs of like characters (BPE is quadratic in one piece: 100 KB of base64 took ~26 s)', () => {
  /** Ordinary text: prose, code, JSON, unicode and emoji, numbers, with runs of at most 128 like characters. */
  function ordinary(seed: number): string {
    const rng = mulberry32(seed);
    const pieces = [
      'The quick brown fox jumps over the lazy dog.',
      'function f(x) { return x * 2; }\n',
      '{"a": [1, 2, 3], "b": {"c": null}}',
      'naïve café — 東京 は 晴れ 🌤️ 👩‍👩‍👧 ok',
      '  indented\n\tline\r\n',
      'x'.repeat(120),
      `gap${' '.repeat(120)}end`,
      'abc123def456',
      'https://example.com/path?query=1&b=2',
    ];
    let s = '';
    while (s.length < 5000) s += `${pieces[Math.floor(rng() * pieces.length)]} `;
    expect(s).not.toMatch(/\S{129}|\s{129}/);
    return s;
  }

  it('ordinary text counts and splits exactly as the tokenizer gives it whole', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const text = ordinary(seed);
      expect(countTokens(text)).toBe(tokens(text).length);
      const split = tokenChunks(text);
      expect(split.chunks.join('')).toBe(text);
      expect(split.tokens.reduce((a, b) => a + b, 0)).toBe(tokens(text).length);
    }
  });

  it('a run of 129+ characters is counted in 128-character slices, as llmscope counts it', () => {
    const rng = mulberry32(5);
    const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    let run = '';
    for (let i = 0; i < 100_000; i++) run += b64[Math.floor(rng() * 64)];
    const text = `before ${run} after`;
    let sliced = tokens('before ');
    const expected = [sliced.length];
    for (let k = 0; k < run.length; k += 128) expected.push(tokens(run.slice(k, k + 128)).length);
    expected.push(tokens(' after').length);
    const n = expected.reduce((a, b) => a + b, 0);
    expect(countTokens(text)).toBe(n);
    sliced = [];
    const split = tokenChunks(text);
    expect(split.chunks.join('')).toBe(text);
    expect(split.tokens.reduce((a, b) => a + b, 0)).toBe(n);
    // an emoji run is never cut between the halves of a character
    const emoji = '😀'.repeat(200);
    expect(tokenChunks(emoji).chunks.join('')).toBe(emoji);
  });

  it("counts as llmscope's own counting does (src/calls/tokens.ts), long runs and characters outside the BMP included", () => {
    const texts = [
      'Hello, world.',
      'x'.repeat(300),
      `a${'😀'.repeat(100)}`,
      `${'b'.repeat(127)}😀${'c'.repeat(200)}`,
      `word ${' '.repeat(400)} ${'Q'.repeat(70_000)} end`,
    ];
    for (const t of texts) expect(countTokens(t), t.slice(0, 40)).toBe(llmscopeCount(t));
  });
});
