import { describe, expect, it } from 'vitest';
import { bareResult } from '../evaluators/redact.js';
import type { EvaluationResult } from '../evaluators/types.js';
import { elementOf, evaluationValues, fromElement } from './sqlite-write-job.js';
import type { StoredEvaluation } from './types.js';

const stored = (
  requestId: string,
  result: EvaluationResult,
  over: Partial<StoredEvaluation> = {},
): StoredEvaluation => ({
  requestId,
  evaluator: result.evaluator,
  verdict: result.verdict,
  score: result.score,
  result,
  createdAt: 1_733_390_000_123,
  model: 'gpt-4o-mini',
  feature: null,
  ...over,
});

/** The evaluations column as it was written before: JSON.stringify of the call's elements. */
function reference(rs: readonly StoredEvaluation[]): [string, number, string][] {
  const out: [string, number, string][] = [];
  for (const r of rs) {
    let row = out.find((o) => o[0] === r.requestId);
    if (!row) {
      row = [r.requestId, r.createdAt, '[]'];
      out.push(row);
    }
    if (r.createdAt > row[1]) row[1] = r.createdAt;
    const elements = JSON.parse(row[2]) as unknown[][];
    const at = elements.findIndex((e) => e[0] === r.evaluator);
    const e = JSON.parse(JSON.stringify(elementOf(r))) as unknown[];
    if (at === -1) elements.push(e);
    else elements[at] = e;
    row[2] = JSON.stringify(elements);
  }
  return out;
}

describe('evaluationValues', () => {
  const cases: [string, StoredEvaluation[]][] = [
    [
      'bare results, with and without duration and claims',
      [
        stored('a', bareResult('grounding', 'unknown', 0, false, 0.0123)),
        stored('a', bareResult('attribution', 'unknown', 0, true, undefined)),
        stored('a', bareResult('consistency', 'pass', 0.25, true, 1.5e-7)),
        stored('b', bareResult('grounding', 'fail', 1, false, 12)),
      ],
    ],
    [
      'strings JSON must escape, and past ASCII',
      [
        stored('c', bareResult('grounding', 'unknown', 0, false, 1), {
          model: 'm"odel\\x\u0001',
          feature: 'fé\u2028 \ud800',
        }),
        stored('c', bareResult('attribution', 'unknown', 0, false, 2), { model: '模型', feature: '' }),
      ],
    ],
    [
      'results that are not bare, and fields not of their declared type',
      [
        stored('d', {
          evaluator: 'grounding',
          verdict: 'fail',
          score: 0.9,
          evidence: [{ source: 'context', id: 'context#1', text: '' }],
          claims: [{ text: 'claim#1', status: 'contradicted', evidence: [], score: 0.9 }],
          explanation: 'x',
        }),
        stored('d', { ...bareResult('attribution', 'unknown', 0, false, 1), explanation: 'other' }),
        stored('d', bareResult('consistency', 'unknown', 0, false, 1), { evaluator: 'renamed' }),
        stored('e', bareResult('grounding', 'unknown', 0, false, 1), {
          createdAt: Number.NaN,
          feature: undefined as unknown as null,
        }),
        stored('f', bareResult('grounding', 'unknown', 0, false, 1), { model: undefined as unknown as string }),
      ],
    ],
    [
      'a later evaluation by the same evaluator replaces the earlier, and the latest time is kept',
      [
        stored('g', bareResult('grounding', 'unknown', 0, false, 1)),
        stored('g', bareResult('attribution', 'pass', 0, false, 1), { createdAt: 1_733_390_000_500 }),
        stored('g', bareResult('grounding', 'fail', 1, false, 2), { createdAt: 1_733_390_000_200 }),
      ],
    ],
  ];

  for (const [name, rs] of cases)
    it(`writes what JSON.stringify of the elements wrote: ${name}`, () => {
      expect(evaluationValues(rs)).toEqual(reference(rs));
    });

  it('writes what JSON.stringify wrote for a batch whose elements share and differ in every leading field', () => {
    // Elements with the same evaluator, verdict, score, time, model and feature share their start (prefixOf); each
    // field differs somewhere, more distinct starts than the list keeps (16), scores of -0 and 0, and a time of NaN.
    const evaluators = ['grounding', 'consistency', 'attribution'];
    const verdicts = ['unknown', 'pass', 'fail'] as const;
    const rs: StoredEvaluation[] = [];
    let seed = 5;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };
    for (let call = 0; call < 400; call++)
      for (const ev of evaluators) {
        const verdict = verdicts[rnd(3)] as (typeof verdicts)[number];
        const score = [0, -0, 0.5, 1][rnd(4)] as number;
        rs.push(
          stored(
            `call-${call}`,
            bareResult(ev, verdict, score, rnd(2) === 1, rnd(3) === 0 ? undefined : rnd(1000) / 7),
            {
              createdAt: [1_733_390_000_123, 1_733_390_000_124, Number.NaN][rnd(3)] as number,
              model: ['gpt-4o-mini', 'sim-model', 'm"q'][rnd(3)] as string,
              feature: [null, 'chat', 'é'][rnd(3)] as string | null,
            },
          ),
        );
      }
    expect(evaluationValues(rs)).toEqual(reference(rs));
  });

  it('reads back as the results stored', () => {
    const rs = cases[0]?.[1] as StoredEvaluation[];
    const [[id, , json]] = evaluationValues(rs.slice(0, 3)) as [[string, number, string]];
    const back = (JSON.parse(json) as Parameters<typeof fromElement>[1][]).map((e) => fromElement(id, e));
    expect(back).toEqual(rs.slice(0, 3));
  });
});
