// The demo's script: what goes wrong, when. A scenario maps time since the start to the conditions the production
// traffic runs under (a provider that is slow or failing, one user whose agent runs up a bill). `incident` repeats a
// cycle: one user's cost spikes at once (so a new demo shows an alert within a minute); later the provider slows, then
// also fails, and recovers; quiet again while the alerts resolve. Times are shares of the cycle, so a short cycle
// (tests) plays the same story faster.

export const SCENARIOS = ['healthy', 'incident', 'cost-spike'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** What the traffic generator applies to the requests it plans now. */
export interface TrafficConditions {
  /** A short name of the phase, for logs and the banner. */
  phase: string;
  /** Models answering slower: TTFT and TPOT multiplied. */
  slow?: { models: readonly string[]; ttftFactor: number; tpotFactor: number };
  /** Models failing this share of requests (500s, some 429s). */
  errors?: { models: readonly string[]; rate: number };
  /** One user's runaway agent: expensive calls at this rate (requests per second) on top of the traffic. */
  spike?: { user: string; team: string; rps: number; model: string };
}

export interface ScenarioOptions {
  name: ScenarioName;
  /** Length of one cycle in ms (default 10 minutes). */
  cycleMs?: number;
  /** Models of the provider that has the incident. */
  incidentModels?: readonly string[];
}

export const DEFAULT_CYCLE_MS = 10 * 60_000;
export const SPIKE_USER = { user: 'user-07', team: 'research' };
/** The expensive model the spiking user's agent calls. */
export const SPIKE_MODEL = 'o1-pro';
/** Calls the runaway agent makes in one spike (each over $1; about $4 a spike, $25 an hour at a 10-minute cycle). */
export const SPIKE_CALLS = 3;

/** Phases of one cycle as [start, end) shares of it. */
export const TIMELINE = {
  spike: [0, 0.1],
  slow: [0.2, 0.55],
  errors: [0.37, 0.55],
} as const;

/** The conditions at `elapsedMs` after the start. */
export function conditionsAt(opts: ScenarioOptions, elapsedMs: number): TrafficConditions {
  if (opts.name === 'healthy') return { phase: 'healthy' };
  const cycle = opts.cycleMs ?? DEFAULT_CYCLE_MS;
  const at = (((elapsedMs % cycle) + cycle) % cycle) / cycle;
  const within = (r: readonly [number, number]) => at >= r[0] && at < r[1];
  const models = opts.incidentModels ?? ['claude-sonnet-4'];
  const c: TrafficConditions = { phase: 'healthy' };
  const phases: string[] = [];
  if (opts.name === 'incident') {
    if (within(TIMELINE.slow)) {
      c.slow = { models, ttftFactor: 6, tpotFactor: 4 };
      phases.push('provider slow');
    }
    if (within(TIMELINE.errors)) {
      // 6% of the model's calls: well over HighErrorRate's 1%, while the whole service stays inside the default
      // availability SLO's budget (0.5%): the slow-burn ErrorBudgetBurn must not fire on a demo left running.
      c.errors = { models, rate: 0.06 };
      phases.push('provider failing');
    }
  }
  if (within(TIMELINE.spike)) {
    const spikeMs = (TIMELINE.spike[1] - TIMELINE.spike[0]) * cycle;
    c.spike = { ...SPIKE_USER, model: SPIKE_MODEL, rps: SPIKE_CALLS / (spikeMs / 1000) };
    phases.push(`cost spike (${SPIKE_USER.user})`);
  }
  if (phases.length > 0) c.phase = phases.join(', ');
  return c;
}
