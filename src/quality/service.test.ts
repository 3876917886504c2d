import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { Metrics } from '../telemetry/metrics.js';
import { qualityConfigSchema } from './config.js';
import type { EvaluationResult, Evaluator, Verdict } from './evaluators/types.js';
import { BoundedRunner } from './runner.js';
import { type CapturedText, EVALUATION_SLICE_MS, type EvaluatorName, QualityService, TEXT_HOOK } from './service.js';
import type { QualityCountRow, QualityStore } from './storage/index.js';

/** An evaluator answering `verdicts` in turn, spinning `busyMs` of CPU per call (a CPU-bound check). */
function fakeEvaluator(name: string, verdicts: Verdict[], busyMs = 0): Evaluator {
  let i = 0;
  return {
    name,
    async evaluate(): Promise<EvaluationResult> {
      const until = performance.now() + busyMs;
      while (performance.now() < until) {
        /* spin */
      }
      const verdict = verdicts[i++ % verdicts.length] as Verdict;
      return { evaluator: name, verdict, score: verdict === 'fail' ? 0.9 : 0.1, evidence: [], explanation: name };
    },
  };
}

function service(evaluators: Record<string, Evaluator>, runner = {} as BoundedRunner) {
  const metrics = new Metrics(new Registry());
  const stored: unknown[] = [];
  const writes: number[] = [];
  const counted: QualityCountRow[][] = [];
  const store = {
    putEvaluations: async (e: unknown[]) => {
      stored.push(...e);
      writes.push(e.length);
    },
    addCounts: async (rows: QualityCountRow[]) => {
      counted.push(rows);
    },
    enqueueReview: async () => {},
  } as unknown as QualityStore;
  const svc = new QualityService({
    store,
    calls: {} as never,
    metrics,
    clock: { now: () => Date.now() },
    logger: pino({ level: 'silent' }),
    config: qualityConfigSchema.parse({}),
    runner,
    evaluatorFor: (name: EvaluatorName) => evaluators[name] ?? null,
  });
  return { svc, metrics, stored, writes, counted };
}

const items = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    call: {
      requestId: `req-${i}`,
      model: 'm',
      provider: 'p',
      feature: null,
      startedAt: Date.now(),
      refusal: false,
    } as unknown as LlmCall,
    text: { prompt: 'a question', output: 'an answer', evaluators: ['grounding', 'attribution'] } as CapturedText,
  }));

const count = async (m: Metrics, evaluator: string, verdict: string) =>
  (await m.evaluations.get()).values.find((v) => v.labels.evaluator === evaluator && v.labels.verdict === verdict)
    ?.value ?? 0;

/** Finished calls as the quality sink gets them, each with its text captured for grounding and attribution. */
const sinkCalls = (n: number) =>
  items(n).map(({ call, text }) => ({
    ...call,
    endpoint: 'chat.completions',
    status: 'ok',
    internal: { hooks: { [TEXT_HOOK]: text } },
  })) as unknown as LlmCall[];

afterEach(() => vi.restoreAllMocks());

describe('QualityService evaluations', () => {
  it('counts llm_evaluations_total once per evaluation, by evaluator and verdict, and stores every result', async () => {
    const { svc, metrics, stored } = service({
      grounding: fakeEvaluator('grounding', ['pass', 'fail', 'pass']),
      attribution: fakeEvaluator('attribution', ['unknown', 'error']),
    });
    await svc.evaluateMany(items(30));
    await svc.evaluateMany(items(6));
    expect(stored).toHaveLength(72);
    expect(await count(metrics, 'grounding', 'pass')).toBe(24);
    expect(await count(metrics, 'grounding', 'fail')).toBe(12);
    expect(await count(metrics, 'attribution', 'unknown')).toBe(18);
    expect(await count(metrics, 'attribution', 'error')).toBe(18);
  });

  it('keeps results in evaluator order whether each answers at once, with a promise, or by throwing', async () => {
    const now = (verdict: Verdict): Evaluator => ({
      name: 'now',
      evaluate: async () => ({ evaluator: 'now', verdict, score: 0, evidence: [], explanation: 'x' }),
      evaluateNow: () => ({ evaluator: 'now', verdict, score: 0, evidence: [], explanation: 'x' }),
    });
    const evaluators: Record<string, Evaluator> = {
      grounding: now('pass'),
      attribution: fakeEvaluator('attribution', ['fail']),
      consistency: {
        name: 'consistency',
        evaluate: async () => {
          throw new Error('down');
        },
        evaluateNow: () => {
          throw new Error('down');
        },
      },
      judge: { name: 'judge', evaluate: () => Promise.reject(new Error('judge down')) },
      nli: now('unknown'),
    };
    const { svc, stored } = service(evaluators);
    const text = { prompt: 'q', output: 'a', evaluators: ['grounding', 'attribution', 'consistency', 'judge', 'nli'] };
    const results = await svc.evaluate(items(1)[0]?.call as LlmCall, text);
    expect(results.map((r) => `${r.evaluator}:${r.verdict}`)).toEqual([
      'now:pass',
      'attribution:fail',
      'consistency:error',
      'judge:error',
      'now:unknown',
    ]);
    expect(stored).toHaveLength(5);
  });

  it('counts responses and refusals per minute, model and feature, whatever the order of the calls', async () => {
    const { svc, counted } = service({});
    const t0 = Date.UTC(2026, 0, 1, 10, 0, 50);
    const mk = (i: number, model: string, feature: string | null, at: number, refusal = false): LlmCall =>
      ({
        requestId: `c-${i}`,
        model,
        provider: 'p',
        feature,
        startedAt: at,
        status: 'ok',
        endpoint: 'chat.completions',
        refusal,
        internal: null,
      }) as unknown as LlmCall;
    const calls = [
      mk(1, 'a', null, t0),
      mk(2, 'a', null, t0 + 1),
      mk(3, 'b', null, t0 + 2, true),
      mk(4, 'a', null, t0 + 3),
      mk(5, 'a', '', t0 + 4),
      mk(6, 'a', 'f', t0 + 5),
      mk(7, 'a', null, t0 + 10_000),
      mk(8, 'a', null, t0 + 10_001, true),
      mk(9, 'b', null, t0 + 6),
    ];
    await svc.onCalls(calls);
    const rows = (counted[0] ?? []).map((r) => `${r.t}|${r.model}|${r.feature}|${r.responses}|${r.refusals}`);
    expect(rows).toEqual([`${t0}|a||4|0`, `${t0 + 2}|b||2|1`, `${t0 + 5}|a|f|1|0`, `${t0 + 10_000}|a||2|1`]);
  });

  it('yields to the event loop by time, not after every evaluator', async () => {
    const { svc } = service({
      grounding: fakeEvaluator('grounding', ['pass']),
      attribution: fakeEvaluator('attribution', ['pass']),
    });
    const immediate = vi.spyOn(globalThis, 'setImmediate');
    await svc.evaluateMany(items(32));
    // 64 fast evaluations: at most a yield or two (one at the start, a stale slice), not 64.
    expect(immediate.mock.calls.length).toBeLessThanOrEqual(4);
  });

  it('never holds the event loop much longer than a slice while CPU-bound evaluators run', async () => {
    let evaluated = 0;
    const counted = (e: Evaluator): Evaluator => ({
      name: e.name,
      evaluate: (...args: Parameters<Evaluator['evaluate']>) => {
        evaluated++;
        return e.evaluate(...args);
      },
    });
    const { svc } = service({
      grounding: counted(fakeEvaluator('grounding', ['pass'], 0.3)),
      attribution: counted(fakeEvaluator('attribution', ['fail'], 0.3)),
    });
    // Two jobs at once, as the runner runs them: they share the slice.
    const gaps: number[] = [];
    let last = 0;
    let ticking = true;
    const tick = () => {
      gaps.push(evaluated - last);
      last = evaluated;
      if (ticking) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    await Promise.all([svc.evaluateMany(items(32)), svc.evaluateMany(items(32))]);
    ticking = false;
    // 128 evaluations of 0.3 ms (about 38 ms of CPU) ran, and timers kept firing between them: without yields the
    // timer would wait for all of them. The median gap is a slice and an evaluator or two, with room: counted in
    // evaluations run between two timers, not in milliseconds, which a busy machine's scheduling stretches (a gap
    // of 9.6 ms, 32 evaluations, was the bound; the process descheduled made the median 10-15 ms at load 10).
    expect(gaps.length).toBeGreaterThan(10);
    const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)] as number;
    expect(median).toBeLessThan((EVALUATION_SLICE_MS + 0.3 * 2 + 8) / 0.3);
  });

  it("stores a sink batch's evaluations in one write once its last job is done, not one per job of 32", async () => {
    const runner = new BoundedRunner({ concurrency: 4, maxPending: 1000 });
    const { svc, stored, writes } = service(
      { grounding: fakeEvaluator('grounding', ['pass']), attribution: fakeEvaluator('attribution', ['fail']) },
      runner,
    );
    await svc.onCalls(sinkCalls(100));
    await svc.onCalls(sinkCalls(10));
    expect(await runner.idle()).toBe(true);
    // one write a batch (in either order: the small batch's one job may end before the large one's fourth)
    expect([...writes].sort((a, b) => b - a)).toEqual([200, 20]);
    expect(stored).toHaveLength(220);
  });

  it('still stores the results of the jobs the runner took when it dropped one (queue full)', async () => {
    const dropped: number[] = [];
    const runner = new BoundedRunner({ concurrency: 1, maxPending: 40, onDrop: (n) => dropped.push(n) });
    const { svc, writes } = service({ grounding: fakeEvaluator('grounding', ['pass']) }, runner);
    // Jobs of 32, 32, 32 and 4 calls: the first runs, the second waits, the third would overfill the queue.
    await svc.onCalls(sinkCalls(100));
    expect(await runner.idle()).toBe(true);
    expect(dropped).toEqual([32]);
    expect(writes).toEqual([68]);
  });

  it('stores the finished evaluations of a batch whose other jobs the runner dropped at shutdown', async () => {
    const runner = new BoundedRunner({ concurrency: 1, maxPending: 1000 });
    let evaluated = 0;
    const slow: Evaluator = {
      name: 'grounding',
      async evaluate() {
        await new Promise((r) => setTimeout(r, 1));
        evaluated++;
        return { evaluator: 'grounding', verdict: 'pass', score: 0, evidence: [], explanation: '' };
      },
    };
    const { svc, writes } = service({ grounding: slow }, runner);
    // Jobs of 32, 32, 32 and 4 calls, one at a time: shut down while the second runs.
    await svc.onCalls(sinkCalls(100));
    while (evaluated < 40) await new Promise((r) => setTimeout(r, 1));
    expect(await runner.close(1)).toBe(36);
    while (evaluated < 64) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 20));
    expect(evaluated).toBe(64);
    expect(writes).toEqual([64]);
  });
});
