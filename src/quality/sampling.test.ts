import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../telemetry/ids.js';
import { BoundedRunner } from './runner.js';
import { sampled } from './sampling.js';
import { wilson } from './stats.js';
import type { ReviewItem } from './storage/index.js';
import { statsOf } from './summary.js';
import { hash32, unitHash } from './text.js';

describe('sampled', () => {
  const ids = Array.from({ length: 20_000 }, (_, i) => uuidv7(1_700_000_000_000 + i * 7));

  it.each([0.01, 0.02, 0.05])('picks about %s of request ids, the same ones every time', (rate) => {
    const picked = ids.filter((id) => sampled(id, rate, 'review'));
    const sd = Math.sqrt(ids.length * rate * (1 - rate));
    expect(Math.abs(picked.length - ids.length * rate)).toBeLessThan(4 * sd);
    expect(ids.filter((id) => sampled(id, rate, 'review'))).toEqual(picked);
  });

  it('draws the same number from an id as hashing the salted strings did (unitHash folds the pieces)', () => {
    // The formula before: two hash32 rounds over strings built for them. Stored samples must not move.
    const reference = (key: string, salt: string) =>
      hash32(`${hash32(`${salt}:${key}`).toString(36)}${key}`) / 4294967296;
    const keys = [...ids.slice(0, 2000), '', 'x', 'é世界🙂', '\ud800', 'a'.repeat(1000)];
    for (const salt of ['review', 'grounding', 'consistency-samples', '', 'ü:'])
      for (const key of keys) expect(unitHash(key, salt)).toBe(reference(key, salt));
    expect(unitHash('k')).toBe(reference('k', ''));
  });

  it('draws independently per salt, and honours 0 and 1', () => {
    const a = new Set(ids.filter((id) => sampled(id, 0.1, 'grounding')));
    const both = ids.filter((id) => a.has(id) && sampled(id, 0.1, 'judge')).length;
    expect(both).toBeGreaterThan(100);
    expect(both).toBeLessThan(300);
    expect(sampled('x', 0, 'review')).toBe(false);
    expect(sampled('x', 1, 'review')).toBe(true);
  });
});

describe('BoundedRunner', () => {
  it('runs at most `concurrency` jobs at once, drops beyond maxPending, survives failures', async () => {
    let drops = 0;
    let errors = 0;
    let active = 0;
    let peak = 0;
    const r = new BoundedRunner({ concurrency: 2, maxPending: 3, onDrop: () => drops++, onError: () => errors++ });
    const job =
      (fail = false) =>
      async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((res) => setTimeout(res, 5));
        active--;
        if (fail) throw new Error('boom');
      };
    const accepted = [job(), job(true), job(), job(), job(), job(), job()]
      .map((j) => r.submit(j))
      .filter(Boolean).length;
    expect(accepted).toBe(5);
    expect(drops).toBe(2);
    expect(await r.idle(2000)).toBe(true);
    expect(peak).toBe(2);
    expect(errors).toBe(1);
    expect(await r.close()).toBe(0);
    expect(r.submit(job())).toBe(false);
  });

  it('bounds the queue by items when a job carries several, and counts a dropped job by its items', async () => {
    const dropped: number[] = [];
    const r = new BoundedRunner({ concurrency: 1, maxPending: 5, onDrop: (n) => dropped.push(n) });
    const job = () => new Promise<void>((res) => setTimeout(res, 5));
    expect(r.submit(job, 3)).toBe(true); // runs at once
    expect(r.submit(job, 3)).toBe(true); // waits: 3 queued
    expect(r.submit(job, 3)).toBe(false); // 6 > 5
    expect(r.submit(job, 2)).toBe(true); // 5 queued
    expect(r.pending).toBe(5);
    expect(dropped).toEqual([3]);
    expect(await r.idle(2000)).toBe(true);
    expect(r.pending).toBe(0);
  });
});

describe('review statistics', () => {
  const item = (over: Partial<ReviewItem>): ReviewItem => ({
    requestId: 'x',
    reasons: ['sample'],
    callAt: 0,
    createdAt: 0,
    model: 'm',
    provider: 'p',
    feature: null,
    refusal: false,
    flaggedBy: [],
    rating: null,
    labels: { hallucination: false, refusalCorrect: null, notes: null, reviewer: null, labeledAt: 0 },
    ...over,
  });

  it('estimates the rate from sampled items only, with a Wilson interval, and detector precision from all', () => {
    const yes = { hallucination: true, refusalCorrect: null, notes: null, reviewer: null, labeledAt: 0 };
    const reviews = [
      ...Array.from({ length: 8 }, () => item({})),
      ...Array.from({ length: 2 }, () => item({ labels: yes, flaggedBy: ['grounding'] })),
      item({ reasons: ['thumbs_down', 'flag:grounding'], flaggedBy: ['grounding'], labels: yes }),
      item({ reasons: ['flag:grounding'], flaggedBy: ['grounding'] }),
    ];
    const s = statsOf(
      { responses: 100, refusals: 5, evaluated: 50, flagged: 10, feedbackUp: 3, feedbackDown: 1 },
      reviews,
    );
    expect(s.reviewed).toMatchObject({ sampled: 10, hallucinated: 2, rate: 0.2 });
    const w = wilson(2, 10);
    expect(s.reviewed.ci95?.low).toBeCloseTo(w.low, 3);
    expect(s.reviewed.ci95?.high).toBeCloseTo(w.high, 3);
    expect(w.low).toBeCloseTo(0.0567, 3);
    expect(w.high).toBeCloseTo(0.5098, 3);
    expect(s.detectors.grounding).toMatchObject({ flagged_reviewed: 4, confirmed: 3, precision: 0.75 });
    expect(s).toMatchObject({ refusal_rate: 0.05, hallucination_rate: 0.2, feedback: { satisfaction_rate: 0.75 } });
  });
});
