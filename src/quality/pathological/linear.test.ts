// The quality checks' patterns on hostile text (bench/quality-pathological.js found them super-linear): each rewrite
// gives the same matches as the pattern it replaced on random strings built from the characters that pattern reads,
// and reads the input that made the old one explode (minutes) in linear time — past the test's timeout on the old
// code, in milliseconds on the new.
import { describe, expect, it } from 'vitest';
import { DOC_ID_PATTERN } from '../evaluators/attribution.js';
import { labelMatches } from '../evaluators/consistency.js';
import { CAMEL_WORD, figureStems, lifespanIn } from '../evaluators/grounding.js';
import { withoutThinking } from '../evaluators/judge.js';
import { numberMentions, pushMatchStems, SENTENCE_ENDS, sentences, words } from '../text.js';

/** Deterministic random strings: `count` of up to `max` pieces drawn from `alphabet`. */
function* randomStrings(alphabet: readonly string[], count: number, max: number, seed = 7): Generator<string> {
  let x = seed;
  const next = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x >>> 8;
  };
  for (let i = 0; i < count; i++) {
    let s = '';
    const n = next() % (max + 1);
    for (let k = 0; k < n; k++) s += alphabet[next() % alphabet.length];
    yield s;
  }
}

const all = (re: RegExp, s: string): string[] => [...s.matchAll(re)].map((m) => `${m.index}:${m[0]}`);

describe('sentence ends', () => {
  const OLD = [
    /[.!?]+["')\]]*(?=\s|$)|\.(?<=[\p{Ll}\d]{2}\.)(?=\p{Lu}\p{Ll})|\n+|;\s|[。！？]+[」』）]*/gu,
    /[.!?]+["')\]]*(?=\s|$)|\.(?<=\p{Ll}{2}\.)(?=\p{Lu}\p{Ll})|\n+|;\s|[。！？]+[」』）]*/gu,
  ];
  it('match as the patterns before the lookbehind did', () => {
    const alphabet = ['.', '.', '!', '?', '"', ')', ']', ' ', '\n', ';', 'a', 'b', 'C', 'D', '1', '。', '」', 'é'];
    for (const s of randomStrings(alphabet, 40_000, 16))
      for (let k = 0; k < 2; k++) expect(all(SENTENCE_ENDS[k] as RegExp, s), s).toEqual(all(OLD[k] as RegExp, s));
  });

  it('split a run of 200,000 dots in linear time (the old pattern: over a minute)', () => {
    const text = `The tower is tall${'.'.repeat(200_000)}x and so it stands. Paris!`;
    expect(sentences(text).map((s) => s.text.slice(-10))).toEqual([
      `${'.'.repeat(7)}x and so it stands.`.slice(-10),
      'Paris!',
    ]);
    expect(sentences(text, false)).toHaveLength(2);
  });
});

describe('camelCase words', () => {
  const OLD = /[A-Za-z]*[a-z][A-Z][A-Za-z]*/g;
  it('match as the pattern before the lookbehind did', () => {
    for (const s of randomStrings(['a', 'b', 'A', 'B', ' ', '-', '1', 'é'], 40_000, 14))
      expect(all(CAMEL_WORD, s), s).toEqual(all(OLD, s));
  });
  it('read a 160,000-letter word in linear time (the old pattern: about a minute)', () => {
    const text = `iPhone ${'a'.repeat(160_000)} releaseYear`;
    expect(all(CAMEL_WORD, text).map((m) => m.split(':')[1])).toEqual(['iPhone', 'releaseYear']);
  });
});

describe('document ids', () => {
  const OLD =
    /\b(?:[\w-]+\.(?:md|txt|pdf|html?|docx?|jsonl?|csv))\b(?!\()|\b(?:doc|kb|document|article|ticket)[-_:#][\w-]{1,40}\b/gi;
  it('match as the pattern before the lookbehinds did', () => {
    const alphabet = [
      'a',
      'B',
      '1',
      '_',
      '-',
      '-',
      '.',
      '.md',
      '.TXT',
      'md',
      'html',
      '(',
      ' ',
      ':',
      '#',
      'doc',
      'kb',
      'é',
    ];
    for (const s of randomStrings(alphabet, 60_000, 14)) expect(all(DOC_ID_PATTERN, s), s).toEqual(all(OLD, s));
    // An id after ':' cut at 40 characters, then a file name in the same run.
    const cut = `see kb:${'a-'.repeat(30)}b.md and doc#${'x'.repeat(45)}-y.txt`;
    expect(all(DOC_ID_PATTERN, cut)).toEqual(all(OLD, cut));
    expect(all(DOC_ID_PATTERN, 'a.md-b.md --c.pdf')).toEqual(all(OLD, 'a.md-b.md --c.pdf'));
  });
  it('read 200,000 characters of a-a-a- in linear time (the old pattern: over two minutes)', () => {
    const text = `${'a-'.repeat(100_000)} see handbook.md`;
    expect(text.match(DOC_ID_PATTERN)).toEqual(['handbook.md']);
  });
});

describe('lifespans', () => {
  const RANGE = /\([^()]*\b\d{3,4}\s*[–—-]\s*[^()]*\b\d{3,4}\s*\)/;
  const BORN = /\((?:[^()]*;\s*)?(?:born|b\.)\s[^()]*\d{3,4}[^()]*\)/i;
  it('are found as the two patterns found them', () => {
    const alphabet = ['(', ')', '1889', '123', '12', '-', '–', ' ', ';', 'born ', 'B. ', 'b.', 'a', '\n'];
    for (const s of randomStrings(alphabet, 60_000, 12))
      expect(lifespanIn(s), s).toEqual({ range: RANGE.test(s), born: BORN.test(s) });
  });
  it('read an open bracket of 300,000 characters of years in linear time (the old patterns: minutes) in linear time (the old patterns: minutes)', () => {
    expect(lifespanIn(`(${'1889- '.repeat(50_000)}`)).toEqual({ range: false, born: false });
    expect(lifespanIn(`(born ${'1889 '.repeat(60_000)}`)).toEqual({ range: false, born: false });
    expect(lifespanIn(`${'(1889 - 1890 '.repeat(3_000)}(Paris, 1889–1950)`)).toEqual({ range: true, born: false });
  });
});

describe('label numbers', () => {
  const OLD = /(?:\b(\p{Lu}[\p{L}'’-]*)(\.?)|#)\s*(\d[\d,]*(?:\.\d+)?)\b/gu;
  const groups = (ms: Iterable<RegExpMatchArray>): string[] => [...ms].map((m) => `${m.index}:${m[1]}|${m[2]}|${m[3]}`);
  it('match as the global pattern did', () => {
    const alphabet = ['A', 'B', 'a', 'É', 'é', "'", '’', '-', '.', ' ', '#', '1', '2', ',', 'No', '𝐀', '_'];
    for (const s of randomStrings(alphabet, 60_000, 14))
      expect(groups(labelMatches(s)), s).toEqual(groups(s.matchAll(OLD)));
  });
  it('read a sentence of 160,000 characters of A-A-A- with a figure in linear time (the old pattern: a minute)', () => {
    const text = `Windows 11 is 330 metres ${'A-'.repeat(80_000)}.`;
    expect(groups(labelMatches(text))).toEqual(['0:Windows||11']);
  });
});

describe('judge replies', () => {
  const OLD = (t: string) => t.replace(/<think>[\s\S]*?<\/think>/gi, ' ');
  it('lose their <think> blocks as the pattern did', () => {
    for (const s of randomStrings(['<think>', '</think>', '<THINK>', '</Think>', 'a', '{', '}', '<', '\n'], 40_000, 10))
      expect(withoutThinking(s), s).toBe(OLD(s));
  });
  it('read 1,000,000 characters of unclosed <think> in linear time (the old pattern: over a minute)', () => {
    const reply = `${'<think>'.repeat(143_000)}{"verdict": "pass"}`;
    expect(withoutThinking(reply)).toBe(reply);
  });
});

describe('figure stems', () => {
  it('keep each reading of a figure once, however often the claim repeats it', () => {
    // The list was copied for each repeat (10,000 repeats: 50 million copies) and then read for each repeat.
    const ws = words(`(1889 - 1890 ${'(1889 - 1890 '.repeat(10_000)} 10.100`);
    const stems = figureStems(ws, numberMentions(ws), pushMatchStems);
    expect(stems.get('1889')).toEqual([1889]);
    expect(stems.get('1890')).toEqual([1890]);
    expect(stems.get('10.100')).toEqual([10.1, 10100]);
  });
});
