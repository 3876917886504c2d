// The `alerts` config section (zod): its shapes (spec.ts) with the checks across fields, including what only compiling
// the rules finds, so check-config reports every problem. Every key is optional; defaults give the default pack
// routed by severity to log-only receivers.
// Self-contained (no import from config/schema.ts) so the main schema can import it without a cycle.
import { DURATION_PATTERN, MAX_TIME_MS } from '../time.js';
import { parseMatchers } from './matchers.js';
import { compileRules } from './rules.js';
import { silenceMatchersProblem } from './silences.js';
import { type AlertsConfig, alertsShapeSchema, LATENCY_SLO_BOUNDS, type MatchersInput, ms } from './spec.js';

export * from './spec.js';

export const alertsSchema = alertsShapeSchema.superRefine((a, raw) => {
  let failed = false;
  const ctx = {
    addIssue(i: { code: 'custom'; path: (string | number)[]; message: string }) {
      failed = true;
      raw.addIssue(i);
    },
  };
  const names = new Set<string>();
  a.rules.forEach((r, i) => {
    if (names.has(r.name))
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name "${r.name}"` });
    names.add(r.name);
    if (r.kind === undefined)
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'kind'], message: 'a rule needs a kind' });
    if (r.kind === 'all' && !r.conditions)
      ctx.addIssue({
        code: 'custom',
        path: ['rules', i, 'conditions'],
        message: 'kind "all" needs at least two conditions',
      });
    if (r.kind !== 'all' && r.kind !== 'slo_burn' && r.threshold === undefined)
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'threshold'], message: 'a rule needs a threshold' });
  });
  const receivers = new Set(['log', 'page', 'notify', ...a.receivers.map((r) => r.name)]);
  a.receivers.forEach((r, i) => {
    const kinds = ['webhook', 'pagerduty', 'slack', 'email', 'log'].filter((k) => r[k as keyof typeof r] !== undefined);
    if (kinds.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['receivers', i],
        message: 'a receiver has exactly one of webhook, pagerduty, slack, email, log',
      });
    for (const k of ['webhook', 'slack'] as const) {
      const c = r[k];
      if (c && !c.url && !c.urlEnv)
        ctx.addIssue({ code: 'custom', path: ['receivers', i, k], message: 'give url or urlEnv' });
    }
    // the later one silently replaced the earlier, in serve and in the export alike
    const first = a.receivers.findIndex((x) => x.name === r.name);
    if (first < i)
      ctx.addIssue({
        code: 'custom',
        path: ['receivers', i, 'name'],
        message: `receivers[${first}] is named "${r.name}" too: give each receiver its own name`,
      });
  });
  const checkReceiver = (name: string | undefined, path: (string | number)[]) => {
    if (name !== undefined && !receivers.has(name))
      ctx.addIssue({
        code: 'custom',
        path,
        message: `unknown receiver "${name}"; declared: ${[...receivers].join(', ')}`,
      });
  };
  const checkMatchers = (m: MatchersInput | undefined, path: (string | number)[]) => {
    if (!m) return;
    try {
      parseMatchers(m);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path, message: (err as Error).message });
    }
  };
  // as Alertmanager ("group_interval cannot be zero", the same for repeat_interval, so the export would not load):
  // with repeatInterval 0 the dispatcher re-sent a firing group at every flush
  const checkIntervals = (
    r: { groupInterval?: number | string; repeatInterval?: number | string },
    path: (string | number)[],
  ) => {
    for (const k of ['groupInterval', 'repeatInterval'] as const) {
      const v = r[k];
      if (v !== undefined && (typeof v === 'number' || DURATION_PATTERN.test(v)) && !(ms(v) > 0))
        ctx.addIssue({ code: 'custom', path: [...path, k], message: `${k} must be longer than 0, e.g. 5m` });
    }
  };
  checkIntervals(a.route, ['route']);
  // 0 evaluated every rule every 100 ms (the timer's floor), a rollup query per rule each time, for no rule that
  // could tell more than once a second
  const every = a.evaluationInterval;
  if ((typeof every === 'number' || DURATION_PATTERN.test(every)) && !(ms(every) > 0))
    ctx.addIssue({
      code: 'custom',
      path: ['evaluationInterval'],
      message: 'evaluationInterval must be longer than 0, e.g. 30s',
    });
  a.route.routes.forEach((r, i) => {
    checkMatchers(r.matchers, ['route', 'routes', i, 'matchers']);
    checkIntervals(r, ['route', 'routes', i]);
  });
  a.inhibitRules.forEach((r, i) => {
    checkMatchers(r.sourceMatchers, ['inhibitRules', i, 'sourceMatchers']);
    checkMatchers(r.targetMatchers, ['inhibitRules', i, 'targetMatchers']);
  });
  a.silences.forEach((s, i) => {
    const path = ['silences', i];
    try {
      const problem = silenceMatchersProblem(parseMatchers(s.matchers));
      if (problem) ctx.addIssue({ code: 'custom', path: [...path, 'matchers'], message: problem });
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: [...path, 'matchers'], message: (err as Error).message });
    }
    if (s.always && s.endsAt !== undefined)
      ctx.addIssue({ code: 'custom', path: [...path, 'endsAt'], message: 'give endsAt or always: true, not both' });
    else if (!s.always && s.endsAt === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'endsAt'],
        message: 'a silence needs endsAt (ISO 8601 or epoch ms), or always: true for one that never ends',
      });
    else if (s.endsAt !== undefined && s.endsAt > MAX_TIME_MS)
      ctx.addIssue({ code: 'custom', path: [...path, 'endsAt'], message: 'past the latest time a date can hold' });
    else if (s.endsAt !== undefined && s.startsAt !== undefined && !(s.endsAt > s.startsAt))
      ctx.addIssue({ code: 'custom', path: [...path, 'endsAt'], message: 'endsAt must be after startsAt' });
    if (s.startsAt !== undefined && s.startsAt > MAX_TIME_MS)
      ctx.addIssue({ code: 'custom', path: [...path, 'startsAt'], message: 'past the latest time a date can hold' });
  });
  checkReceiver(a.route.receiver, ['route', 'receiver']);
  a.route.routes.forEach((r, i) => {
    checkReceiver(r.receiver, ['route', 'routes', i, 'receiver']);
  });
  const slos = new Set<string>();
  a.slos.forEach((s, i) => {
    if (slos.has(s.name))
      ctx.addIssue({ code: 'custom', path: ['slos', i, 'name'], message: `duplicate SLO "${s.name}"` });
    slos.add(s.name);
    if (s.kind === 'latency' && s.threshold === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['slos', i, 'threshold'],
        message: 'a latency SLO needs a threshold, e.g. 10.24s',
      });
    if (
      s.kind === 'latency' &&
      s.threshold !== undefined &&
      (typeof s.threshold === 'number' || DURATION_PATTERN.test(s.threshold))
    ) {
      const sec = typeof s.threshold === 'number' ? s.threshold : ms(s.threshold) / 1000;
      if (!LATENCY_SLO_BOUNDS.includes(sec))
        ctx.addIssue({
          code: 'custom',
          path: ['slos', i, 'threshold'],
          message: `must be a bucket bound of llm_request_duration_seconds so Prometheus can count it: ${LATENCY_SLO_BOUNDS.join(', ')} (seconds)`,
        });
    }
  });
  // what only compiling the rules finds (a duration on a kind that is not a latency, a groupBy the kind cannot
  // split by, an override of no default rule), so check-config reports it too
  if (!failed) {
    let compiled: ReturnType<typeof compileRules> | undefined;
    try {
      compiled = compileRules(a as AlertsConfig);
    } catch (err) {
      // a value the shapes refused (a duration such as "-5m": "not a duration") is reported at its path already
      if (raw.issues.length === 0) ctx.addIssue({ code: 'custom', path: ['rules'], message: (err as Error).message });
    }
    for (const i of compiled?.issues ?? []) {
      const path = pathOf(i.path);
      ctx.addIssue({ code: 'custom', path, message: path.length ? i.message : `${i.path}: ${i.message}` });
    }
  }
});

/** `alerts.rules[0].threshold` → ['rules', 0, 'threshold'] (paths under `alerts`); other paths → []. */
function pathOf(p: string): (string | number)[] {
  if (!p.startsWith('alerts.')) return [];
  return p
    .slice('alerts.'.length)
    .split(/\.|\[(\d+)\]/)
    .filter((x) => x !== undefined && x !== '')
    .map((x) => (/^\d+$/.test(x) ? Number(x) : x));
}

/** The alerts config with every default filled in (for when the `alerts` key is absent). */
export function alertsConfigOf(raw: unknown): AlertsConfig {
  return alertsSchema.parse(raw ?? {});
}
