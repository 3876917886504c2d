import { describe, expect, it } from 'vitest';
import { matchStem, numberMentions, pushMatchStems, stem } from './text.js';

describe('match stems (the grounding check matches words by them)', () => {
  it('folds numbers to one spelling: words, ordinals and thousands separators', () => {
    expect(matchStem('twelve')).toBe('12');
    expect(matchStem('12')).toBe('12');
    expect(matchStem('7th')).toBe('7');
    expect(matchStem('third')).toBe(matchStem('3rd'));
    expect(matchStem('1,000')).toBe('1000');
    expect(matchStem('3.5')).toBe('3.5');
    // Not numbers whatever the context: left to the stemmer.
    expect(matchStem('second')).toBe(stem('second'));
    expect(matchStem('published')).toBe(stem('published'));
  });

  it('splits a hyphenated word into its content parts', () => {
    const out: string[] = [];
    for (const w of ['twelve-bar', 'action-adventure', 'x-ray', 'covid-19']) pushMatchStems(w, out);
    expect(out).toEqual(['12', 'bar', 'action', stem('adventure'), 'ray', 'covid', '19']);
    const plain: string[] = [];
    pushMatchStems('the', plain);
    pushMatchStems('albums', plain);
    expect(plain).toEqual([stem('albums')]);
  });

  it('reads a number word joined by a hyphen as a number', () => {
    expect(numberMentions('a twelve-bar blues').map((n) => n.value)).toEqual([12]);
    expect(numberMentions('twenty-five years').map((n) => n.value)).toEqual([25]);
    expect(numberMentions('a well-known fact')).toEqual([]);
    expect(numberMentions('AES-256').map((n) => n.value)).toEqual([256]);
  });
});
