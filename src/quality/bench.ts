// The quality benchmark (`npm run bench:quality`): the learned grounding scorer against the plain baseline (share of
// the answer's content words never in the knowledge) on BEGIN dev (wow, cmu-dog, topicalchat) and HaluEval QA. Every
// figure is out-of-fold: 5-fold cross-validation grouped by knowledge passage (the same passage never in train and
// test), plus a leave-one-set-out row (trained on the other sets only). Gains carry paired bootstrap 95% intervals
// resampling groups. Writes the "## Quality" section of bench/RESULTS.md (other sections are left as they are).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { baselineScore } from './baseline.js';
import { type LabelledSet, loadAllSets } from './datasets.js';
import { SelfConsistencyEvaluator } from './evaluators/consistency.js';
import { DEFAULT_GROUNDING_THRESHOLD, GroundingEvaluator } from './evaluators/grounding.js';
import type { ClaimResult } from './evaluators/types.js';
import { VARIANTS, variantScores } from './model/ablation.js';
import { CALIBRATION_RULES, cvLogits, losoLogits } from './model/calibration.js';
import { shippedModel } from './model/scorer.js';
import {
  crossValidate,
  DEFAULT_SEED,
  type FeaturedItem,
  FOLDS,
  featurise,
  L2_GRID,
  leaveOneSetOut,
  trainModel,
} from './model/train.js';
import { balancedAccuracy, rocAuc } from './stats.js';
import { numberMentions, sentences } from './text.js';

export const DEFAULT_THRESHOLD = DEFAULT_GROUNDING_THRESHOLD;

type Labelled = { score: number; label: boolean };
export type Interval = { low: number; high: number };

/**
 * Paired bootstrap of two scores' ROC-AUCs and their difference: resample groups (knowledge passages) with
 * replacement, the same resample for both scores, so items sharing a passage move together. Without groups each item
 * is its own group. Percentile 95% intervals.
 */
export function bootstrapAuc(
  ours: readonly Labelled[],
  base: readonly Labelled[],
  rounds = 1000,
  seed = 42,
  groups?: readonly string[],
): { ours: Interval; base: Interval; delta: Interval } {
  let x = seed >>> 0;
  const rand = () => {
    x = (x + 0x6d2b79f5) >>> 0;
    let t = x;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const members = new Map<string, number[]>();
  ours.forEach((_, i) => {
    const g = groups?.[i] ?? String(i);
    const m = members.get(g);
    if (m) m.push(i);
    else members.set(g, [i]);
  });
  const clusters = [...members.values()];
  const da: number[] = [];
  const db: number[] = [];
  const deltas: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a: Labelled[] = [];
    const b: Labelled[] = [];
    for (let i = 0; i < clusters.length; i++)
      for (const k of clusters[Math.floor(rand() * clusters.length)] as number[]) {
        a.push(ours[k] as Labelled);
        b.push(base[k] as Labelled);
      }
    const ra = rocAuc(a);
    const rb = rocAuc(b);
    if (Number.isFinite(ra - rb)) {
      da.push(ra);
      db.push(rb);
      deltas.push(ra - rb);
    }
  }
  const pct = (v: number[]): Interval => {
    v.sort((p, q) => p - q);
    return {
      low: v[Math.floor(v.length * 0.025)] ?? Number.NaN,
      high: v[Math.min(v.length - 1, Math.floor(v.length * 0.975))] ?? Number.NaN,
    };
  };
  return { ours: pct(da), base: pct(db), delta: pct(deltas) };
}

/** The 95% interval of the AUC difference alone (see bootstrapAuc). */
export function bootstrapAucDelta(
  ours: readonly Labelled[],
  base: readonly Labelled[],
  rounds = 1000,
  seed = 42,
  groups?: readonly string[],
): Interval {
  return bootstrapAuc(ours, base, rounds, seed, groups).delta;
}

/**
 * Expected calibration error: items in 10 equal-width bins of predicted probability, the mean |predicted − observed
 * rate| weighted by bin size. Near 0 when "0.7" means 70% hallucinated on this set.
 */
export function expectedCalibrationError(items: readonly Labelled[]): number {
  const n = new Array<number>(10).fill(0);
  const p = new Array<number>(10).fill(0);
  const y = new Array<number>(10).fill(0);
  for (const it of items) {
    const b = Math.min(9, Math.floor(it.score * 10));
    n[b] = (n[b] as number) + 1;
    p[b] = (p[b] as number) + it.score;
    y[b] = (y[b] as number) + (it.label ? 1 : 0);
  }
  let e = 0;
  for (let b = 0; b < 10; b++) if (n[b]) e += Math.abs((p[b] as number) - (y[b] as number));
  return items.length ? e / items.length : 0;
}

function bestBacc(items: { score: number; label: boolean }[]): number {
  let best = 0;
  for (let t = 0; t <= 1.0001; t += 0.025) best = Math.max(best, balancedAccuracy(items, t));
  return best;
}

export interface Scored {
  auc: number;
  /** 95% interval of the AUC. */
  aucCi: Interval;
  /** The baseline's AUC interval from the same resamples. */
  baseCi: Interval;
  /** Gain over the baseline's AUC with its 95% interval. */
  delta: number;
  ci: Interval;
  /** Expected calibration error of the probability (10 bins). */
  ece: number;
  /** At the shipped threshold (calibrated probability 0.5). */
  bacc: number;
  tpr: number;
  fpr: number;
}

/** Self-consistency on the dev sets' knowledge passages: false flags on faithful text, catches of a changed figure. */
export interface ConsistencyReport {
  /** Passages of two or more sentences stating two or more distinct figures, checked as faithful answers. */
  faithful: number;
  /** Flagged as contradicting themselves with no sources given, and with the passage given as the context. */
  flaggedAlone: number;
  flaggedWithSources: number;
  /** The same passages with one sentence repeated and its first figure changed: a real contradiction. */
  altered: number;
  caughtAlone: number;
  caughtWithSources: number;
}

/**
 * Runs a self-consistency check over the distinct knowledge passages of these sets. A passage is true and
 * self-consistent by construction, so every flag on it is false; a passage followed by one of its own sentences with
 * a figure changed ("… 330 metres tall." → "… 660 metres tall.", on a line of its own) contradicts itself, and a flag there
 * is right.
 */
export function consistencyReport(
  sets: readonly LabelledSet[],
  check: (response: string, context?: string[]) => { verdict: string },
): ConsistencyReport {
  const r: ConsistencyReport = {
    faithful: 0,
    flaggedAlone: 0,
    flaggedWithSources: 0,
    altered: 0,
    caughtAlone: 0,
    caughtWithSources: 0,
  };
  const seen = new Set<string>();
  for (const set of sets)
    for (const it of set.items) {
      const p = it.knowledge;
      if (seen.has(p)) continue;
      seen.add(p);
      const sents = sentences(p);
      if (sents.length < 2) continue;
      const figures = new Set(
        numberMentions(p)
          .filter((n) => n.digits || n.value > 10)
          .map((n) => n.value),
      );
      if (figures.size < 2) continue;
      r.faithful++;
      if (check(p).verdict === 'fail') r.flaggedAlone++;
      if (check(p, [p]).verdict === 'fail') r.flaggedWithSources++;
      for (const sent of sents) {
        const m = /(?<![\p{L}\d.,-])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\p{L}\d-])/u.exec(sent.text);
        if (!m) continue;
        const v = Number(m[0].replace(/,/g, ''));
        // A year moves by three, a small count (or a day of the month) by one, anything else doubles.
        const changed = !Number.isInteger(v) || v > 2100 ? v * 2 : v >= 1000 ? v + 3 : v <= 30 ? v + 1 : v * 2;
        const response = `${p}\n${sent.text.slice(0, m.index)}${changed}${sent.text.slice(m.index + m[0].length)}`;
        r.altered++;
        if (check(response).verdict === 'fail') r.caughtAlone++;
        if (check(response, [p]).verdict === 'fail') r.caughtWithSources++;
        break;
      }
    }
  return r;
}

export interface SetReport {
  name: string;
  items: number;
  hallucinated: number;
  groups: number;
  baselineAuc: number;
  baselineBestBacc: number;
  /** The old hand-weighted lexical check, for reference. */
  lexicalAuc: number;
  cv: Scored;
  lodo: Scored;
  msPerSentence: number;
  /** The old hand-weighted check, timed the same way in the same run. */
  lexicalMsPerSentence: number;
  sentences: number;
}

function rates(items: readonly { score: number; label: boolean }[], t: number): { tpr: number; fpr: number } {
  let tp = 0;
  let p = 0;
  let fp = 0;
  let n = 0;
  for (const it of items)
    if (it.label) {
      p++;
      if (it.score >= t) tp++;
    } else {
      n++;
      if (it.score >= t) fp++;
    }
  return { tpr: p ? tp / p : 0, fpr: n ? fp / n : 0 };
}

function scored(
  ours: { score: number; label: boolean }[],
  base: { score: number; label: boolean }[],
  groups: string[],
  threshold: number,
): Scored {
  const auc = rocAuc(ours);
  const b = bootstrapAuc(ours, base, 1000, 42, groups);
  return {
    auc,
    aucCi: b.ours,
    baseCi: b.base,
    delta: auc - rocAuc(base),
    ci: b.delta,
    ece: expectedCalibrationError(ours),
    bacc: balancedAccuracy(ours, threshold),
    ...rates(ours, threshold),
  };
}

/**
 * Time of the runtime scorer (shipped model) and of the old hand-weighted check per answer sentence, in CPU time of
 * this process (user + system; the machine is shared, so wall time would count other work): passes alternate between
 * the two so both see the same load, and each keeps its fastest of five, after a warm-up.
 */
function timeSet(
  set: LabelledSet,
  model: GroundingEvaluator,
  old: GroundingEvaluator,
): { ms: number; oldMs: number; sentences: number } {
  const inputs = set.items.map((it) => ({ context: [it.knowledge], question: it.question, response: it.response }));
  const n = set.items.reduce((k, it) => k + Math.max(1, sentences(it.response).length), 0);
  for (const inp of inputs.slice(0, 200)) {
    model.check(inp);
    old.check(inp);
  }
  // Each pass runs the set enough times to last about 200 ms of CPU, so a small set is not timed at the clock's grain.
  const t0 = process.cpuUsage();
  for (const inp of inputs) model.check(inp);
  const t1 = process.cpuUsage(t0);
  const reps = Math.max(1, Math.min(50, Math.ceil(200 / Math.max(1, (t1.user + t1.system) / 1000))));
  const pass = (g: GroundingEvaluator): number => {
    const c0 = process.cpuUsage();
    for (let r = 0; r < reps; r++) for (const inp of inputs) g.check(inp);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / reps;
  };
  let best = Number.POSITIVE_INFINITY;
  let bestOld = Number.POSITIVE_INFINITY;
  for (let p = 0; p < 5; p++) {
    best = Math.min(best, pass(model));
    bestOld = Math.min(bestOld, pass(old));
  }
  return { ms: best / n, oldMs: bestOld / n, sentences: n };
}

export function benchSets(
  sets: readonly LabelledSet[],
  seed = DEFAULT_SEED,
  items: readonly FeaturedItem[] = featurise(sets),
): SetReport[] {
  const cv = crossValidate(items, seed);
  const lodo = leaveOneSetOut(items, seed);
  const lexical = new GroundingEvaluator({ model: null });
  return sets.map((set) => {
    const idx = items.map((it, i) => (it.set === set.name ? i : -1)).filter((i) => i >= 0);
    const its = idx.map((i) => items[i] as FeaturedItem);
    const label = (i: number) => (items[i] as FeaturedItem).label === 1;
    const base = its.map((it) => ({
      score: baselineScore(it.item.response, it.item.knowledge),
      label: it.label === 1,
    }));
    const groups = its.map((it) => it.group);
    const lex = its.map((it) => ({
      score: lexical.check({ context: [it.item.knowledge], question: it.item.question, response: it.item.response })
        .score,
      label: it.label === 1,
    }));
    const t = timeSet(set, new GroundingEvaluator(), lexical);
    return {
      name: set.name,
      items: its.length,
      hallucinated: its.filter((it) => it.label === 1).length,
      groups: new Set(groups).size,
      baselineAuc: rocAuc(base),
      baselineBestBacc: bestBacc(base),
      lexicalAuc: rocAuc(lex),
      cv: scored(
        idx.map((i) => ({ score: cv[i] as number, label: label(i) })),
        base,
        groups,
        DEFAULT_THRESHOLD,
      ),
      lodo: scored(
        idx.map((i) => ({ score: lodo[i] as number, label: label(i) })),
        base,
        groups,
        DEFAULT_THRESHOLD,
      ),
      msPerSentence: t.ms,
      lexicalMsPerSentence: t.oldMs,
      sentences: t.sentences,
    };
  });
}

export interface UnlikeCase {
  name: string;
  context: string[];
  question?: string;
  response: string;
  /** What a sane check says: the verdict, and for a failure which status its worst claim must have. */
  expect: 'pass' | 'fail' | 'unknown';
}

export interface UnlikeRow {
  name: string;
  expect: UnlikeCase['expect'];
  verdict: string;
  score: number;
  claims: number;
  ms: number;
  /** Online (`evaluate`): the most CPU the check used between two turns of the event loop, in ms. */
  longestStepMs: number;
  /** The reason of its worst flagged claim (or the explanation for `unknown`), clipped. */
  why: string;
}

const TOWER =
  'The Eiffel Tower is 330 metres tall and was completed in 1889. It weighs 10,100 tonnes. A ticket costs €26.80.';

/**
 * Inputs unlike the dev sets (which are short English prose): figures written other ways, other languages and
 * scripts, markdown lists and tables, code, empty and very long knowledge. Each with the verdict a sane check gives;
 * the benchmark prints what the shipped scorer says and how long it takes (src/quality/evaluators tests hold the same
 * behaviour).
 */
export function unlikeCases(): UnlikeCase[] {
  const inventory = Array.from(
    { length: 20_000 },
    (_, i) => `Item ${i} is kept in warehouse ${i % 97} and costs ${i * 3} dollars.`,
  ).join(' ');
  const json = JSON.stringify(
    Array.from({ length: 16_000 }, (_, i) => ({ item: i, city: i === 2500 ? 'Lisbon' : 'Porto', dollars: i * 3 })),
  );
  const filler = 'alpha beta gamma delta river mountain city station bridge lake forest'.split(' ');
  const nostop = Array.from({ length: 200_000 }, (_, i) => filler[(i * 7) % filler.length]).join(' ');
  const ja = ['東京タワーは高さ333メートルで、1958年に完成しました。'];
  const zh = ['长城全长21196公里。它建于公元前7世纪。'];
  const ko = ['에펠탑의 높이는 330미터이며 1889년에 완공되었다.'];
  const de = ['Der Eiffelturm ist 330 Meter hoch und wurde 1889 fertiggestellt. Er wiegt 10.100 Tonnen.'];
  const ru = ['Эйфелева башня имеет высоту 330 метров и была построена в 1889 году.'];
  return [
    { name: 'figure with a unit glued on ("330m")', context: [TOWER], response: 'It is 330m tall.', expect: 'pass' },
    {
      name: 'figure in words and scale ("10.1 thousand tonnes")',
      context: [TOWER],
      response: 'It weighs about 10.1 thousand tonnes.',
      expect: 'pass',
    },
    {
      name: 'symbol written as a word ("26.80 euros")',
      context: [TOWER],
      response: 'A ticket costs 26.80 euros.',
      expect: 'pass',
    },
    {
      name: 'figure contradicted ("10,500 tonnes")',
      context: [TOWER],
      response: 'It weighs 10,500 tonnes.',
      expect: 'fail',
    },
    {
      name: 'numbered list, faithful',
      context: [TOWER],
      response: '1. It is 330 metres tall.\n2. It was completed in 1889.\n3. It weighs 10,100 tonnes.',
      expect: 'pass',
    },
    {
      name: 'markdown table with a wrong year',
      context: [TOWER],
      response: '| What | Figure |\n|---|---|\n| height | 330 metres |\n| completed | 1899 |',
      expect: 'fail',
    },
    { name: 'answer that is only code', context: [TOWER], response: '```python\nprint(330)\n```', expect: 'unknown' },
    {
      name: 'prose with a code block',
      context: ['The add function returns the sum of its two arguments.'],
      response: 'It returns the sum:\n```js\nfunction add(a, b) { return a + b; }\n```',
      expect: 'pass',
    },
    { name: 'empty knowledge', context: [''], response: 'It is 330 metres tall.', expect: 'unknown' },
    {
      name: 'JSON knowledge (camelCase keys)',
      context: ['{"towerName": "Eiffel Tower", "heightMetres": 330, "completedYear": 1889}'],
      response: 'The tower name is Eiffel Tower; its height is 330 metres.',
      expect: 'pass',
    },
    {
      name: 'German, faithful (10.100 = 10,100)',
      context: de,
      response: 'Er wiegt 10.100 Tonnen und ist 330 Meter hoch.',
      expect: 'pass',
    },
    {
      name: 'German, wrong height and city',
      context: de,
      response: 'Der Eiffelturm ist 450 Meter hoch und steht in Berlin.',
      expect: 'fail',
    },
    { name: 'Russian, faithful', context: ru, response: 'Эйфелева башня имеет высоту 330 метров.', expect: 'pass' },
    {
      name: 'Russian, wrong height and city',
      context: ru,
      response: 'Эйфелева башня имеет высоту 450 метров и находится в Берлине.',
      expect: 'fail',
    },
    { name: 'Japanese, faithful', context: ja, response: '東京タワーは高さ333メートルです。', expect: 'pass' },
    {
      name: 'Japanese, wrong height and city',
      context: ja,
      response: '東京タワーは高さ500メートルで、大阪にあります。',
      expect: 'fail',
    },
    { name: 'Chinese, faithful', context: zh, response: '长城全长21196公里。', expect: 'pass' },
    {
      name: 'Chinese, wrong length and country',
      context: zh,
      response: '长城全长5000公里，位于日本。',
      expect: 'fail',
    },
    {
      name: 'Korean, faithful (particles differ)',
      context: ko,
      response: '에펠탑의 높이는 330미터이다.',
      expect: 'pass',
    },
    { name: 'Korean, wrong height', context: ko, response: '에펠탑의 높이가 450미터이다.', expect: 'fail' },
    {
      name: '20,000-sentence knowledge (1.2 MB), faithful',
      context: [inventory, TOWER],
      response: 'The Eiffel Tower is 330 metres tall.',
      expect: 'pass',
    },
    {
      name: '20,000-sentence knowledge, a figure stated elsewhere (450)',
      context: [inventory, TOWER],
      response: 'The Eiffel Tower is 450 metres tall.',
      expect: 'fail',
    },
    {
      name: '1 MB minified JSON (no full stop), faithful',
      context: [json, TOWER],
      response: 'Item 2500 is in Lisbon and costs 7500 dollars.',
      expect: 'pass',
    },
    {
      name: '200,000 words without a full stop, a figure it never states',
      context: [`${nostop} the tower is 330 metres tall`],
      response: 'The tower is 450 metres tall.',
      expect: 'fail',
    },
    {
      name: '300-sentence answer',
      context: [TOWER],
      response: Array.from({ length: 300 }, () => 'The Eiffel Tower is 330 metres tall.').join(' '),
      expect: 'pass',
    },
  ];
}

/**
 * The most process CPU (ms) that `evaluate` uses between two turns of the event loop: how long the online check can
 * hold the gateway (a timer on setImmediate reads the CPU used since its last turn).
 */
export async function longestStep(g: GroundingEvaluator, c: UnlikeCase): Promise<number> {
  let max = 0;
  let last = process.cpuUsage();
  let stop = false;
  const tick = (): void => {
    const d = process.cpuUsage(last);
    max = Math.max(max, (d.user + d.system) / 1000);
    last = process.cpuUsage();
    if (!stop) setImmediate(tick);
  };
  setImmediate(tick);
  await g.evaluate(c);
  stop = true;
  // The last step, finished before the timer's next turn.
  const d = process.cpuUsage(last);
  return Math.max(max, (d.user + d.system) / 1000);
}

/** The shipped scorer on `unlikeCases` (fastest of three runs each; the longest online step, best of two). */
export async function unlikeReport(cases: readonly UnlikeCase[] = unlikeCases()): Promise<UnlikeRow[]> {
  const g = new GroundingEvaluator();
  const rows: UnlikeRow[] = [];
  for (const c of cases) {
    const longestStepMs = Math.min(await longestStep(g, c), await longestStep(g, c));
    let ms = Number.POSITIVE_INFINITY;
    let r = g.check(c);
    for (let k = 0; k < 3; k++) {
      const t = performance.now();
      r = g.check(c);
      ms = Math.min(ms, performance.now() - t);
    }
    // The worst flagged claim (the one that decides the verdict).
    const flagged = r.claims
      ?.filter((x) => x.status !== 'supported')
      .reduce<ClaimResult | undefined>((w, x) => (w && w.score >= x.score ? w : x), undefined);
    const why = r.verdict === 'unknown' ? r.explanation : (flagged?.reasons ?? []).join('; ') || 'all claims supported';
    rows.push({
      name: c.name,
      expect: c.expect,
      verdict: r.verdict,
      score: r.score,
      claims: r.claims?.length ?? 0,
      ms,
      longestStepMs,
      why: why.length > 90 ? `${why.slice(0, 89)}…` : why,
    });
  }
  return rows;
}

export interface AblationRow {
  name: string;
  /** Per set: out-of-fold AUC in pooled CV and held out (LOSO), and the LOSO gain over the shipped recipe. */
  sets: { name: string; cv: number; loso: number; delta: number; ci: Interval }[];
}

/**
 * Every VARIANTS row retrained and scored out-of-fold on the same folds; the LOSO difference from the shipped recipe
 * with a paired bootstrap interval over knowledge groups (`rounds` resamples). Logistic variants share `l2`.
 */
export function ablationReport(items: readonly FeaturedItem[], seed: number, l2: number, rounds = 500): AblationRow[] {
  const scores = VARIANTS.map((v) => variantScores(v, items, seed, l2));
  const shipped = scores[0] as { cv: number[]; loso: number[] };
  const names = [...new Set(items.map((it) => it.set))];
  return VARIANTS.map((v, k) => {
    const sc = scores[k] as { cv: number[]; loso: number[] };
    return {
      name: v.name,
      sets: names.map((name) => {
        const idx = items.map((it, i) => (it.set === name ? i : -1)).filter((i) => i >= 0);
        const pick = (a: number[]) => idx.map((i) => ({ score: a[i] as number, label: items[i]?.label === 1 }));
        const loso = pick(sc.loso);
        const ref = pick(shipped.loso);
        const groups = idx.map((i) => (items[i] as FeaturedItem).group);
        const lo = rocAuc(loso);
        return {
          name,
          cv: rocAuc(pick(sc.cv)),
          loso: lo,
          delta: lo - rocAuc(ref),
          ci: k === 0 ? { low: 0, high: 0 } : bootstrapAuc(loso, ref, rounds, 43, groups).delta,
        };
      }),
    };
  });
}

export interface CalibrationRow {
  name: string;
  monotone: boolean;
  /**
   * Per held-out set (trained and calibrated on the others): ROC-AUC, balanced accuracy, TPR and FPR when flagging
   * at 0.5, ECE; for a rule that changes the ranking, its AUC minus the shipped one's with a paired 95% interval.
   */
  sets: {
    name: string;
    auc: number;
    bacc: number;
    tpr: number;
    fpr: number;
    ece: number;
    aucDelta: number;
    aucCi: Interval;
  }[];
}

export interface CalibrationReport {
  rows: CalibrationRow[];
  /** Per held-out set, the threshold on the shipped probability that would suit it best (an oracle) and its bal. acc. */
  oracle: { name: string; threshold: number; bacc: number; tpr: number; fpr: number }[];
}

/**
 * Each CALIBRATION_RULES rule held out: for every set, the model trained on the other sets (as `leaveOneSetOut`),
 * the rule fitted on them alone, the set scored with it. The first rule is the shipped calibration.
 */
export function calibrationReport(
  items: readonly FeaturedItem[],
  seed = DEFAULT_SEED,
  rounds = 500,
): CalibrationReport {
  const names = [...new Set(items.map((it) => it.set))];
  const scores = CALIBRATION_RULES.map(() => new Array<number>(items.length).fill(0));
  for (const name of names) {
    const train = items.filter((it) => it.set !== name);
    const m = trainModel(train, seed);
    const l2 = m.trained?.l2 as number;
    const oof = { cv: cvLogits(train, l2, seed), loso: losoLogits(train, l2) };
    CALIBRATION_RULES.forEach((rule, k) => {
      const p = rule.fit(m, oof);
      items.forEach((it, i) => {
        if (it.set === name) (scores[k] as number[])[i] = p(it);
      });
    });
  }
  const pick = (a: readonly number[], idx: readonly number[]) =>
    idx.map((i) => ({ score: a[i] as number, label: items[i]?.label === 1 }));
  const rows = CALIBRATION_RULES.map((rule, k) => ({
    name: rule.name,
    monotone: rule.monotone,
    sets: names.map((name) => {
      const idx = items.map((it, i) => (it.set === name ? i : -1)).filter((i) => i >= 0);
      const ours = pick(scores[k] as number[], idx);
      const ref = pick(scores[0] as number[], idx);
      const auc = rocAuc(ours);
      const ranked = k > 0 && !rule.monotone;
      return {
        name,
        auc,
        bacc: balancedAccuracy(ours, 0.5),
        ...rates(ours, 0.5),
        ece: expectedCalibrationError(ours),
        aucDelta: auc - rocAuc(ref),
        aucCi: ranked
          ? bootstrapAuc(
              ours,
              ref,
              rounds,
              44,
              idx.map((i) => (items[i] as FeaturedItem).group),
            ).delta
          : { low: 0, high: 0 },
      };
    }),
  }));
  const oracle = names.map((name) => {
    const idx = items.map((it, i) => (it.set === name ? i : -1)).filter((i) => i >= 0);
    const ours = pick(scores[0] as number[], idx);
    let best = { threshold: 0.5, bacc: balancedAccuracy(ours, 0.5) };
    for (let t = 0.01; t < 0.995; t += 0.01) {
      const b = balancedAccuracy(ours, t);
      if (b > best.bacc + 1e-12) best = { threshold: t, bacc: b };
    }
    return { name, ...best, ...rates(ours, best.threshold) };
  });
  return { rows, oracle };
}

/**
 * Rules that would replace the shipped calibration: balanced accuracy at 0.5 at least the shipped one's on every
 * held-out set and higher on one, and ROC-AUC no lower on any.
 */
export function betterCalibrations(report: CalibrationReport): string[] {
  const shipped = report.rows[0];
  if (!shipped) return [];
  return report.rows.slice(1).flatMap((r) => {
    const ok = r.sets.every((x, j) => {
      const s = shipped.sets[j] as CalibrationRow['sets'][number];
      return x.bacc >= s.bacc - 1e-12 && x.auc >= s.auc - 1e-12;
    });
    const gain = r.sets.some((x, j) => x.bacc > (shipped.sets[j]?.bacc ?? 1) + 1e-12);
    return ok && gain ? [r.name] : [];
  });
}

const f3 = (x: number): string => x.toFixed(3);
const sign = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
const ci = (s: Scored): string => `${sign(s.delta)} [${sign(s.ci.low)}, ${sign(s.ci.high)}]`;

/** A figure against its target, with enough digits that a miss does not read as a hit ("0.98996, 0.00004 under"). */
export function againstTarget(x: number, target: number): string {
  if (x >= target) return f3(x);
  const digits = Math.max(3, Math.ceil(-Math.log10(target - x)));
  return `${x.toFixed(digits)}, ${(target - x).toFixed(digits)} under`;
}
const iv = (i: Interval): string => `[${f3(i.low)}, ${f3(i.high)}]`;
const sign3 = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
const civ = (d: number, i: Interval): string => `${sign3(d)} [${sign3(i.low)}, ${sign3(i.high)}]`;

export interface ReportMeta {
  node: string;
  date: string;
  threshold: number;
  machine: string;
  seed: number;
  /** The shipped model's L2 (chosen by grouped CV on all four sets). */
  l2: number;
}

export function renderReport(
  reports: readonly SetReport[],
  meta: ReportMeta,
  ablation: readonly AblationRow[] = [],
  consistency?: { before?: ConsistencyReport; after: ConsistencyReport },
  unlike: readonly UnlikeRow[] = [],
  calibration?: CalibrationReport,
): string {
  const lines = [
    '## Quality',
    '',
    "Learned grounding scorer (`src/quality/model/`: logistic regression over the grounding check's signals, weights",
    'held to the side each feature allows, L2 chosen by grouped cross-validation inside the training data, Platt-',
    "calibrated) vs the plain baseline (share of the answer's content words never in the knowledge), on",
    '`../shared/datasets`. Positive class = hallucinated ("Not fully attributable" in BEGIN, `hallucinated_answer` in',
    'HaluEval); BEGIN "Generic" rows left out. **Every model figure is out-of-fold**: "CV" = 5-fold cross-validation',
    'over the four sets pooled, grouped by knowledge passage (a passage and every answer about it sit in one fold),',
    'each fold trained, its L2 chosen (nested CV) and calibrated on the other four; "LOSO" = trained the same way on',
    'the other three sets only, tested on this one (the figure that says how it transfers). Every ROC-AUC and every',
    'gain carries a paired bootstrap 95% interval (1000 resamples of knowledge groups, the same resample for both',
    'scores). Balanced accuracy, TPR and FPR at the shipped threshold 0.5 on the calibrated probability (no per-set tuning); the',
    "baseline's 'best bal. acc.' is at its best threshold per set (an oracle, which flatters it). ECE = expected",
    'calibration error (10 bins): how far "p" is from the observed rate on that set. Time: CPU time per answer',
    "sentence (one thread, fastest of five passes, each running the set for about 200 ms of CPU), including indexing each item's knowledge; the old hand-weighted",
    'check timed the same way in the same run in brackets (passes alternate, so both see the same load).',
    `Reproduce: \`npm run bench:quality\` (seed ${meta.seed}, L2 grid ${L2_GRID.join('/')}, shipped model's L2 ${meta.l2}, ${FOLDS} folds). Machine: ${meta.machine}; Node ${meta.node}; ${meta.date}.`,
    '',
    '### Cross-validated, all four sets pooled',
    '',
    '| set | items (halluc.) / groups | baseline ROC-AUC [95% CI] | **model CV ROC-AUC** [95% CI] | Δ CV [95% CI] | bal. acc. @0.5 | TPR / FPR @0.5 | ECE | baseline best bal. acc. | ms / sentence (old check) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of reports)
    lines.push(
      `| ${r.name} | ${r.items} (${r.hallucinated}) / ${r.groups} | ${f3(r.baselineAuc)} ${iv(r.cv.baseCi)} | **${f3(r.cv.auc)}** ${iv(r.cv.aucCi)} | ${civ(r.cv.delta, r.cv.ci)} | ${f3(r.cv.bacc)} | ${f3(r.cv.tpr)} / ${f3(r.cv.fpr)} | ${f3(r.cv.ece)} | ${f3(r.baselineBestBacc)} | ${r.msPerSentence.toFixed(3)} (${r.lexicalMsPerSentence.toFixed(3)}) |`,
    );
  lines.push(
    '',
    '### Leave one dataset out (trained on the other three, tested on this one)',
    '',
    '| tested on | trained on | baseline ROC-AUC [95% CI] | **model ROC-AUC** [95% CI] | Δ [95% CI] | bal. acc. @0.5 | TPR / FPR @0.5 | ECE |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const r of reports)
    lines.push(
      `| ${r.name} | ${reports
        .filter((o) => o !== r)
        .map((o) => o.name)
        .join(
          ', ',
        )} | ${f3(r.baselineAuc)} ${iv(r.lodo.baseCi)} | **${f3(r.lodo.auc)}** ${iv(r.lodo.aucCi)} | ${civ(r.lodo.delta, r.lodo.ci)} | ${f3(r.lodo.bacc)} | ${f3(r.lodo.tpr)} / ${f3(r.lodo.fpr)} | ${f3(r.lodo.ece)} |`,
    );
  const sure = reports.filter((r) => r.cv.ci.low > 0).map((r) => r.name);
  const unsure = reports.filter((r) => r.cv.ci.low <= 0).map((r) => r.name);
  const losoLoses = reports.filter((r) => r.lodo.delta <= 0).map((r) => r.name);
  const losoUnsure = reports.filter((r) => r.lodo.delta > 0 && r.lodo.ci.low <= 0).map((r) => r.name);
  const begin = reports.filter((r) => r.name.startsWith('begin/'));
  const halu = reports.find((r) => r.name === 'halueval-qa');
  lines.push(
    '',
    `Targets: CV gain over the baseline with the interval above 0 on every set — ${unsure.length === 0 ? 'met' : `met on ${sure.join(', ') || 'none'}, **not met** on ${unsure.join(', ')}`}; held out (LOSO) — ${losoLoses.length + losoUnsure.length === 0 ? 'the interval is above 0 on every set too' : `within noise or below on ${[...losoLoses, ...losoUnsure].join(', ')}`}; ROC-AUC ≥ 0.95 on each BEGIN set — ${begin.every((r) => r.cv.auc >= 0.95) ? 'met' : `**not met** (${begin.map((r) => `${r.name} ${againstTarget(r.cv.auc, 0.95)}`).join(', ')})`}; ≥ 0.99 on HaluEval QA — ${halu && halu.cv.auc >= 0.99 ? 'met' : `**not met** (${halu ? againstTarget(halu.cv.auc, 0.99) : 'n/a'})`}; under 0.2 ms per sentence — ${
      reports.every((r) => r.msPerSentence < 0.2)
        ? 'met'
        : `**not met** on ${reports
            .filter((r) => r.msPerSentence >= 0.2)
            .map((r) => `${r.name} (${r.msPerSentence.toFixed(3)}; old check ${r.lexicalMsPerSentence.toFixed(3)})`)
            .join(', ')}, whose knowledge passages are long: indexing them is most of the time`
    }.`,
    '',
    `Where it loses: ${
      [
        losoLoses.length ? `trained without a set, it scores below the baseline on ${losoLoses.join(', ')}` : '',
        losoUnsure.length ? `leave-one-set-out gains are within noise on ${losoUnsure.join(', ')}` : '',
        unsure.length ? `cross-validated gains are within noise on ${unsure.join(', ')}` : '',
        ...begin
          .filter((r) => r.cv.auc < 0.95)
          .map((r) => `${r.name} stays under 0.95 ROC-AUC (${f3(r.cv.auc)} CV, ${f3(r.lodo.auc)} held out)`),
        ...reports
          .filter((r) => r.cv.bacc - r.lodo.bacc >= 0.03 || r.lodo.ece >= 0.1)
          .map(
            (r) =>
              `trained without ${r.name}, the 0.5 threshold fits it less well (balanced accuracy ${f3(r.lodo.bacc)} vs ${f3(r.cv.bacc)} in CV, ECE ${f3(r.lodo.ece)}): calibration transfers less well than ranking, and no recalibration fitted on the other sets fixes it without costing another set (the calibration table below)`,
          ),
      ]
        .filter(Boolean)
        .join('; ') || 'nowhere on these sets'
    }. These are four sets of two kinds (knowledge-grounded dialogue, extractive QA); held-out sets of other kinds (summaries, subtle errors by strong models) can be expected to score lower, and lexical signals cannot see a paraphrase that changes the meaning. All four are English: in other languages only shared words and figures are checked (the stemmer, negation, name and first-person rules are English ones), so a paraphrase or a flipped negation there passes.`,
    '',
  );
  if (calibration && calibration.rows.length > 0) {
    const names = calibration.rows[0]?.sets.map((x) => x.name) ?? [];
    const better = betterCalibrations(calibration);
    const shipped = calibration.rows[0] as CalibrationRow;
    lines.push(
      '### Calibration held out: does 0.5 mean the same on a set never seen?',
      '',
      "Each rule turns the scorer's logit into a probability and flags at 0.5; each is fitted on the three training sets alone (src/quality/model/calibration.ts `CALIBRATION_RULES`, stated before being scored here), then the fourth set is scored: bal. acc. · TPR / FPR at 0.5 · ECE, per held-out set. Rules that map the logit monotonically keep the ranking, so their held-out ROC-AUC is the shipped one's; for the others the column gives the change with a paired bootstrap 95% interval (500 resamples of knowledge groups). A rule replaces the shipped one only if its balanced accuracy is at least the shipped one's on every held-out set, and higher on one, with no ROC-AUC lost.",
      '',
      `| rule | ${names.map((n) => `${n}: bal. acc. · TPR / FPR · ECE`).join(' | ')} | mean bal. acc. | held-out ROC-AUC |`,
      `|---|${names.map(() => '---').join('|')}|---|---|`,
    );
    calibration.rows.forEach((r, k) => {
      const cell = (x: CalibrationRow['sets'][number], j: number) => {
        const s = shipped.sets[j] as CalibrationRow['sets'][number];
        const b = k === 0 ? `**${f3(x.bacc)}**` : `${f3(x.bacc)} (${sign3(x.bacc - s.bacc)})`;
        return `${b} · ${f3(x.tpr)} / ${f3(x.fpr)} · ${f3(x.ece)}`;
      };
      const auc =
        k === 0
          ? r.sets.map((x) => f3(x.auc)).join(', ')
          : r.monotone
            ? 'unchanged (monotone)'
            : r.sets.map((x) => civ(x.aucDelta, x.aucCi)).join(', ');
      lines.push(
        `| ${k === 0 ? `**${r.name}**` : r.name} | ${r.sets.map(cell).join(' | ')} | ${f3(r.sets.reduce((t, x) => t + x.bacc, 0) / r.sets.length)} | ${auc} |`,
      );
    });
    lines.push(
      '',
      `The threshold on the shipped probability that would suit each held-out set best (an oracle: it reads the labels of the set it is scored on): ${calibration.oracle
        .map(
          (o) => `${o.name} ${o.threshold.toFixed(2)} (bal. acc. ${f3(o.bacc)}, TPR / FPR ${f3(o.tpr)} / ${f3(o.fpr)})`,
        )
        .join('; ')}. ${
        calibration.oracle.some((o) => o.threshold < 0.5) && calibration.oracle.some((o) => o.threshold > 0.5)
          ? `They lie on both sides of 0.5 (${calibration.oracle
              .filter((o) => o.threshold > 0.5)
              .map((o) => o.name)
              .join(', ')} above, ${calibration.oracle
              .filter((o) => o.threshold < 0.5)
              .map((o) => o.name)
              .join(
                ', ',
              )} below), so a single threshold fitted on the other sets, or any monotone recalibration of the logit, moves one held-out set away from its best as it moves another towards its own.`
          : 'They lie on one side of 0.5.'
      } ${
        better.length
          ? `Better than the shipped calibration held out on every set: ${better.join('; ')}.`
          : 'No rule is better held out on every set without losing ROC-AUC, so the shipped calibration stays.'
      }`,
      '',
    );
  }
  if (ablation.length > 0) {
    const names = ablation[0]?.sets.map((x) => x.name) ?? [];
    lines.push(
      '### What each choice is worth held out',
      '',
      `Each row retrains the scorer with one change and scores it leave-one-set-out on the same folds (ranking only, one L2 = ${meta.l2} for every logistic row unless named); Δ = its held-out ROC-AUC minus the shipped recipe's, with a paired bootstrap 95% interval (500 resamples of knowledge groups). Mean CV = its pooled cross-validated ROC-AUC averaged over the sets. A change is kept when it helps held out on every set or costs nothing and makes the model safer to read; one that helps only where it was fit is dropped.`,
      '',
      `| variant | ${names.map((n) => `${n} LOSO (Δ [95% CI])`).join(' | ')} | mean LOSO | mean CV |`,
      `|---|${names.map(() => '---').join('|')}|---|---|`,
    );
    for (const row of ablation) {
      const mean = (f: (x: AblationRow['sets'][number]) => number) =>
        row.sets.reduce((t, x) => t + f(x), 0) / row.sets.length;
      lines.push(
        `| ${row.name === 'shipped' ? '**shipped**' : row.name} | ${row.sets
          .map((x) => (row.name === 'shipped' ? `**${f3(x.loso)}**` : `${f3(x.loso)} (${civ(x.delta, x.ci)})`))
          .join(' | ')} | ${f3(mean((x) => x.loso))} | ${f3(mean((x) => x.cv))} |`,
      );
    }
    lines.push('');
  }
  if (unlike.length > 0) {
    const ok = unlike.filter((u) => u.verdict === u.expect).length;
    lines.push(
      '### Inputs unlike the dev sets',
      '',
      `The dev sets are short English prose. These inputs are not (src/quality/bench.ts \`unlikeCases\`; the grounding tests in src/quality/evaluators hold the same behaviour): each with the verdict a sane check gives, what the shipped scorer says, its time (one thread, fastest of three) and, online (\`evaluate\`, which lets the event loop turn between steps), the most CPU one step takes (best of two): how long it can hold the gateway. ${ok} of ${unlike.length} as expected.`,
      '',
      "| input | expected | verdict (score) | claims | ms | longest online step, ms CPU | worst claim's reason |",
      '|---|---|---|---|---|---|---|',
      ...unlike.map(
        (u) =>
          `| ${u.name} | ${u.expect} | ${u.verdict === u.expect ? '' : '**'}${u.verdict}${u.verdict === u.expect ? '' : '**'} (${u.score}) | ${u.claims} | ${u.ms.toFixed(2)} | ${u.longestStepMs.toFixed(1)} | ${u.why.replace(/\|/g, '\\|')} |`,
      ),
      '',
    );
  }
  if (consistency) {
    const c = consistency.after;
    const b = consistency.before;
    const pct = (k: number, n: number) => `${k} / ${n} (${((100 * k) / Math.max(1, n)).toFixed(1)}%)`;
    lines.push(
      '### Self-consistency on faithful text',
      '',
      "The dev sets' distinct knowledge passages of two or more sentences that state two or more distinct figures, checked as if each were an answer: they are true and consistent, so every flag is false. Then each passage followed, on a line of its own, by one of its sentences with its first figure changed (a year by 3, a small count by 1, else doubled): a real contradiction.",
      '',
      '| | false flags on faithful passages, alone | … with the passage as the context | changed figure caught, alone | … with the original passage as the context |',
      '|---|---|---|---|---|',
      ...(b
        ? [
            `| before (figures compared by their neighbouring words only) | ${pct(b.flaggedAlone, b.faithful)} | ${pct(b.flaggedWithSources, b.faithful)} | ${pct(b.caughtAlone, b.altered)} | ${pct(b.caughtWithSources, b.altered)} |`,
          ]
        : []),
      `| **now** | ${pct(c.flaggedAlone, c.faithful)} | ${pct(c.flaggedWithSources, c.faithful)} | ${pct(c.caughtAlone, c.altered)} | ${pct(c.caughtWithSources, c.altered)} |`,
      '',
    );
  }
  return lines.join('\n');
}

/** Replaces (or appends) the "## Quality" section of a Markdown file, keeping every other section. */
export function replaceSection(existing: string, section: string): string {
  const start = existing.search(/^## Quality\s*$/m);
  if (start < 0) {
    const base = existing.trimEnd();
    return `${base ? `${base}\n\n` : '# Benchmark results\n\n'}${section.trimEnd()}\n`;
  }
  const rest = existing.slice(start + 1);
  const next = rest.search(/^## /m);
  const end = next < 0 ? existing.length : start + 1 + next;
  return `${existing.slice(0, start)}${section.trimEnd()}\n${next < 0 ? '' : `\n${existing.slice(end)}`}`;
}

export async function main(
  argv: string[] = process.argv.slice(2),
  repo = resolve(import.meta.dirname ?? '.', '..', '..'),
): Promise<void> {
  const datasets = argv.find((a) => !a.startsWith('--')) ?? resolve(repo, '..', 'shared', 'datasets');
  if (!existsSync(datasets))
    throw new Error(`no datasets at ${datasets}; pass the folder holding begin-dev/ and halueval-qa/`);
  const loadAtStart = loadavg()[0] as number;
  const sets = loadAllSets(datasets);
  const items = featurise(sets);
  const reports = benchSets(sets, DEFAULT_SEED, items);
  const l2 = (shippedModel().trained?.l2 as number | undefined) ?? 10;
  const ablation = argv.includes('--no-ablation') ? [] : ablationReport(items, DEFAULT_SEED, l2);
  const calibration = argv.includes('--no-calibration') ? undefined : calibrationReport(items, DEFAULT_SEED);
  for (const row of calibration?.rows ?? [])
    process.stdout.write(
      `${row.name.slice(0, 60).padEnd(60)} ${row.sets.map((x) => `${x.name.replace('begin/', '')} ${f3(x.bacc)} ${f3(x.tpr)}/${f3(x.fpr)} ece ${f3(x.ece)} auc ${f3(x.auc)}`).join('  ')}\n`,
    );
  const consistencyCheck = new SelfConsistencyEvaluator();
  const consistency = consistencyReport(sets, (r, context) => consistencyCheck.check(r, { context }));
  for (const row of ablation)
    process.stdout.write(
      `${row.name.padEnd(48)} ${row.sets.map((x) => `${x.name.replace('begin/', '')} ${f3(x.loso)} ${civ(x.delta, x.ci)}`).join('  ')}\n`,
    );
  process.stdout.write(`consistency ${JSON.stringify(consistency)}\n`);
  const unlike = await unlikeReport();
  for (const u of unlike)
    process.stdout.write(
      `${u.verdict === u.expect ? 'ok  ' : 'BAD '} ${u.name.padEnd(60)} ${u.verdict} ${u.score} ${u.ms.toFixed(2)} ms (longest online step ${u.longestStepMs.toFixed(1)} ms)  ${u.why}\n`,
    );
  for (const r of reports)
    process.stdout.write(
      `${r.name.padEnd(18)} AUC baseline ${f3(r.baselineAuc)}  model CV ${f3(r.cv.auc)} ${ci(r.cv)}  LOSO ${f3(r.lodo.auc)} ${ci(r.lodo)}  bacc@0.5 ${f3(r.cv.bacc)}  ${r.msPerSentence.toFixed(3)} ms/sentence\n`,
    );
  if (argv.includes('--no-write')) return;
  const file = join(repo, 'bench', 'RESULTS.md');
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const machine = `${argv.find((a) => a.startsWith('--machine='))?.slice(10) ?? `${cpu}, ${cpus().length} cores shared`}; load average ${loadAtStart.toFixed(1)} at the start of the run, ${(loadavg()[0] as number).toFixed(1)} at the end`;
  const section = renderReport(
    reports,
    {
      node: process.version,
      date: new Date().toISOString().slice(0, 10),
      threshold: DEFAULT_THRESHOLD,
      machine,
      seed: DEFAULT_SEED,
      l2,
    },
    ablation,
    { after: consistency },
    unlike,
    calibration,
  );
  writeFileSync(file, replaceSection(existing, section));
  process.stdout.write(`wrote the Quality section of ${file}\n`);
}
