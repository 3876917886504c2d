import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAllSets } from '../datasets.js';
import { GroundingEvaluator } from '../evaluators/grounding.js';
import { fitStumps } from './ablation.js';
import { CALIBRATION_RULES, cvLogits, fitIsotonic, isotonicAt, logitAtFpr, losoLogits } from './calibration.js';
import { FEATURE_NAMES, FEATURE_SIGNS } from './features.js';
import { fitLogistic, fitPlatt, logitOf } from './logistic.js';
import { predict, shippedModel, validateModel } from './scorer.js';

const SHIPPED_MODEL = shippedModel();

import { DEFAULT_SEED, featurise, groupedFolds, trainModel } from './train.js';

const KNOWLEDGE =
  'The Eiffel Tower was completed in 1889 for the World’s Fair in Paris. It is 330 metres tall. Gustave Eiffel’s company designed and built the tower.';

describe('learned grounding scorer', () => {
  const g = new GroundingEvaluator();

  it('loads the shipped model file, whose features match this build', () => {
    const file = JSON.parse(readFileSync(new URL('./grounding-model.json', import.meta.url), 'utf8'));
    expect(SHIPPED_MODEL.features).toEqual([...FEATURE_NAMES]);
    expect(validateModel(file).weights).toEqual(SHIPPED_MODEL.weights);
    // Missing content words and novel trigrams must push towards "hallucinated".
    const w = (f: string) =>
      SHIPPED_MODEL.weights[FEATURE_NAMES.indexOf(f as (typeof FEATURE_NAMES)[number])] as number;
    expect(w('uncovered') + w('plain_missing')).toBeGreaterThan(0);
    expect(w('novel_trigrams')).toBeGreaterThan(0);
  });

  it('keeps every weight on the side its feature allows (monotonic constraints)', () => {
    for (const [i, f] of FEATURE_NAMES.entries())
      expect((SHIPPED_MODEL.weights[i] as number) * FEATURE_SIGNS[f]).toBeGreaterThanOrEqual(0);
    // The scorer's own inputs: an answer with more of its words missing never scores lower.
    const base = new Array(FEATURE_NAMES.length).fill(0.2);
    for (const [i, f] of FEATURE_NAMES.entries()) {
      const up = [...base];
      up[i] = 0.9;
      const d = predict(SHIPPED_MODEL, up) - predict(SHIPPED_MODEL, base);
      expect(d * FEATURE_SIGNS[f]).toBeGreaterThanOrEqual(0);
    }
  });

  it('rejects a model file of the wrong shape with a clear message', () => {
    expect(() => validateModel({ ...SHIPPED_MODEL, weights: [1, 2] })).toThrow(/mean, scale, weights need/);
    expect(() => validateModel({ ...SHIPPED_MODEL, features: ['x'] })).toThrow(/retrain with npm run train:quality/);
    expect(() => validateModel({ version: 2 })).toThrow(/version 1/);
  });

  it('scores a faithful answer low and an invented one high, as calibrated probabilities', () => {
    const ok = g.check({
      context: [KNOWLEDGE],
      response: 'The Eiffel Tower was completed in 1889. It is 330 metres tall.',
    });
    const bad = g.check({
      context: [KNOWLEDGE],
      response: 'The tower was painted gold by Napoleon Bonaparte to celebrate his coronation in Rome.',
    });
    const wrongNumber = g.check({
      context: [KNOWLEDGE],
      response: 'The Eiffel Tower was completed in 1901 for the World’s Fair in Paris.',
    });
    expect(ok.verdict).toBe('pass');
    expect(ok.score).toBeLessThan(0.2);
    expect(bad.verdict).toBe('fail');
    expect(bad.score).toBeGreaterThan(0.8);
    expect(wrongNumber.claims?.[0]?.status).toBe('contradicted');
    // A contradicted number is a rare, precise rule: its floor from the dev sets keeps it a fail.
    const floor = SHIPPED_MODEL.floors.find((f) => f.feature === 'numbers_contradicted')?.min ?? 1;
    expect(wrongNumber.score).toBeGreaterThanOrEqual(Math.min(floor, 0.9));
    expect(wrongNumber.verdict).toBe('fail');
    // Numbers inside hyphenated names count too.
    const cipher = g.check({
      context: ['All data is encrypted at rest with AES-256 and in transit with TLS 1.3. Keys rotate every 90 days.'],
      response: 'All data is encrypted at rest with AES-128.',
    });
    expect(cipher.claims?.[0]?.status).toBe('contradicted');
    expect(cipher.verdict).toBe('fail');
  });

  it('does not check offers and pleasantries, but does check questions that bring in facts', () => {
    const context = [
      'Our premium plan costs $49 per month and includes 10 seats, priority support and a 99.9% uptime SLA. Annual billing saves 20%.',
    ];
    const faithful = 'The premium plan costs $49 per month and includes 10 seats and priority support.';
    const plain = g.check({ context, response: faithful });
    for (const tail of [
      'Would you like me to help you upgrade?',
      'Anything else?',
      'Hope this helps!',
      'Let me know.',
    ]) {
      const r = g.check({ context, response: `${faithful} ${tail}` });
      expect(r.score, tail).toBe(plain.score);
      expect(r.claims).toHaveLength(1);
    }
    expect(g.check({ context, response: 'Anything else I can help with?' }).verdict).toBe('unknown');
    // A question that brings in what the context never says is a claim, and fails.
    const r = g.check({
      context,
      response: 'The premium plan costs $49 per month. Do you want unlimited seats and free onboarding too?',
    });
    expect(r.verdict).toBe('fail');
    expect(r.claims?.[1]?.reasons).toContain(
      'a question in words the evidence does not use (it brings in something the evidence does not say)',
    );
    // An offer that names a figure is checked.
    expect(g.check({ context, response: `${faithful} Would you like the $99 plan instead?` }).claims).toHaveLength(2);
  });

  it('is deterministic and names the worst claim and its evidence', () => {
    const input = {
      context: [KNOWLEDGE],
      response: 'The Eiffel Tower is 330 metres tall. The Eiffel Tower was moved to London by Queen Victoria in 1901.',
    };
    const a = g.check(input);
    const b = g.check(input);
    expect({ ...a, durationMs: 0 }).toEqual({ ...b, durationMs: 0 });
    expect(a.verdict).toBe('fail');
    expect(a.explanation).toMatch(/worst claim: sentence 2 of 2/);
    expect(a.claims?.[1]?.score).toBeGreaterThan(a.claims?.[0]?.score as number);
    expect(a.evidence[0]?.id).toMatch(/^context#/);
  });

  it('keeps the old lexical score with model: null', () => {
    const lexical = new GroundingEvaluator({ model: null });
    const r = lexical.check({ context: [KNOWLEDGE], response: 'The Eiffel Tower was completed in 1889.' });
    expect(r.verdict).toBe('pass');
  });
});

describe('logistic regression and Platt scaling', () => {
  it('separates a separable feature and calibrates to the base rate', () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({ x: [i % 2, (i * 7) % 13], y: (i % 2) as 0 | 1, w: 1 }));
    const fit = fitLogistic(rows, 1);
    expect(logitOf(fit, [1, 3])).toBeGreaterThan(2);
    expect(logitOf(fit, [0, 3])).toBeLessThan(-2);
    // A logit that carries no information calibrates to the base rate (here 25%).
    const p = fitPlatt(Array.from({ length: 400 }, (_, i) => ({ z: i % 5, y: (i % 4 === 0 ? 1 : 0) as 0 | 1, w: 1 })));
    expect(1 / (1 + Math.exp(-(p.a * 2 + p.b)))).toBeCloseTo(0.25, 2);
  });

  it('holds a constrained weight at zero when the data would give it the wrong sign', () => {
    // y follows feature 0; feature 1 = feature 0 minus noise (a near-copy), so a free fit splits them ±.
    const rows = Array.from({ length: 400 }, (_, i) => {
      const a = (i * 37) % 100;
      const y = (a + ((i * 13) % 30) > 64 ? 1 : 0) as 0 | 1;
      return { x: [a, a - ((i * 13) % 30)], y, w: 1 };
    });
    const free = fitLogistic(rows, 0.01);
    expect((free.weights[1] as number) < 0 || (free.weights[0] as number) < 0).toBe(true);
    const mono = fitLogistic(rows, 0.01, [1, 1]);
    expect(mono.weights.every((w) => w >= 0)).toBe(true);
    expect(mono.weights.some((w) => w > 0)).toBe(true);
  });

  it('boosts stumps that find a threshold a linear score cannot', () => {
    // Positive only in the middle band of feature 0: no monotone score separates it, stumps do.
    const rows = Array.from({ length: 300 }, (_, i) => {
      const a = (i * 37) % 100;
      return { x: [a, (i * 11) % 7], y: (a >= 30 && a < 70 ? 1 : 0) as 0 | 1, w: 1 };
    });
    const f = fitStumps(rows, 60, 0.3);
    expect(f([50, 0])).toBeGreaterThan(1);
    expect(f([10, 0])).toBeLessThan(-1);
    expect(f([90, 0])).toBeLessThan(-1);
  });

  it('deals groups to folds whole', () => {
    const items = Array.from({ length: 50 }, (_, i) => ({ group: `g${i % 10}` }));
    const folds = groupedFolds(items, 5, 1);
    for (let i = 0; i < 50; i++) expect(folds[i]).toBe(folds[i % 10]);
    expect(new Set(folds).size).toBe(5);
    expect(groupedFolds(items, 5, 1)).toEqual(folds);
  });
});

const datasets = resolve(import.meta.dirname, '..', '..', '..', '..', 'shared', 'datasets');

describe.skipIf(!existsSync(datasets))('training on the labelled sets', () => {
  it('reproduces the committed model file byte for byte for its seed', () => {
    const seed = (SHIPPED_MODEL.trained?.seed as number) ?? DEFAULT_SEED;
    const m = trainModel(featurise(loadAllSets(datasets)), seed);
    // What `npm run train:quality` writes, compared as text: weights, calibration, the chosen L2, everything.
    expect(`${JSON.stringify(m, null, 2)}\n`).toBe(
      readFileSync(new URL('./grounding-model.json', import.meta.url), 'utf8'),
    );
    expect(predict(m, new Array(FEATURE_NAMES.length).fill(0.5))).toBe(
      predict(SHIPPED_MODEL, new Array(FEATURE_NAMES.length).fill(0.5)),
    );
    // Another seed orders the folds differently: same regression (trained on everything), other calibration data.
    expect(JSON.stringify(trainModel(featurise(loadAllSets(datasets)), seed + 1))).not.toBe(JSON.stringify(m));
  });
});

describe('nothing to check against', () => {
  const g = new GroundingEvaluator({ minContextWords: 20 });
  it('says unknown (not fail) when the context is a diff or code, however long', () => {
    const diff = [
      '- for (let i = 0; i <= items.length; i++) { total += items[i].price * items[i].quantity; }',
      '+ for (let i = 0; i < items.length; i++) { total += items[i].price * items[i].quantity; }',
      '+ const timeout = config.http.timeoutMs ?? 30000;',
      '+ await fetch(url, { signal: AbortSignal.timeout(timeout), headers: { authorization: token } });',
      '+ if (!response.ok) throw new HttpError(response.status, await response.text());',
    ].join('\n');
    const r = g.check({
      context: ['Review this diff.', diff],
      response: 'Good catch: the old loop read one element past the end.',
    });
    expect(r.verdict).toBe('unknown');
    expect(r.explanation).toMatch(/too little knowledge/);
  });
  it('says unknown for a bare question, and checks a prose passage of the same length', () => {
    expect(
      g.check({ context: ['What should I cook tonight?'], response: 'Try a mushroom risotto with parmesan.' }).verdict,
    ).toBe('unknown');
    const r = g.check({
      context: [KNOWLEDGE, 'Visitors climb the stairs or take lifts to three public levels with restaurants.'],
      response: 'The tower was painted gold by Napoleon.',
    });
    expect(r.verdict).toBe('fail');
  });
});

describe('evaluations without quotes (content capture off)', () => {
  it('keeps statuses, scores, ids and counts, and no text of the answer or the evidence', async () => {
    const { withoutQuotes } = await import('../evaluators/redact.js');
    const g = new GroundingEvaluator();
    const r = g.check({
      context: [KNOWLEDGE],
      response: 'The Eiffel Tower is 330 metres tall. The Eiffel Tower was completed in 1901.',
    });
    const q = withoutQuotes(r);
    expect(q).toMatchObject({ evaluator: 'grounding', verdict: r.verdict, score: r.score });
    expect(q.claims?.map((c) => c.text)).toEqual(['claim#1', 'claim#2']);
    expect(q.claims?.map((c) => c.status)).toEqual(r.claims?.map((c) => c.status));
    expect(q.claims?.[1]?.evidence[0]).toEqual({
      source: 'context',
      id: 'context#0',
      text: '',
      score: expect.any(Number),
    });
    expect(q.explanation).toMatch(
      /2 claim\(s\), 1 not supported \(1 contradicted\); worst claim#2 score [\d.]+, evidence context#0/,
    );
    // Without the duration: a time such as 0.3221889 ms would hold "1889" by chance.
    const all = JSON.stringify({ ...q, durationMs: 0 });
    for (const quote of ['Eiffel', 'metres', '1901', '1889', 'tall']) expect(all).not.toContain(quote);
  });
});

describe('calibration rules (src/quality/model/calibration.ts)', () => {
  it('fits isotonic regression by pooling adjacent violators, weights counted', () => {
    const iso = fitIsotonic([
      { z: 1, y: 0, w: 1 },
      { z: 2, y: 1, w: 1 },
      { z: 3, y: 0, w: 3 },
      { z: 4, y: 1, w: 1 },
    ]);
    // 2 and 3 violate the order and pool: (1·1 + 3·0) / 4.
    expect(iso).toEqual({ z: [1, 3, 4], p: [0, 0.25, 1] });
    expect([0, 1, 1.5, 3, 3.5, 9].map((z) => isotonicAt(iso, z))).toEqual([0, 0, 0.25, 0.25, 1, 1]);
  });

  it('puts the threshold of an FPR budget where each set counts the same, ties flagged together', () => {
    // Set A: 10 faithful answers (weight 1/10 each) with logits 0..9; set B: 100 (weight 1/100) with logits 0..0.99.
    const a = Array.from({ length: 10 }, (_, i) => ({ z: i, y: 0 as const, w: 0.1 }));
    const b = Array.from({ length: 100 }, (_, i) => ({ z: i / 100, y: 0 as const, w: 0.01 }));
    const t = logitAtFpr([...a, ...b, { z: 50, y: 1, w: 1 }], 0.05);
    const flagged = [...a, ...b].filter((o) => o.z >= t).reduce((s, o) => s + o.w, 0) / 2;
    expect(flagged).toBeLessThanOrEqual(0.05 + 1e-12);
    // Each set weighs 1 of 2 in all: A's top answer alone is 0.05 of it, the budget; B's answers sit below A's 1..9.
    expect(a.filter((o) => o.z >= t).map((o) => o.z)).toEqual([9]);
    expect(b.filter((o) => o.z >= t)).toEqual([]);
    expect(
      logitAtFpr(
        [
          { z: 1, y: 0, w: 1 },
          { z: 1, y: 0, w: 1 },
        ],
        0.4,
      ),
    ).toBeGreaterThan(1);
  });

  it.skipIf(!existsSync(datasets))(
    'lists the shipped calibration first, and fits each rule on training items alone',
    () => {
      expect(CALIBRATION_RULES[0]?.name).toMatch(/^shipped/);
      const sets = loadAllSets(datasets);
      const items = featurise(sets).filter((it) => it.set !== 'halueval-qa');
      const m = trainModel(items, DEFAULT_SEED, 1);
      const oof = { cv: cvLogits(items, 1, DEFAULT_SEED), loso: losoLogits(items, 1) };
      // The shipped rule is the model's own calibration.
      const shipped = (CALIBRATION_RULES[0] as (typeof CALIBRATION_RULES)[number]).fit(m, oof);
      for (const it of items.slice(0, 50)) expect(shipped(it)).toBeCloseTo(it.x ? predict(m, it.x) : 0, 12);
      // cvLogits are the out-of-fold logits trainModel calibrates on: Platt on them gives the model's a and b.
      const c = fitPlatt(oof.cv);
      expect(c.a).toBeCloseTo(m.calibration.a, 6);
      expect(c.b).toBeCloseTo(m.calibration.b, 6);
      expect(new Set(oof.loso.map((o) => o.item.set)).size).toBe(3);
    },
  );
});
