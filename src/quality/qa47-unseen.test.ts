// QA47: the detectors on labelled examples written before their code was read (fixtures/qa47-unseen.json: 70
// responses for refusals in Italian, Dutch, Chinese, Korean, Polish, Arabic, Hindi in Devanagari and in Latin letters,
// modern assistant phrasing, markdown answers and reasoning answers that restate the question; 58 answers to recorded
// calls whose sources are tool results (OpenAI tool and function messages, Anthropic tool_result blocks, Responses
// function_call_output items), a system prompt or an earlier assistant turn; 28 answers citing RFCs, arXiv ids, DOIs,
// law reports and URLs on real domains). Each call's prompt is read as the gateway reads it (its adapter's
// promptText, the model's own turns left out) and each detector runs as the quality module runs it
// (minContextWords 20). The floors sit a little under what the rules reach now; on the code before (dc3f3d7)
// refusals were 0.93 / 0.66, grounding 0.65 / 0.50, citations 0.88 / 0.88, so each floor fails there.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keepText } from '../calls/bounded-text.js';
import type { Endpoint } from '../calls/call.js';
import { adapterFor } from '../providers/index.js';
import { withoutRanges } from '../providers/openai-compatible/index.js';
import { GroundingEvaluator, SourceAttributionEvaluator } from './evaluators/index.js';
import { classifyRefusal } from './refusal.js';
import { precisionRecall } from './stats.js';

interface Item {
  id: string;
  group: 'refusal' | 'grounding' | 'citation';
  split: 'dev' | 'test';
  label: boolean;
  form: string;
  text?: string;
  call?: string;
  response?: string;
}
interface Call {
  api: 'openai-chat' | 'anthropic' | 'responses';
  request: Record<string, unknown>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/qa47-unseen.json', import.meta.url), 'utf8')) as {
  calls: Record<string, Call>;
  items: Item[];
};
const group = (g: Item['group']) => fixture.items.filter((i) => i.group === g);
const ENDPOINT: Record<Call['api'], Endpoint> = {
  'openai-chat': 'chat.completions',
  anthropic: 'messages',
  responses: 'responses',
};

/** The prompt the quality module evaluates for a recorded call: the gateway's prompt text less the model's turns. */
function promptOf(name: string): string {
  const c = fixture.calls[name] as Call;
  const endpoint = ENDPOINT[c.api];
  const assistant: number[] = [];
  const kept = keepText(adapterFor(endpoint).promptText(c.request, endpoint, assistant), assistant);
  return assistant.length > 0 ? withoutRanges(kept.text, assistant) : kept.text;
}

const grounding = new GroundingEvaluator({ minContextWords: 20 });
const attribution = new SourceAttributionEvaluator({ minContextWords: 20 });

async function pr(g: 'grounding' | 'citation') {
  const ev = g === 'grounding' ? grounding : attribution;
  const got = [];
  for (const i of group(g)) {
    const r = await ev.evaluate({ context: [promptOf(i.call as string)], response: i.response as string });
    got.push({ predicted: r.verdict === 'fail', label: i.label });
  }
  return precisionRecall(got);
}

describe('QA47 unseen set: floors', () => {
  it('holds 156 labelled items, each group with both labels in both splits, each call a recorded shape', () => {
    expect(fixture.items).toHaveLength(156);
    for (const g of ['refusal', 'grounding', 'citation'] as const)
      for (const split of ['dev', 'test'])
        for (const label of [true, false])
          expect(
            group(g).some((i) => i.split === split && i.label === label),
            `${g} ${split} ${label}`,
          ).toBe(true);
    for (const i of fixture.items) if (i.call) expect(fixture.calls[i.call], i.id).toBeDefined();
    // a tool's result reaches the prompt the quality module reads, in each of the three shapes
    expect(promptOf('weather')).toContain('"humidity_pct": 81');
    expect(promptOf('dose')).toContain('Do not exceed 3 g in 24 hours');
    expect(promptOf('revenue')).toContain('Gross margin: 61%');
    expect(promptOf('dentist')).toContain('Kossuth utca 12');
    expect(promptOf('flight-fn')).toContain('gate B44');
  });

  it('refusals (seven more languages, modern phrasing, markdown, restated questions): precision ≥ 0.97, recall ≥ 0.80', () => {
    // Measured: 1.00 / 0.84 (dev 1.00 / 1.00, test 1.00 / 0.67); before, 0.93 / 0.66.
    const r = precisionRecall(
      group('refusal').map((i) => ({ predicted: classifyRefusal(i.text).refusal, label: i.label })),
    );
    expect(r.precision).toBeGreaterThanOrEqual(0.97);
    expect(r.recall).toBeGreaterThanOrEqual(0.8);
  });

  it('grounding on tool results, system prompts and earlier turns: precision ≥ 0.70, recall ≥ 0.45', async () => {
    // Measured: 0.74 / 0.47 (dev 0.60 / 0.46, test 0.89 / 0.47); before, 0.65 / 0.50. Most misses are `unknown`: a
    // short tool result is fewer than 20 content words and nothing frames it as material (see the report's decision).
    const r = await pr('grounding');
    expect(r.precision).toBeGreaterThanOrEqual(0.7);
    expect(r.recall).toBeGreaterThanOrEqual(0.45);
  });

  it('citations (RFCs, arXiv ids, DOIs, law reports, URLs on real domains): precision ≥ 0.90, recall ≥ 0.95', async () => {
    // Measured: 0.94 / 1.00 (dev 1.00 / 1.00, test 0.90 / 1.00); before, 0.88 / 0.88.
    const r = await pr('citation');
    expect(r.precision).toBeGreaterThanOrEqual(0.9);
    expect(r.recall).toBeGreaterThanOrEqual(0.95);
  });
});

// The forms behind the floors, in sentences of their own (not the fixture's).
describe('QA47 unseen set: what changed', () => {
  it.each([
    // Hindi in Latin letters, as chat writes it
    'Main aapke liye yeh document nahi likh sakta.',
    'Maaf karna, hum aapka account unlock nahi kar sakte.',
    'Mere liye aisa karna mumkin nahi hai.',
    // Korean: 어렵다's adnominal form
    '그 부분은 제가 안내해 드리기 어려운 사항입니다.',
    // Chinese: beyond the scope of what I can help with
    '这个问题超出了我能回答的范围。',
    // Italian, Spanish, French, Portuguese: "I'd rather not answer / comment"
    'Preferirei non commentare questa situazione.',
    'Prefiero no responder a esa pregunta.',
    'Je préfère ne pas répondre à cette question.',
    // English: "isn't something I'll be helping with"
    "Writing that review isn't something we'll be helping with.",
  ])('declines: %s', (text) => {
    expect(classifyRefusal(text).refusal).toBe(true);
  });

  it.each([
    // a capability verb in Hindi is no decline
    'Main yeh pakka nahi bata sakta ki kal baarish hogi, lekin forecast mein 70% chance dikh raha hai.',
    // a preference that declines nothing
    'Preferisco non usare jQuery qui: ecco la stessa cosa in JavaScript puro.',
    // the way asked declined, then the answer, in prose and in code
    "I can't help with that exact approach, since eval on user input is unsafe, but here's what does the same thing: parse the expression with a small grammar and walk the tree, rejecting any identifier you did not define.",
    "I can't do that as written, because the v1 endpoint is gone, but here it is on v2:\n\n```bash\ncurl -H 'Authorization: Bearer $TOKEN' https://api.example.com/v2/items\n```",
  ])('answers: %s', (text) => {
    expect(classifyRefusal(text).refusal).toBe(false);
  });

  it('still reads a decline that offers something else instead as a refusal', () => {
    expect(classifyRefusal("I can't write that exact message, but I can explain why it would hurt her.").refusal).toBe(
      true,
    );
  });

  it("reads an ISO date's month, weekday, day and hour, and a JSON field's unit, as an answer writes them", () => {
    const g = new GroundingEvaluator({ minContextWords: 20 });
    const context = [
      'Answer from this record.\n\n{"invoice": "INV-3310", "issued": "2026-03-04T09:45:00Z", "due": "2026-04-03", "weight_kg": 12.5, "amount_gbp": 310}',
    ];
    const verdict = (response: string) => g.check({ context, response }).verdict;
    expect(verdict('Invoice INV-3310 was issued on Wednesday 4 March 2026 at 09:45 UTC and is due on 3 April.')).toBe(
      'pass',
    );
    expect(verdict('The weight on invoice INV-3310 is 12.5 kg.')).toBe('pass');
    expect(verdict('The weight on invoice INV-3310 is 12.5 g.')).toBe('fail');
    expect(verdict('The amount of invoice INV-3310 is £310.')).toBe('pass');
  });

  it("does not take a date's changed day for a sum of the time's figures", () => {
    const g = new GroundingEvaluator({ minContextWords: 20 });
    const context = [
      'Answer from this record.\n\n{"visit": "Boiler service", "engineer": "Ana Ruiz", "start": "2026-06-09T10:15:00"}',
    ];
    const verdict = (response: string) => g.check({ context, response }).verdict;
    expect(verdict('The boiler service with Ana Ruiz is on 9 June at 10:15.')).toBe('pass');
    // 25 = 10 + 15: read as arithmetic on the claim's figures before
    expect(verdict('The boiler service with Ana Ruiz is on 25 June at 10:15.')).toBe('fail');
    expect(verdict('The boiler service with Ana Ruiz is on June 25 at 10:15.')).toBe('fail');
  });

  it('takes a resolver URL for the DOI or arXiv id the sources give, and checks Commonwealth law reports', () => {
    const a = new SourceAttributionEvaluator({ minContextWords: 20 });
    const context = [
      'Use these sources and cite them.\n\n[1] Vaswani et al. (2017), arXiv:1706.03762: attention alone suffices for translation.\n' +
        '[2] Hedley Byrne v Heller [1964] AC 465: a negligent statement can found liability for pure economic loss.\n' +
        '[3] Kim (2020), doi:10.1234/abcd.2020.17: a study of queue lengths at border crossings.',
    ];
    const verdict = (response: string) => a.check({ context, response }).verdict;
    expect(verdict('See https://arxiv.org/abs/1706.03762 for the model.')).toBe('pass');
    expect(verdict('See https://doi.org/10.1234/abcd.2020.17 for the queues.')).toBe('pass');
    expect(verdict('See https://doi.org/10.1234/abcd.2020.71 for the queues.')).toBe('fail');
    expect(verdict('Liability for careless advice comes from Hedley Byrne v Heller [1964] AC 465.')).toBe('pass');
    expect(verdict('Liability for careless advice comes from Hedley Byrne v Heller [1964] AC 456.')).toBe('fail');
    expect(verdict('The test was later narrowed in [1991] 1 AC 398.')).toBe('fail');
  });
});
