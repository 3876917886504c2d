// QA14: `llmscope quality score` checked a refusal for hallucination, so "I'm sorry, but I can't help with that."
// against any context came out verdict fail, score 1 (not one of its words is in the evidence). On live traffic
// refusals are not checked for hallucination; the offline scorer now says the same: verdict unknown, refusal true.
import { describe, expect, it } from 'vitest';
import { createScorer } from './score.js';

describe('quality score: refusals (QA14)', () => {
  const scorer = createScorer();
  const context = 'The Acme Widget 3000 was released on March 14, 2021. It weighs 2.4 kilograms.';

  it('does not check a refusal for hallucination, in English or another language', async () => {
    for (const response of [
      "I'm sorry, but I can't help with that.",
      "Je suis navré, mais il m'est impossible de vous aider avec cette demande.",
    ]) {
      const o = await scorer.score({ id: 'r', context, response });
      expect(o, response).toMatchObject({ verdict: 'unknown', hallucination_score: 0, refusal: true, evaluations: {} });
      expect(o.explanation).toMatch(/^refusal \(/);
    }
  });

  it('still checks an answer, and says it is no refusal', async () => {
    const wrong = await scorer.score({ id: 'w', context, response: 'It was released on June 2, 2019.' });
    expect(wrong).toMatchObject({ verdict: 'fail', refusal: false });
    // An idiom that looks like a refusal is an answer, checked as one.
    const idiom = await scorer.score({
      id: 'i',
      context,
      response: "I can't stress enough that it was released on March 14, 2021.",
    });
    expect(idiom.refusal).toBe(false);
    expect(idiom.evaluations.grounding).toBeDefined();
  });
});
