import { describe, expect, it } from 'vitest';
import { BoundedText, keepText, OMITTED_MARK, TEXT_HEAD_CHARS, TEXT_TAIL_CHARS } from './bounded-text.js';
import { COUNT_CAP_CHARS, countKeptTokens, countTokens } from './tokens.js';

describe('keepText', () => {
  it('keeps a short text whole', () => {
    const r = [0, 3];
    expect(keepText('abcdef', r)).toEqual({ text: 'abcdef', totalChars: 6 });
    expect(r).toEqual([0, 3]);
  });

  it('cuts a long text to head and tail and moves the ranges with it', () => {
    const total = TEXT_HEAD_CHARS + TEXT_TAIL_CHARS + 1000;
    const s = `${'h'.repeat(TEXT_HEAD_CHARS)}${'m'.repeat(1000)}${'t'.repeat(TEXT_TAIL_CHARS)}`;
    // One range in the head, one spanning head and middle, one only in the middle, one spanning middle and tail.
    const ranges = [
      0,
      10,
      TEXT_HEAD_CHARS - 5,
      TEXT_HEAD_CHARS + 5,
      TEXT_HEAD_CHARS + 100,
      TEXT_HEAD_CHARS + 200,
      total - TEXT_TAIL_CHARS - 5,
      total - TEXT_TAIL_CHARS + 7,
    ];
    const k = keepText(s, ranges);
    expect(k.totalChars).toBe(total);
    expect(k.text).toBe(`${'h'.repeat(TEXT_HEAD_CHARS)}${OMITTED_MARK}${'t'.repeat(TEXT_TAIL_CHARS)}`);
    const tailAt = TEXT_HEAD_CHARS + OMITTED_MARK.length;
    expect(ranges).toEqual([0, 10, TEXT_HEAD_CHARS - 5, TEXT_HEAD_CHARS, tailAt, tailAt + 7]);
    expect(k.text.slice(tailAt, tailAt + 7)).toBe('ttttttt');
  });
});

describe('BoundedText', () => {
  it('is the whole text while it fits, then head + mark + tail of at most a fixed size', () => {
    const b = new BoundedText();
    b.append('abc');
    b.append('');
    b.append('def');
    expect(b.kept()).toEqual({ text: 'abcdef', totalChars: 6 });
    let all = 'abcdef';
    for (let i = 0; i < 300; i++) {
      const piece = `${i}:${'z'.repeat(997)};`;
      b.append(piece);
      all += piece;
    }
    const k = b.kept();
    expect(k.totalChars).toBe(all.length);
    expect(k.text).toBe(all.slice(0, TEXT_HEAD_CHARS) + OMITTED_MARK + all.slice(all.length - TEXT_TAIL_CHARS));
  });
});

describe('countTokens', () => {
  it('is exact on ordinary text', async () => {
    const { encode } = await import('gpt-tokenizer/encoding/o200k_base');
    const text = 'The quick brown fox, 42 times: “héllo” → 世界.\n\n  Indented    spaces and\ttabs. '.repeat(50);
    expect(countTokens(text)).toBe(encode(text, { disallowedSpecial: new Set() }).length);
    expect(countTokens('')).toBe(0);
  });

  it('counts long runs (one 1 MB word, a megabyte of spaces) in slices, close to the exact count', () => {
    // o200k encodes runs of one letter in pieces of 8: 16 tokens per 128-character slice.
    expect(countTokens('x'.repeat(1024 * 1024))).toBe((1024 * 1024) / 8);
    expect(countTokens(`a ${' '.repeat(1024 * 1024)} b`)).toBeGreaterThan(0);
  });

  it('extrapolates past COUNT_CAP_CHARS and says so', () => {
    const text = 'word '.repeat((COUNT_CAP_CHARS * 4) / 5);
    const r = countKeptTokens(text, text.length);
    expect(r.estimated).toBe(true);
    expect(r.tokens).toBeGreaterThan((0.95 * (COUNT_CAP_CHARS * 4)) / 5);
    expect(r.tokens).toBeLessThan((1.05 * (COUNT_CAP_CHARS * 4)) / 5);
    const short = countKeptTokens('word '.repeat(10), 50);
    expect(short).toEqual({ tokens: countTokens('word '.repeat(10)), estimated: false });
  });
});
