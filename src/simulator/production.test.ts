import { describe, expect, it } from 'vitest';
import { PASSAGES } from './corpus.js';
import { hallucinate, type Planned, PRODUCTION_MODELS, planProduction, planSpike } from './production.js';
import { conditionsAt, SPIKE_CALLS, SPIKE_MODEL, type TrafficConditions } from './scenario.js';
import { mulberry32 } from './text.js';

const HEALTHY: TrafficConditions = { phase: 'healthy' };
const opts = { hallucinationRate: 0.05, models: PRODUCTION_MODELS, embeddingModel: 'text-embedding-3-small' };
const ALL_SENTENCES = new Set(PASSAGES.flatMap((p) => p.sentences));

function plans(n: number, conditions = HEALTHY, seed = 1): Planned[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => planProduction(rng, opts, conditions));
}

/** An answer's sentences without openers and citation markers. */
function answerSentences(reply: string): string[] {
  return reply
    .replace(/^(Yes|Sure|Good question)\. /, '')
    .replace(/ \[\d+\]\./g, '.')
    .split(/(?<=\.) (?=[A-Z])/);
}

describe('production traffic style', () => {
  const sample = plans(4000);
  const count = (k: Planned['kind']) => sample.filter((p) => p.kind === k).length;

  it('mixes RAG answers with hallucinations at the configured share, refusals, tool calls and small talk', () => {
    const grounded = count('grounded');
    const hallucinated = count('hallucinated');
    expect(grounded).toBeGreaterThan(2500);
    expect(hallucinated / (grounded + hallucinated)).toBeGreaterThan(0.035);
    expect(hallucinated / (grounded + hallucinated)).toBeLessThan(0.065);
    expect(count('refusal')).toBeGreaterThan(10);
    expect(count('tool_call')).toBeGreaterThan(60);
    expect(count('no_knowledge')).toBeGreaterThan(400);
    expect(count('embedding')).toBeGreaterThan(100);
    expect(sample.filter((p) => p.headers['x-simulator-fault'] && p.kind !== 'refusal').length).toBeLessThan(30);
  });

  it('answers from the passages the prompt carries; hallucinations say what no passage says', () => {
    for (const p of sample.filter((x) => x.kind === 'grounded' || x.kind === 'hallucinated')) {
      const reply = p.headers['x-simulator-reply']!;
      expect(reply).not.toMatch(/[\r\n]/); // it travels in a header
      const prompt = JSON.stringify(JSON.parse(p.body).messages);
      const unknown = answerSentences(reply).filter((s) => !prompt.includes(s));
      if (p.kind === 'grounded') expect(unknown, reply).toEqual([]);
      else expect(unknown.length, reply).toBeGreaterThan(0);
    }
  });

  it('asks for per-model latency, small models fastest, and a tool call when the user needs one', () => {
    const ttft = (model: string) =>
      Number(sample.find((p) => JSON.parse(p.body).model === model)?.headers['x-simulator-ttft-ms']);
    expect(ttft('llama-3.1-8b-instruct')).toBeLessThan(ttft('gpt-4o-mini'));
    expect(ttft('gpt-4o-mini')).toBeLessThan(ttft('gpt-4o'));
    const tool = sample.find((p) => p.kind === 'tool_call')!;
    expect(JSON.parse(tool.headers['x-simulator-tool-call']!).name).toMatch(/^[a-z_]+$/);
    expect(JSON.parse(tool.body).tools.length).toBeGreaterThan(0);
  });

  it('slows and fails only the incident models', () => {
    const incident: TrafficConditions = {
      phase: 'x',
      slow: { models: ['claude-sonnet-4'], ttftFactor: 6, tpotFactor: 4 },
      errors: { models: ['claude-sonnet-4'], rate: 0.5 },
    };
    const during = plans(2000, incident, 1);
    const claude = during.filter(
      (p) => p.path === '/chat/completions' && JSON.parse(p.body).model === 'claude-sonnet-4',
    );
    const others = during.filter(
      (p) => p.path === '/chat/completions' && JSON.parse(p.body).model !== 'claude-sonnet-4',
    );
    const failing = (ps: Planned[]) =>
      ps.filter((p) => ['server_error', 'rate_limit'].includes(p.headers['x-simulator-fault'] ?? '')).length /
      ps.length;
    expect(failing(claude)).toBeGreaterThan(0.4);
    expect(failing(others)).toBeLessThan(0.01);
    expect(Number(claude[0]!.headers['x-simulator-ttft-ms'])).toBeGreaterThan(1000);
  });

  it('turns a number or a name false', () => {
    const rng = mulberry32(9);
    const s = ['Credits must be requested within 30 days of the incident.'];
    const outs = Array.from({ length: 20 }, () => hallucinate(rng, s));
    for (const o of outs) expect(o.join(' ')).not.toBe(s[0]);
    expect(outs.some((o) => o.length === 1 && !ALL_SENTENCES.has(o[0]!))).toBe(true); // number changed
    expect(outs.some((o) => o.length === 2)).toBe(true); // invented claim added
  });

  it('plays the runaway agent as growing, expensive calls of one user', () => {
    const spike = { user: 'user-07', team: 'research', rps: 1, model: SPIKE_MODEL };
    const a = planSpike(spike, 0);
    const b = planSpike(spike, 3);
    expect(b.body.length).toBeGreaterThan(a.body.length * 2);
    expect(a.headers['x-llmscope-user']).toBe('user-07');
    expect(JSON.parse(a.body).model).toBe('o1-pro');
  });
});

describe('scenarios', () => {
  const cycle = 600_000;
  it('stays healthy in the healthy scenario', () => {
    for (let t = 0; t < 2 * cycle; t += 10_000)
      expect(conditionsAt({ name: 'healthy', cycleMs: cycle }, t)).toEqual(HEALTHY);
  });

  it('plays spike, slow, failing, recovery in each incident cycle', () => {
    const at = (t: number) => conditionsAt({ name: 'incident', cycleMs: cycle }, t);
    expect(at(10_000).spike?.rps).toBeCloseTo(SPIKE_CALLS / 60, 5);
    expect(at(10_000).slow).toBeUndefined();
    expect(at(0.15 * cycle)).toEqual(HEALTHY);
    expect(at(0.3 * cycle).slow?.models).toEqual(['claude-sonnet-4']);
    expect(at(0.3 * cycle).errors).toBeUndefined();
    expect(at(0.45 * cycle).errors?.rate).toBeGreaterThan(0);
    expect(at(0.45 * cycle).slow).toBeDefined();
    expect(at(0.8 * cycle)).toEqual(HEALTHY);
    expect(at(cycle + 0.45 * cycle).errors).toBeDefined(); // and again
  });

  it('only spikes in the cost-spike scenario', () => {
    const at = (t: number) => conditionsAt({ name: 'cost-spike', cycleMs: cycle }, t);
    expect(at(10_000).spike).toBeDefined();
    expect(at(0.45 * cycle)).toEqual(HEALTHY);
  });
});
