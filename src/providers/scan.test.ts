import { describe, expect, it } from 'vitest';
import { has, keyAt, leadingType, stringAt, stringEnd, valueEnd } from './scan.js';

describe('scan helpers', () => {
  it('stringEnd finds the closing quote after any run of backslashes, as a JSON parser does', () => {
    for (const text of ['', 'a', 'a"b', 'a\\b', 'ends \\', '\\\\', '\\"', '"\\"\\\\"', 'é世🙂"x']) {
      const data = `{"k":${JSON.stringify(text)},"n":1}`;
      const end = stringEnd(data, 6);
      expect(data.slice(end, end + 5)).toBe('","n"');
      expect(stringAt(data, 6, end)).toBe(text);
    }
    expect(stringEnd('"abc\\"', 1)).toBe(-1);
  });

  it('keyAt answers the key once and as a key, else -1 (absent) or null (unsure)', () => {
    const word = 'delta":"';
    const one = '{"type":"x","delta":"hi"}';
    expect(keyAt(one, word, 0)).toBe(one.indexOf('"delta"'));
    expect(keyAt('{"type":"x"}', word, 0)).toBe(-1);
    expect(keyAt('{"delta":"a","x":{"delta":"b"}}', word, 0)).toBeNull();
    expect(keyAt('{"delta": "spaced"}', word, 0)).toBeNull();
    expect(keyAt('{"delta":1}', word, 0)).toBeNull();
    expect(keyAt('{"text":"\\"delta\\":\\"no"}', word, 0)).toBe(-1);
    expect(keyAt('{"xdelta":"a"}', word, 0)).toBeNull();
    expect(keyAt('{"delta":"a","b":1}', word, 5)).toBeNull();
  });

  it('has, valueEnd and leadingType read plain values in place', () => {
    expect(has('{"type":"ping"}', 0, '{"type":"')).toBe(true);
    expect(has('{"type":"ping"}', 1, '{"type":"')).toBe(false);
    expect(leadingType('{"type":"ping"}')).toBe('ping');
    expect(leadingType('{"typ":"ping"}')).toBeNull();
    const data = '[null,true,false,-1.5e+3,"a\\"b",{}]';
    const ends = [1, 6, 11, 17, 25].map((at) => valueEnd(data, at));
    expect(ends).toEqual([5, 10, 16, 24, 31]);
    expect(valueEnd(data, 32)).toBe(-1);
  });
});
