// QA28: the detectors on labelled examples written before their code was read (fixtures/qa28-unseen.json: 98
// responses for refusals in 13 languages with hard negatives, 44 answers over a small knowledge base, 30 answers
// citing six sources, 24 for self-contradiction), each run as the gateway runs it on a call. The floors sit a little
// under what the rules reach now; on the code before (3e289ce) refusal recall was 0.75, grounding precision 0.71,
// citation recall 0.65 and consistency recall 0.25, so each floor fails there.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SelfConsistencyEvaluator } from './evaluators/consistency.js';
import { GroundingEvaluator, SourceAttributionEvaluator } from './evaluators/index.js';
import { classifyRefusal } from './refusal.js';
import { precisionRecall } from './stats.js';

interface Item {
  id: string;
  group: 'refusal' | 'grounding' | 'citation' | 'consistency';
  split: 'dev' | 'held';
  label: boolean;
  text?: string;
  passages?: string[];
  question?: string;
  response?: string;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/qa28-unseen.json', import.meta.url), 'utf8')) as {
  knowledge: Record<string, string>;
  citationSources: string[];
  items: Item[];
};
const group = (g: Item['group']) => fixture.items.filter((i) => i.group === g);

// As on a call: the prompt is the context, with the online module's minContextWords.
const grounding = new GroundingEvaluator({ minContextWords: 20 });
const attribution = new SourceAttributionEvaluator({ minContextWords: 20 });
const consistency = new SelfConsistencyEvaluator();

/** A RAG prompt of three passages: the item's, then the knowledge base's next ones (as a top-3 retrieval adds). */
function ragPrompt(item: Item): string {
  const ids = Object.keys(fixture.knowledge);
  const got = [...(item.passages ?? [])];
  for (let i = (ids.indexOf(got[0] as string) + 1) % ids.length; got.length < 3; i = (i + 1) % ids.length)
    if (!got.includes(ids[i] as string)) got.push(ids[i] as string);
  return `Answer from these documents.\n\n${got.map((k) => fixture.knowledge[k]).join('\n\n')}\n\nQuestion: ${item.question}`;
}
const sourcesPrompt = (item: Item) =>
  `Answer using the sources below and cite them.\n\n${fixture.citationSources.join('\n')}\n\nQuestion: ${item.question}`;

describe('QA28 unseen set: floors', () => {
  it('holds 196 labelled items, each group with both labels and both splits', () => {
    expect(fixture.items).toHaveLength(196);
    for (const g of ['refusal', 'grounding', 'citation', 'consistency'] as const) {
      const items = group(g);
      for (const split of ['dev', 'held'])
        for (const label of [true, false])
          expect(
            items.some((i) => i.split === split && i.label === label),
            `${g} ${split} ${label}`,
          ).toBe(true);
    }
  });

  it('refusals (13 languages, hard negatives): precision ≥ 0.95, recall ≥ 0.90', () => {
    // Measured: 0.98 / 0.94 (dev 1.00 / 1.00, held 0.96 / 0.88); before, 0.93 / 0.75.
    const pr = precisionRecall(
      group('refusal').map((i) => ({ predicted: classifyRefusal(i.text).refusal, label: i.label })),
    );
    expect(pr.precision).toBeGreaterThanOrEqual(0.95);
    expect(pr.recall).toBeGreaterThanOrEqual(0.9);
  });

  it('grounding over a three-passage RAG prompt: precision ≥ 0.74, recall ≥ 0.95', async () => {
    // Measured: 0.76 / 1.00 (22 of 22 caught, 7 of 22 faithful answers flagged, paraphrases); before, 0.71 / 1.00.
    const items = group('grounding');
    const got = [];
    for (const i of items) {
      const r = await grounding.evaluate({ context: [ragPrompt(i)], response: i.response as string });
      got.push({ predicted: r.verdict === 'fail', label: i.label });
    }
    const pr = precisionRecall(got);
    expect(pr.precision).toBeGreaterThanOrEqual(0.74);
    expect(pr.recall).toBeGreaterThanOrEqual(0.95);
  });

  it('citations (DOIs, arXiv ids, URLs, RFCs, case law, [n], quotes): precision ≥ 0.90, recall ≥ 0.90', async () => {
    // Measured: 0.94 / 0.94; before, 0.92 / 0.65 (RFC numbers and law reports were not checked).
    const got = [];
    for (const i of group('citation')) {
      const r = await attribution.evaluate({ context: [sourcesPrompt(i)], response: i.response as string });
      got.push({ predicted: r.verdict === 'fail', label: i.label });
    }
    const pr = precisionRecall(got);
    expect(pr.precision).toBeGreaterThanOrEqual(0.9);
    expect(pr.recall).toBeGreaterThanOrEqual(0.9);
  });

  it('self-contradiction: precision ≥ 0.95, recall ≥ 0.30 (paraphrased and arithmetic contradictions are missed)', async () => {
    // Measured: 1.00 / 0.33; before, 1.00 / 0.25.
    const got = [];
    for (const i of group('consistency')) {
      const r = await consistency.evaluate({ context: [], response: i.response as string });
      got.push({ predicted: r.verdict === 'fail', label: i.label });
    }
    const pr = precisionRecall(got);
    expect(pr.precision).toBeGreaterThanOrEqual(0.95);
    expect(pr.recall).toBeGreaterThanOrEqual(0.3);
  });
});

// The forms behind the floors, in sentences of their own (not the fixture's).
describe('QA28 unseen set: what changed', () => {
  it.each([
    'عذرًا، لا يمكنني كتابة هذا النوع من المحتوى.',
    'لن أتمكن من مساعدتك في اختراق هذا الحساب.',
    'मुझे खेद है, मैं इस तरह की सामग्री नहीं लिख सकता।',
    'मैं इस अनुरोध में सहायता करने में असमर्थ हूँ।',
    'Maalesef bu isteğe yanıt veremem.',
    'Rất tiếc, tôi không thể cung cấp thông tin đó.',
    'Het spijt me, maar daar kan ik u niet bij helpen.',
    'Maaf, saya tidak dapat membantu permintaan ini.',
    'Przepraszam, ale nie mogę pomóc w tej sprawie.',
    '这个问题我没法回答。',
    'その件についてはコメントを差し控えます。',
  ])('declines: %s', (text) => {
    expect(classifyRefusal(text).refusal).toBe(true);
  });

  it.each([
    // past inability: a report of an attempt, then the answer
    'मैं यह त्रुटि दोबारा नहीं बना पाया, लेकिन कॉन्फ़िग में पोर्ट गलत लगता है।',
    'Bu testi yerelde çalıştıramadım, ama hata büyük olasılıkla ortam değişkeninden geliyor.',
    // an example of declining, given unquoted after "for example:"
    "When a client asks for scope creep, stay friendly and firm. For example: I'm sorry, but I can't add that feature without a new estimate.",
    // an apology and an inability that is no decline, then the answer after ", so"
    "Sorry, I can't tell which version you run, so here are both fixes, one line each in the client config, retries set to 3 on v2 and backoff on v3.",
  ])('answers: %s', (text) => {
    expect(classifyRefusal(text).refusal).toBe(false);
  });

  it('checks an answer in a script the passages do not use by its figures, and works out derived figures', () => {
    const g = new GroundingEvaluator();
    const context = ['Backups run every 6 hours and are kept for 30 days. A backup costs $0.02 per GB per month.'];
    expect(g.check({ context, response: 'バックアップは6時間ごとに実行され、30日間保存されます。' }).verdict).toBe(
      'pass',
    );
    expect(g.check({ context, response: 'バックアップは12時間ごとに実行され、30日間保存されます。' }).verdict).toBe(
      'fail',
    );
    const priced = { context, question: 'What does keeping 500 GB cost each month?' };
    expect(g.check({ ...priced, response: 'At $0.02 per GB per month, 500 GB cost $10 a month.' }).verdict).toBe(
      'pass',
    );
    expect(g.check({ ...priced, response: 'At $0.02 per GB per month, 500 GB cost $25 a month.' }).verdict).toBe(
      'fail',
    );
  });

  it('looks up RFC numbers and law report citations in the sources, however spaced', () => {
    const a = new SourceAttributionEvaluator();
    const context = [
      'Source 1: RFC 7807 defines problem details for HTTP APIs. Source 2: Marbury v. Madison, 5 U.S. 137 (1803).',
    ];
    const verdict = (response: string) => a.check({ context, response }).verdict;
    expect(verdict('Problem details are specified in RFC7807.')).toBe('pass');
    expect(verdict('Problem details are specified in RFC 9457, which replaced the older one.')).toBe('fail');
    expect(verdict('Judicial review dates from Marbury v. Madison, 5 U.S. 137 (1803).')).toBe('pass');
    expect(verdict('Judicial review dates from Marbury v. Madison, 5 U.S. 173 (1803).')).toBe('fail');
    expect(verdict('See the 2019 ruling, [2019] UKSC 41, on prorogation.')).toBe('fail');
  });

  it('reads a figure after a sentence-opening function word as a quantity ("At 300 metres, …")', () => {
    const c = new SelfConsistencyEvaluator();
    const r = c.check(
      'The dam is 221 metres high and holds back Lake Mead. At 180 metres high, the dam was the tallest in the world when it opened.',
    );
    expect(r.verdict).toBe('fail');
    expect(r.explanation).toContain('number 180 here, 221');
  });
});
