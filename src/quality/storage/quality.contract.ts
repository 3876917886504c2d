// The QualityStore contract: what every backend (memory, SQLite, PostgreSQL) must do alike, run by
// quality-store.test.ts over each. `make` returns a new, empty store (`migrate()` is called here).
import { describe, expect, it } from 'vitest';
import type { FeedbackRecord, QualityStore } from './types.js';

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

export const fb = (over: Partial<FeedbackRecord> = {}): FeedbackRecord => ({
  requestId: 'r1',
  source: 'app',
  rating: 'up',
  comment: null,
  labels: [],
  createdAt: T0,
  updatedAt: T0,
  model: 'gpt-4o',
  provider: 'openai',
  feature: 'chat',
  ...over,
});

export function qualityStoreContract(name: string, make: () => Promise<QualityStore>): void {
  describe(`QualityStore contract: ${name}`, () => {
    const fresh = async () => {
      const s = await make();
      await s.migrate();
      return s;
    };

    it('keeps one feedback per (request, source), reporting what it replaced', async () => {
      const s = await fresh();
      expect(await s.putFeedback(fb())).toEqual({ created: true, previous: null });
      const again = await s.putFeedback(fb({ rating: 'down', comment: 'wrong', updatedAt: T0 + 5 }));
      expect(again.created).toBe(false);
      expect(again.previous?.rating).toBe('up');
      await s.putFeedback(fb({ source: 'widget' }));
      const list = await s.feedbackFor('r1');
      expect(list).toHaveLength(2);
      expect(list.find((f) => f.source === 'app')).toMatchObject({ rating: 'down', comment: 'wrong', createdAt: T0 });
    });

    it('stores one evaluation per evaluator per call (latest wins)', async () => {
      const s = await fresh();
      const result = { evaluator: 'grounding', verdict: 'fail' as const, score: 0.8, evidence: [], explanation: 'x' };
      const base = {
        requestId: 'r1',
        evaluator: 'grounding',
        verdict: 'fail' as const,
        score: 0.8,
        result,
        createdAt: T0,
        model: 'm',
        feature: null,
      };
      await s.putEvaluations([base, { ...base, evaluator: 'judge', verdict: 'pass', score: 0.1 }]);
      await s.putEvaluations([{ ...base, score: 0.9 }]);
      const list = await s.evaluationsFor('r1');
      expect(list.map((e) => [e.evaluator, e.score])).toEqual([
        ['grounding', 0.9],
        ['judge', 0.1],
      ]);
      expect(list[0]?.result.explanation).toBe('x');
    });

    it('merges review reasons, lists pending/labeled with pages, labels items', async () => {
      const s = await fresh();
      const base = { model: 'm', provider: 'p', feature: null };
      await s.enqueueReview([
        { requestId: 'a', reason: 'sample', callAt: T0 + 1, ...base },
        { requestId: 'b', reason: 'thumbs_down', callAt: T0 + 2, rating: 'down', ...base },
        { requestId: 'c', reason: 'flag:grounding', callAt: T0 + 3, flaggedBy: ['grounding'], ...base },
      ]);
      await s.enqueueReview([{ requestId: 'a', reason: 'flag:judge', callAt: T0 + 1, flaggedBy: ['judge'], ...base }]);
      const a = await s.getReview('a');
      expect(a?.reasons).toEqual(['sample', 'flag:judge']);
      expect(a?.flaggedBy).toEqual(['judge']);
      const p1 = await s.listReview({ limit: 2 });
      expect(p1.items.map((i) => i.requestId)).toEqual(['c', 'b']);
      const p2 = await s.listReview({ limit: 2, cursor: p1.nextCursor ?? undefined });
      expect(p2.items.map((i) => i.requestId)).toEqual(['a']);
      expect(p2.nextCursor).toBeNull();
      expect((await s.listReview({ reason: 'flag' })).items.map((i) => i.requestId)).toEqual(['c', 'a']);
      const labeled = await s.labelReview('b', {
        hallucination: true,
        refusalCorrect: null,
        notes: 'made up',
        reviewer: 'ann',
        labeledAt: T0 + 10,
      });
      expect(labeled?.labels).toMatchObject({ hallucination: true, refusalCorrect: null, notes: 'made up' });
      expect((await s.listReview({})).items.map((i) => i.requestId)).toEqual(['c', 'a']);
      expect((await s.listReview({ status: 'labeled' })).items.map((i) => i.requestId)).toEqual(['b']);
      expect(
        await s.labelReview('zzz', {
          hallucination: true,
          refusalCorrect: null,
          notes: null,
          reviewer: null,
          labeledAt: 0,
        }),
      ).toBeNull();
      expect((await s.labeledReviews({ from: T0, to: T0 + 100 })).map((i) => i.requestId)).toEqual(['b']);
    });

    it('adds counts into minute buckets and folds them by step and group', async () => {
      const s = await fresh();
      const row = { responses: 1, refusals: 0, evaluated: 1, flagged: 0, feedbackUp: 0, feedbackDown: 0 };
      await s.addCounts([
        { t: T0 + 1000, model: 'a', feature: 'x', ...row },
        { t: T0 + 2000, model: 'a', feature: 'y', ...row, flagged: 1 },
        { t: T0 + 61_000, model: 'b', feature: 'x', ...row, refusals: 1 },
        { t: T0 + 62_000, model: 'b', feature: 'x', ...row, responses: -1 },
      ]);
      const total = await s.queryCounts({ from: T0, to: T0 + 3_600_000, step: 'total' });
      expect(total).toEqual([
        {
          t: 0,
          model: '',
          feature: '',
          responses: 2,
          refusals: 1,
          evaluated: 4,
          flagged: 1,
          feedbackUp: 0,
          feedbackDown: 0,
        },
      ]);
      const byModel = await s.queryCounts({ from: T0, to: T0 + 3_600_000, step: 'total', groupBy: 'model' });
      expect(byModel.map((r) => [r.model, r.responses])).toEqual([
        ['a', 2],
        ['b', 0],
      ]);
      const minutes = await s.queryCounts({ from: T0, to: T0 + 3_600_000, step: 'minute', groupBy: 'feature' });
      expect(minutes.map((r) => [r.t - T0, r.feature, r.evaluated])).toEqual([
        [0, 'x', 1],
        [0, 'y', 1],
        [60_000, 'x', 2],
      ]);
      const both = await s.queryCounts({ from: T0, to: T0 + 3_600_000, step: 'total', groupBy: ['model', 'feature'] });
      expect(both.map((r) => [r.model, r.feature, r.flagged, r.evaluated])).toEqual([
        ['a', 'x', 0, 1],
        ['a', 'y', 1, 1],
        ['b', 'x', 0, 2],
      ]);
      expect(await s.queryCounts({ from: T0 + 120_000, to: T0 + 3_600_000, step: 'total' })).toEqual([]);
    });

    it('applies retention', async () => {
      const s = await fresh();
      await s.putFeedback(fb());
      await s.enqueueReview([
        { requestId: 'r1', reason: 'sample', callAt: T0, model: 'm', provider: 'p', feature: null },
      ]);
      expect(await s.applyRetention(T0 + 1)).toBeGreaterThanOrEqual(2);
      expect(await s.feedbackFor('r1')).toEqual([]);
      expect(await s.getReview('r1')).toBeNull();
    });
  });
}
