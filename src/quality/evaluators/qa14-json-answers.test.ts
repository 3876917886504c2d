// QA14: an answer in JSON mode (structured outputs) is read as its values. Before, the whole object was one claim
// whose keys ("weight_kg", "name") counted as words missing from the evidence and whose names were "never mentioned
// together", so a faithful JSON answer scored 1.0 and failed; and attribution took every string value of four or more
// words for a quotation that had to occur verbatim in the sources.
import { describe, expect, it } from 'vitest';
import { KnowledgeBase } from '../knowledge.js';
import { jsonAnswerText } from './answer.js';
import { SourceAttributionEvaluator } from './attribution.js';
import { GroundingEvaluator } from './grounding.js';

const kb = KnowledgeBase.fromDocuments([
  {
    id: 'widget.md',
    text:
      'The Acme Widget 3000 was released on March 14, 2021. It weighs 2.4 kilograms and costs 499 dollars. ' +
      "The widget's battery lasts 18 hours on a single charge. It was designed by Maria Okafor at the Acme laboratory " +
      'in Rotterdam. The Widget 3000 supports Bluetooth 5.2 and has a warranty of 3 years.',
  },
]);
const question = 'Give the Acme Widget 3000 facts as JSON.';
const input = (response: string) => ({ question, context: [question], response, knowledge: kb });

describe('JSON answers (QA14)', () => {
  it('reads a JSON answer as its string and number values, one per line, keys left out', () => {
    expect(jsonAnswerText('{"a": "x y", "b": [1, 2.5, {"c": "z"}], "d": true, "e": null}')).toBe('x y\n1\n2.5\nz');
    expect(jsonAnswerText('The answer is {"a": 1}')).toBeNull();
    expect(jsonAnswerText('{not json}')).toBeNull();
    expect(jsonAnswerText('[1, 2')).toBeNull();
  });

  it('passes a faithful JSON answer and fails one with a wrong date and weight', async () => {
    const g = new GroundingEvaluator();
    const faithful = await g.evaluate(
      input(
        '{"name": "Acme Widget 3000", "released": "March 14, 2021", "weight_kg": 2.4, "designer": "designed by Maria Okafor at the Acme laboratory in Rotterdam"}',
      ),
    );
    expect(faithful.verdict).toBe('pass');
    expect(faithful.score).toBeLessThan(0.5);
    const wrong = await g.evaluate(input('{"name": "Acme Widget 3000", "released": "June 2, 2019", "weight_kg": 7.9}'));
    expect(wrong.verdict).toBe('fail');
    expect(wrong.claims?.filter((c) => c.status !== 'supported').map((c) => c.text)).toEqual(['June 2, 2019', '7.9']);
    const list = await g.evaluate(
      input('[{"fact": "The battery lasts 40 hours on a single charge."}, {"fact": "The warranty is 3 years."}]'),
    );
    expect(list.verdict).toBe('fail');
    expect(list.claims?.find((c) => c.status !== 'supported')?.text).toBe(
      'The battery lasts 40 hours on a single charge.',
    );
  });

  it('does not take a JSON string value for a quotation, and still checks URLs in the values', async () => {
    const a = new SourceAttributionEvaluator();
    const r = await a.evaluate(
      input('{"summary": "designed by John Smith at the Acme factory in Berlin", "weight_kg": 2.4}'),
    );
    expect(r.verdict).toBe('unknown');
    const url = await a.evaluate(input('{"source": "https://acme.example.com/widget-3000-datasheet.pdf"}'));
    expect(url.verdict).toBe('fail');
  });
});
