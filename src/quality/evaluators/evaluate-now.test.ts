// evaluateNow must give what evaluate gives (the quality service calls it instead, to skip a promise per check).
import { describe, expect, it } from 'vitest';
import { SourceAttributionEvaluator } from './attribution.js';
import { SelfConsistencyEvaluator } from './consistency.js';
import { GroundingEvaluator } from './grounding.js';
import type { EvaluationInput, EvaluationResult, Evaluator } from './types.js';

const timeless = (r: EvaluationResult): EvaluationResult => {
  const { durationMs: _d, ...rest } = r;
  return rest;
};

const long = Array.from(
  { length: 400 },
  (_, i) => `Station ${i} on the line opened in ${1850 + (i % 90)} and serves ${i * 37} passengers a day.`,
).join(' ');

const inputs: EvaluationInput[] = [
  { context: ['Benchmark me.'], response: 'These still how stable graph receive track small several specific.' },
  { context: [], response: 'Paris is the capital of France.' },
  { context: ['Write a short paragraph about observability.'], response: 'Observability uses logs. It uses traces.' },
  {
    context: [
      'The Eiffel Tower is 330 metres tall and was completed in 1889 for the World Fair in Paris, France. It was the tallest structure in the world for forty-one years.',
    ],
    response: 'The Eiffel Tower, completed in 1889, is 330 metres tall. It was built for the 1900 Olympics.',
  },
  { context: [long], response: 'Station 12 opened in 1862. It serves 444 passengers a day. Station 3 is closed.' },
  { context: ['Hello'], response: 'Hi! How can I help?' },
  { context: ['The stadium seats 65,000.'], response: 'The stadium seats 65,000. The stadium seats 50,000.' },
];

const evaluators: Evaluator[] = [
  new GroundingEvaluator({ minContextWords: 20 }),
  new GroundingEvaluator(),
  new SourceAttributionEvaluator({ minContextWords: 20 }),
  new SourceAttributionEvaluator(),
  new SelfConsistencyEvaluator(),
];

describe('evaluateNow', () => {
  it('gives the result evaluate gives, for every default evaluator, as it is or as a promise', async () => {
    let atOnce = 0;
    for (const ev of evaluators)
      for (const input of inputs) {
        const now = ev.evaluateNow?.(input);
        expect(now).toBeDefined();
        if (!(now instanceof Promise)) atOnce++;
        const got = await now;
        expect(timeless(got as EvaluationResult)).toEqual(timeless(await ev.evaluate(input)));
      }
    // the shortcuts' verdicts, attribution's and consistency's come at once
    expect(atOnce).toBeGreaterThan(20);
  });

  it('answers with a promise when consistency fetches extra samples', async () => {
    const ev = new SelfConsistencyEvaluator({ samples: async () => ['Paris is the capital of France.'] });
    const input = { context: ['q'], response: 'Paris is the capital of France. It is in Europe.' };
    const now = ev.evaluateNow(input);
    expect(now).toBeInstanceOf(Promise);
    expect(timeless(await now)).toEqual(timeless(await ev.evaluate(input)));
  });
});
