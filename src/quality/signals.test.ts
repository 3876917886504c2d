// The quality signals in the alert engine: the app assembled with the quality module (SQLite ledger), evaluations
// and feedback given through the quality service on a test clock, and the engine evaluating rules that read
// hallucination_rate and thumbs_down_rate through the signal registry the module registered with.
import { afterEach, describe, expect, it } from 'vitest';
import { alertsConfigOf, type RuleInput } from '../alerts/config.js';
import { Engine } from '../alerts/engine.js';
import { compileRules } from '../alerts/rules.js';
import { MemoryAlertStateStore } from '../alerts/state/index.js';
import { callAt, ManualClock } from '../alerts/testing.js';
import { validateConfig } from '../config/index.js';
import { type App, createApp } from '../server.js';
import type { EvaluationResult, Evaluator } from './evaluators/types.js';
import { buildQualityModule, type QualityModule } from './module.js';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);
const MIN = 60_000;

/** Fails every answer that says "wrong"; passes the rest. */
const fakeGrounding: Evaluator = {
  name: 'grounding',
  async evaluate(input): Promise<EvaluationResult> {
    const fail = input.response.includes('wrong');
    return {
      evaluator: 'grounding',
      verdict: fail ? 'fail' : 'pass',
      score: fail ? 0.9 : 0.1,
      evidence: [],
      explanation: '',
    };
  },
};

interface Harness {
  app: App;
  quality: QualityModule;
  clock: ManualClock;
  engine: Engine;
}

const open: App[] = [];
afterEach(async () => {
  for (const app of open.splice(0)) await app.close();
});

async function harness(rules: RuleInput[], defaultRules = false): Promise<Harness> {
  const r = validateConfig({ storage: { url: 'sqlite::memory:' }, telemetry: { logLevel: 'silent' } });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const clock = new ManualClock(T0);
  let quality: QualityModule | undefined;
  const app = await createApp(r.config, {
    clock,
    modules: [
      async (ctx) => {
        quality = await buildQualityModule(ctx, { evaluators: { grounding: fakeGrounding } });
        return quality;
      },
    ],
  });
  open.push(app);
  const compiled = compileRules(
    alertsConfigOf({ defaultRules, slos: [], evaluationInterval: '1m', rules: defaultRules ? [] : rules }),
  );
  expect(compiled.issues).toEqual([]);
  const engine = new Engine({
    rules: compiled.rules,
    store: app.ctx.store,
    state: new MemoryAlertStateStore(),
    signals: app.ctx.signals,
    evaluationIntervalMs: MIN,
  });
  return { app, quality: quality as QualityModule, clock, engine };
}

/** Evaluates `n` calls of `model` at minute `m`, `failing` of them hallucinated. */
async function evaluations(h: Harness, m: number, n: number, failing: number, model = 'gpt-4o-mini') {
  for (let i = 0; i < n; i++) {
    const call = callAt(T0 + m * MIN + i * 100, { model });
    await h.quality.service.evaluate(call, {
      prompt: 'what year was it?',
      output: i < failing ? 'the wrong year' : 'the right year',
      evaluators: ['grounding'],
    });
  }
}

/** Records `n` calls at minute `m` and gives `down` of them a thumbs-down, the rest a thumbs-up. */
async function feedback(h: Harness, m: number, n: number, down: number) {
  const calls = Array.from({ length: n }, (_, i) => callAt(T0 + m * MIN + i * 100));
  await h.app.ctx.store.insertCalls(calls);
  h.clock.t = T0 + m * MIN + 30_000;
  for (const [i, c] of calls.entries())
    await h.quality.service.giveFeedback({ request_id: c.requestId, rating: i < down ? 'down' : 'up' });
}

async function alertsAt(h: Harness, t: number) {
  h.clock.t = t;
  await h.engine.evaluate(t);
  return h.engine
    .activeAlerts()
    .map((a) => ({ name: a.labels.alertname, state: a.state, value: a.value, labels: a.labels }));
}

describe('hallucination_rate signal', () => {
  it('the default HallucinationRateHigh rule goes pending, then fires, when 10% of evaluations fail', async () => {
    const h = await harness([], true);
    await evaluations(h, 0, 50, 5);
    await evaluations(h, 5, 50, 5);

    const pending = (await alertsAt(h, T0 + 10 * MIN)).filter((a) => a.name === 'HallucinationRateHigh');
    expect(pending).toEqual([expect.objectContaining({ state: 'pending', value: 0.1 })]);
    const firing = (await alertsAt(h, T0 + 25 * MIN)).filter((a) => a.name === 'HallucinationRateHigh');
    expect(firing).toEqual([expect.objectContaining({ state: 'firing', value: 0.1 })]);
    // An hour later the failing evaluations have left the window: no data, the alert resolves.
    expect((await alertsAt(h, T0 + 80 * MIN)).filter((a) => a.name === 'HallucinationRateHigh')).toEqual([]);
  });

  it('stays quiet at 3% failing, and below minSamples however bad', async () => {
    const h = await harness([], true);
    await evaluations(h, 0, 100, 3);
    expect((await alertsAt(h, T0 + 10 * MIN)).filter((a) => a.name === 'HallucinationRateHigh')).toEqual([]);
    // judged on data (3% is under 5%), not quiet for want of it
    expect(h.engine.ruleHealth().find((x) => x.ruleId === 'HallucinationRateHigh')?.health).toBe('ok');

    const few = await harness([], true);
    await evaluations(few, 0, 10, 5); // 50% failing, but 10 evaluations < minSamples 20
    expect((await alertsAt(few, T0 + 10 * MIN)).filter((a) => a.name === 'HallucinationRateHigh')).toEqual([]);
  });

  it('splits by model and honours a model filter', async () => {
    const rule: RuleInput = {
      name: 'Hallucinations',
      kind: 'hallucination_rate',
      threshold: 0.05,
      minSamples: 20,
      for: '0s',
      groupBy: ['model'],
      severity: 'warning',
    };
    const h = await harness([rule, { ...rule, name: 'GoodModelHallucinations', filter: { model: 'good' } }]);
    await evaluations(h, 0, 40, 8, 'bad');
    await evaluations(h, 1, 40, 0, 'good');
    const active = await alertsAt(h, T0 + 5 * MIN);
    expect(active.map((a) => [a.name, a.labels.model, a.state, a.value])).toEqual([
      ['Hallucinations', 'bad', 'firing', 0.2],
    ]);
    const health = h.engine.ruleHealth().find((x) => x.ruleId === 'GoodModelHallucinations');
    expect(health?.health).toBe('ok');
  });

  it('reports a filter the quality counts cannot answer as a rule error, not as data', async () => {
    const h = await harness([
      { name: 'TeamHallucinations', kind: 'hallucination_rate', threshold: 0.05, filter: { team: 'search' } },
    ]);
    await evaluations(h, 0, 40, 20);
    expect(await alertsAt(h, T0 + 5 * MIN)).toEqual([]);
    const health = h.engine.ruleHealth().find((x) => x.ruleId === 'TeamHallucinations');
    expect(health).toMatchObject({ health: 'err', lastError: expect.stringContaining('cannot be filtered by team') });
  });
});

describe('thumbs_down_rate signal', () => {
  const rule: RuleInput = {
    name: 'ThumbsDownHigh',
    kind: 'thumbs_down_rate',
    threshold: 0.2,
    minSamples: 20,
    for: '5m',
    severity: 'warning',
  };

  it('fires when 30% of feedback is thumbs-down', async () => {
    const h = await harness([rule]);
    await feedback(h, 0, 30, 9);
    expect(await alertsAt(h, T0 + 2 * MIN)).toEqual([
      expect.objectContaining({ name: 'ThumbsDownHigh', state: 'pending', value: 0.3 }),
    ]);
    expect(await alertsAt(h, T0 + 7 * MIN)).toEqual([
      expect.objectContaining({ name: 'ThumbsDownHigh', state: 'firing', value: 0.3 }),
    ]);
  });

  it('stays quiet at 10% thumbs-down', async () => {
    const h = await harness([rule]);
    await feedback(h, 0, 30, 3);
    expect(await alertsAt(h, T0 + 2 * MIN)).toEqual([]);
    expect(h.engine.ruleHealth()[0]?.health).toBe('ok');
  });
});
