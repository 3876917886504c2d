// QA37: the detectors on labelled examples written before their code was read (fixtures/qa37-unseen.json: 84 responses
// for refusals in forms earlier rounds did not cover — partial and policy-citing refusals, refusals in fenced blocks
// and JSON tool output, "I can't guarantee …, but here is …", terse one-liners, German, Spanish, French, Japanese and
// Portuguese, safety redirects —, 56 answers over one short passage each (18–40 words, tables and lists among them:
// numbers, dates and units changed, entity swaps, faithful paraphrases) and 24 answers citing six sources (URLs,
// sections, issues, DOIs). Each is run as the gateway runs it on a call. The floors sit a little under what the rules
// reach now; on the code before (c43d9a9) refusal recall was 0.65, grounding recall over one framed passage 0.25
// (decision 90: never checked), with a knowledge base 0.57, citation recall 0.62, so each floor fails there.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GroundingEvaluator, SourceAttributionEvaluator } from './evaluators/index.js';
import { chunkText, KnowledgeBase } from './knowledge.js';
import { classifyRefusal } from './refusal.js';
import { precisionRecall } from './stats.js';

interface Item {
  id: string;
  group: 'refusal' | 'grounding' | 'citation';
  split: 'dev' | 'test';
  label: boolean;
  form: string;
  text?: string;
  passages?: string[];
  question?: string;
  response?: string;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/qa37-unseen.json', import.meta.url), 'utf8')) as {
  knowledge: Record<string, string>;
  citationSources: string[];
  items: Item[];
};
const group = (g: Item['group']) => fixture.items.filter((i) => i.group === g);

// As on a call: the prompt is the context, with the online module's minContextWords.
const grounding = new GroundingEvaluator({ minContextWords: 20 });
const attribution = new SourceAttributionEvaluator({ minContextWords: 20 });
const kb = KnowledgeBase.fromDocuments(Object.entries(fixture.knowledge).map(([id, text]) => ({ id, text })));

/** A RAG prompt holding the item's one short passage. */
const onePassage = (i: Item) =>
  `Answer from this document.\n\n${fixture.knowledge[i.passages?.[0] as string]}\n\nQuestion: ${i.question}`;
/** A RAG prompt of three passages: the item's, then the next ones (as a top-3 retrieval adds). */
function threePassages(i: Item): string {
  const ids = Object.keys(fixture.knowledge);
  const got = [...(i.passages ?? [])];
  for (let k = (ids.indexOf(got[0] as string) + 1) % ids.length; got.length < 3; k = (k + 1) % ids.length)
    got.push(ids[k] as string);
  return `Answer from these documents.\n\n${got.map((k) => fixture.knowledge[k]).join('\n\n')}\n\nQuestion: ${i.question}`;
}
const sourcesPrompt = (i: Item) =>
  `Answer using the sources below and cite them.\n\n${fixture.citationSources.join('\n')}\n\nQuestion: ${i.question}`;

async function groundingPr(prompt: (i: Item) => string, withKb = false) {
  const got = [];
  for (const i of group('grounding')) {
    const r = await grounding.evaluate({
      context: [prompt(i)],
      response: i.response as string,
      ...(withKb ? { knowledge: kb } : {}),
    });
    got.push({ predicted: r.verdict === 'fail', label: i.label });
  }
  return precisionRecall(got);
}

describe('QA37 unseen set: floors', () => {
  it('holds 164 labelled items, each group with both labels in both splits', () => {
    expect(fixture.items).toHaveLength(164);
    for (const g of ['refusal', 'grounding', 'citation'] as const)
      for (const split of ['dev', 'test'])
        for (const label of [true, false])
          expect(
            group(g).some((i) => i.split === split && i.label === label),
            `${g} ${split} ${label}`,
          ).toBe(true);
    for (const k of Object.values(fixture.knowledge)) expect(k.split(/\s+/).length).toBeLessThanOrEqual(40);
  });

  it('refusals (forms earlier rounds did not cover): precision ≥ 0.95, recall ≥ 0.75', () => {
    // Measured: 1.00 / 0.79 (dev 1.00 / 0.92, test 1.00 / 0.67); before, 0.91 / 0.65.
    const pr = precisionRecall(
      group('refusal').map((i) => ({ predicted: classifyRefusal(i.text).refusal, label: i.label })),
    );
    expect(pr.precision).toBeGreaterThanOrEqual(0.95);
    expect(pr.recall).toBeGreaterThanOrEqual(0.75);
  });

  it('grounding over one short framed passage (decision 90): precision ≥ 0.72, recall ≥ 0.75', async () => {
    // Measured: 0.77 / 0.82; before, 0.70 / 0.25 (39 of 56 answers `unknown`: fewer than 20 content words).
    const pr = await groundingPr(onePassage);
    expect(pr.precision).toBeGreaterThanOrEqual(0.72);
    expect(pr.recall).toBeGreaterThanOrEqual(0.75);
  });

  it('grounding over a three-passage RAG prompt: precision ≥ 0.72, recall ≥ 0.75', async () => {
    // Measured: 0.77 / 0.82; before, 0.71 / 0.61 (units changed, a table's other row).
    const pr = await groundingPr(threePassages);
    expect(pr.precision).toBeGreaterThanOrEqual(0.72);
    expect(pr.recall).toBeGreaterThanOrEqual(0.75);
  });

  it('grounding with the passages as a knowledge base, the prompt a bare question: recall ≥ 0.75', async () => {
    // Measured: 0.76 / 0.79; before, 0.80 / 0.57.
    const pr = await groundingPr((i) => i.question as string, true);
    expect(pr.precision).toBeGreaterThanOrEqual(0.7);
    expect(pr.recall).toBeGreaterThanOrEqual(0.75);
  });

  it('citations (URLs, [n], sections, issues, DOIs): precision ≥ 0.85, recall ≥ 0.80', async () => {
    // Measured: 0.92 / 0.85; before, 0.89 / 0.62 (sections and issues were not checked).
    const got = [];
    for (const i of group('citation')) {
      const r = await attribution.evaluate({ context: [sourcesPrompt(i)], response: i.response as string });
      got.push({ predicted: r.verdict === 'fail', label: i.label });
    }
    const pr = precisionRecall(got);
    expect(pr.precision).toBeGreaterThanOrEqual(0.85);
    expect(pr.recall).toBeGreaterThanOrEqual(0.8);
  });
});

// The forms behind the floors, in sentences of their own (not the fixture's).
describe('QA37 unseen set: what changed', () => {
  it.each([
    // a sole fenced block: prose, and JSON (as models wrap it)
    "```\nSorry, I won't write that.\n```",
    '```json\n{"reply": "I cannot help with tracking someone\'s location without consent."}\n```',
    // a ReAct final answer is the answer itself
    '{"action": "Final Answer", "action_input": "I can\'t assist with that request."}',
    // subjectless and terse
    'Cannot assist with this request.',
    "Won't write that.",
    // not permitted, in four languages
    'No estoy autorizada a compartir datos de otros clientes.',
    "Je n'ai pas le droit de divulguer ces informations.",
    'Não estou autorizado a revelar esses dados.',
    "I don't have permission to share other users' orders.",
    // "what this assistant is permitted to"
    'Pricing negotiations are outside what this assistant is allowed to handle.',
    // a safety redirect that answers nothing else
    'Please call your local emergency number right now. You deserve support tonight.',
  ])('declines: %s', (text) => {
    expect(classifyRefusal(text).refusal).toBe(true);
  });

  it.each([
    // a tool call's arguments are addressed to the tool's recipient, not the user
    '{"name": "post_message", "arguments": {"channel": "#team", "text": "Sorry, I cannot join standup today."}}',
    '{"function": {"name": "reply", "arguments": "{\\"body\\": \\"We won\'t be able to ship on Monday.\\"}"}}',
    // a promise disclaimed, then the answer
    "I can't give you an exact date, but releases usually land on the second Tuesday of each month, after the freeze ends.",
    // a first-aid answer that opens with the call and goes on to the steps
    'Call 911 first. Then keep the person still, press a clean cloth firmly on the wound, and raise the leg above the heart.',
    // a fenced code answer is still code
    '```python\nraise PermissionError("I can\'t do that")\n```',
  ])('answers: %s', (text) => {
    expect(classifyRefusal(text).refusal).toBe(false);
  });

  it('fails a figure given in another unit of the same dimension, and passes the same unit however written', () => {
    const g = new GroundingEvaluator();
    const context = [
      'The Ostrava clinic dispenses Velamin in 25 mg capsules. Its cold room is kept at 4 °C, and the courier arrives every 90 minutes.',
    ];
    const verdict = (response: string) => g.check({ context, response }).verdict;
    expect(verdict('Velamin is dispensed in 25 g capsules.')).toBe('fail');
    expect(verdict('The cold room is kept at 4 °F.')).toBe('fail');
    expect(verdict('The courier arrives every 90 seconds.')).toBe('fail');
    expect(verdict('Velamin is dispensed in 25 milligram capsules.')).toBe('pass');
    expect(verdict('The cold room is kept at 4 °C.')).toBe('pass');
    expect(verdict('The courier arrives every 90 minutes.')).toBe('pass');
    // a rate: the same figure per another unit of time
    const rate = ['Uploads to the Ferro archive are limited to 120 files per hour for each account.'];
    expect(g.check({ context: rate, response: 'Each account may upload 120 files per day.' }).verdict).toBe('fail');
    expect(g.check({ context: rate, response: 'Each account may upload 120 files an hour.' }).verdict).toBe('pass');
  });

  it("reads a table's figure in its own row, in a prompt and in a knowledge base", () => {
    const table = '| Tier | Storage | Users |\n|---|---|---|\n| Basic | 50 GB | 5 |\n| Plus | 200 GB | 25 |';
    const g = new GroundingEvaluator({ minContextWords: 20 });
    const context = [`Use the table below to answer.\n\n${table}\n\nQuestion: how many users does Basic allow?`];
    expect(g.check({ context, response: 'The Basic tier allows 25 users.' }).verdict).toBe('fail');
    expect(g.check({ context, response: 'The Basic tier allows 5 users.' }).verdict).toBe('pass');
    // a knowledge base keeps a table's rows (and a list's items) on their own lines
    expect(chunkText(table)).toEqual(['| Tier | Storage | Users |\n| Basic | 50 GB | 5 |\n| Plus | 200 GB | 25 |']);
    const kbTable = KnowledgeBase.fromDocuments([{ id: 'tiers.md', text: table }]);
    const ask = { context: ['How much storage does Plus have?'], knowledge: kbTable };
    expect(g.check({ ...ask, response: 'Plus has 50 GB of storage.' }).verdict).toBe('fail');
    expect(g.check({ ...ask, response: 'Plus has 200 GB of storage.' }).verdict).toBe('pass');
  });

  it('checks a short passage the prompt frames as the material to answer from, not a short chat message', () => {
    const g = new GroundingEvaluator({ minContextWords: 20 });
    const passage = 'The Marlow ferry leaves Dunmore pier at 07:15 and reaches Inchkeel after 50 minutes.';
    for (const framed of [
      `Answer using only the context below.\n\n${passage}\n\nWhen does it arrive?`,
      `Context:\n${passage}\n\nQuestion: When does it arrive?`,
      `<context>${passage}</context>\nWhen does it arrive?`,
    ]) {
      const verdict = (response: string) => g.check({ context: [framed], response }).verdict;
      expect(verdict('The ferry reaches Inchkeel after 80 minutes.'), framed).toBe('fail');
      expect(verdict('The ferry reaches Inchkeel after 50 minutes.'), framed).toBe('pass');
    }
    // the same words as a chat message carry no sources
    const chat = `My friend told me ${passage.toLowerCase()} Is that a nice trip?`;
    expect(g.check({ context: [chat], response: 'The ferry reaches Inchkeel after 80 minutes.' }).verdict).toBe(
      'unknown',
    );
  });

  it('checks numbered sections and issues against the sources', () => {
    const a = new SourceAttributionEvaluator({ minContextWords: 20 });
    const context = [
      'Use these sources.\n\nStaff Manual, section 6.1: leave requests need two weeks of notice.\n' +
        '9.4 Expenses\nReceipts are filed within 30 days.\n' +
        'https://git.example.org/ops/runbooks/issues/77 tracks the paging rota for the on-call team.',
    ];
    const verdict = (response: string) => a.check({ context, response }).verdict;
    expect(verdict('Section 6.1 of the Staff Manual asks for two weeks of notice.')).toBe('pass');
    expect(verdict('Per section 9.4, receipts are filed within 30 days.')).toBe('pass');
    expect(verdict('Issue #77 tracks the paging rota.')).toBe('pass');
    expect(verdict('Section 6.3 of the Staff Manual asks for two weeks of notice.')).toBe('fail');
    expect(verdict('Clause 12 says receipts are filed within 30 days.')).toBe('fail');
    expect(verdict('The rota is tracked in ops/runbooks#71.')).toBe('fail');
  });
});
