// QA14: with a knowledge base configured, a short request about something the KB does not cover ("What is the
// capital of France?" to a product KB) had its answer checked against the question alone and flagged ("Paris" not in
// evidence: fail 0.63; a haiku 0.99). Without a KB the same thin request is `unknown`; now it is with one too when
// none of its words finds a passage there. A request the KB covers is checked as before.
import { describe, expect, it } from 'vitest';
import { KnowledgeBase } from '../knowledge.js';
import { GroundingEvaluator } from './grounding.js';

const kb = KnowledgeBase.fromDocuments([
  {
    id: 'widget.md',
    text:
      'The Acme Widget 3000 was released on March 14, 2021. It weighs 2.4 kilograms and costs 499 dollars. ' +
      'Acme Corporation was founded in 1987 in Rotterdam. It employs 4,200 people worldwide.',
  },
]);
const g = new GroundingEvaluator({ minContextWords: 20 });
const check = (q: string, response: string) => g.check({ context: [q], response, knowledge: kb });

describe('grounding: a request outside the knowledge base (QA14)', () => {
  it('says unknown, not fail, for a thin request the KB has nothing on', () => {
    for (const [q, a] of [
      ['What is the capital of France?', 'Paris is the capital of France.'],
      ['Write a haiku about autumn.', 'Crimson leaves falling, whispering to the cold ground, the year exhales slow.'],
      ['Write a python function that adds two numbers.', 'Use def add(a, b) and return the sum of a and b.'],
    ] as const) {
      const r = check(q, a);
      expect(r.verdict, a).toBe('unknown');
      expect(r.explanation).toMatch(/outside what the knowledge base covers/);
    }
  });

  it('checks a request the KB covers, right and wrong', () => {
    expect(check('How much does the Acme Widget 3000 weigh?', 'It weighs 2.4 kilograms.').verdict).toBe('pass');
    expect(check('How much does the Acme Widget 3000 weigh?', 'It weighs 3.1 kilograms.').verdict).toBe('fail');
  });

  it('keeps checking a request that carries its own sources, whatever the KB holds', () => {
    const sources =
      'Answer from this passage only. The Eiffel Tower was completed in 1889 for the World Fair in Paris; it is 330 ' +
      'metres tall, was designed by the engineering company of Gustave Eiffel, and is repainted every seven years.';
    const r = g.check({ context: [sources], response: 'The Eiffel Tower was completed in 1901.', knowledge: kb });
    expect(r.verdict).toBe('fail');
  });
});
