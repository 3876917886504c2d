// The int8[] text parser of PostgreSQL rollup histograms: the same numbers as Number() on each element.
import { describe, expect, it } from 'vitest';
import { parseInt8Array } from './histogram-pg.js';

const slow = (text: string): number[] => (text.length <= 2 ? [] : text.slice(1, -1).split(',').map(Number));

describe('parseInt8Array', () => {
  it('parses what Number() would, element by element', () => {
    const big = Array.from({ length: 1000 }, (_, i) => Math.floor(((i * 2654435761) % 2 ** 32) * 2 ** 19) + i);
    for (const text of [
      '{}',
      '{0}',
      '{1,2,3}',
      '{-5,0,7}',
      `{${2 ** 51 + 12345},${2 ** 40},${Number.MAX_SAFE_INTEGER}}`,
      '{9007199254740993,12}',
      '{-9223372036854775808,9223372036854775807}',
      '{NULL,3}',
      `{${big.join(',')}}`,
    ])
      expect(parseInt8Array(text)).toEqual(slow(text));
  });
});
