// The numbered-part and issue references (9efb819) were read by two patterns quadratic in the answer or the context:
// the issue pattern's owner/repo lookbehind ran back over a whole word at each of its letters (an answer holding a
// 64,000-letter word: 7.8 s), and the heading scan's blanks ran over line breaks and were tried again from each (a
// context of 64,000 empty lines: 10.7 s), on the recording process's event loop. The test's own timeout is the guard:
// each input here is a call's kept size (128K characters), minutes before.
import { describe, expect, it } from 'vitest';
import { SourceAttributionEvaluator } from './attribution.js';

const a = new SourceAttributionEvaluator();
const question = 'What does the handbook say about key rotation?';

describe('attribution: numbered parts and issues on long input', () => {
  it('reads an answer holding a very long word in linear time', () => {
    for (const word of ['ACGT'.repeat(32_000), 'a.b-'.repeat(32_000)]) {
      const r = a.evaluateNow({ question, context: ['Keys rotate every 90 days, says the handbook.'], response: word });
      expect(r.verdict).toBe('unknown');
    }
  });

  it('reads a context of many empty lines in linear time, and still finds its headings', () => {
    const context = [
      `Operator Handbook\n${'\n'.repeat(64_000)}${' \t\n'.repeat(21_000)}## 4.3 Credential rotation\nEvery 90 days.`,
    ];
    expect(a.evaluateNow({ question, context, response: 'Section 4.3 of the handbook covers rotation.' }).verdict).toBe(
      'pass',
    );
    expect(a.evaluateNow({ question, context, response: 'Section 7.2 of the handbook covers rotation.' }).verdict).toBe(
      'fail',
    );
    // spaces after a source's label that never reach its number
    const spaced = [`Source${' '.repeat(128_000)}x`, '## 4.3 Credential rotation\nEvery 90 days.'];
    const cited = 'Section 4.3 of the handbook covers rotation.';
    expect(a.evaluateNow({ question, context: spaced, response: cited }).verdict).toBe('pass');
  });

  it('still reads an owner/repo#n reference', () => {
    const context = ['Fixed in https://github.com/acme/widget/issues/412 (rotation).'];
    expect(a.evaluateNow({ question, context, response: 'See acme/widget#412.' }).verdict).toBe('pass');
    expect(a.evaluateNow({ question, context, response: 'See acme/widget#214.' }).verdict).toBe('fail');
  });
});
