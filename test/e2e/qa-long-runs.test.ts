// Token counting of one run of millions of like characters (8 MB of base64, a pasted blob): llmscope's countTokens
// (calls/tokens.ts) and the simulator's encodeText found their 129+-character runs with /\S{129,}|\s{129,}/, and V8's
// regexp engine overflows its stack matching a run of ~8 million: RangeError: Maximum call stack size exceeded. In the
// simulator that came from a Realtime client's 15 MB conversation item and killed the process. Now runs are matched
// in capped pieces and followed on, counted in the same 128-character slices (the same numbers for shorter runs).
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { countTokens } from '../../src/calls/tokens.js';
import { encodeText } from '../../src/simulator/text.js';

const NO_SPECIAL = { disallowedSpecial: new Set<string>() };
const enc = (s: string) => encode(s, NO_SPECIAL).length;

/** What slicing gives for `head` + a run of `n` × `ch` + `tail`, counted by hand. */
function expected(head: string, ch: string, n: number, tail: string): number {
  const full = Math.floor(n / 128);
  return enc(head) + full * enc(ch.repeat(128)) + enc(ch.repeat(n - full * 128)) + enc(tail);
}

describe('token counting of very long runs', () => {
  it('counts a 9-million-character run in slices instead of throwing, in llmscope and in the simulator', () => {
    const n = 9_000_000 + 77;
    const text = `Here is the file: ${'Q'.repeat(n)} thanks`;
    const want = expected('Here is the file: ', 'Q', n, ' thanks');
    expect(countTokens(text)).toBe(want);
    expect(encodeText(text)).toHaveLength(want);
  });

  it('a run just over the matcher cap, and a long space run, count as their slices', () => {
    for (const n of [65_536, 65_537, 131_072 + 5, 200_000]) {
      const text = `a ${'x'.repeat(n)} b`;
      const want = expected('a ', 'x', n, ' b');
      expect(countTokens(text)).toBe(want);
      expect(encodeText(text)).toHaveLength(want);
    }
    const spaces = `a${' '.repeat(70_000)}b`;
    expect(countTokens(spaces)).toBe(encodeText(spaces).length);
  });
});
