// Compiles the `alerts` config into rules: the default pack (with overrides), the user's rules, and two burn-rate
// rules per SLO; defaults per kind filled in, durations in ms, thresholds in base units. Problems come back with paths.

import { DEFAULT_PACK, packAnnotations, sloAnnotations } from './default-pack.js';
import { KINDS } from './kinds/index.js';
import type { Condition, Rule, SloSpec } from './model.js';
import {
  type AlertsConfig,
  type ConditionInput,
  DEFAULT_RUNBOOK_BASE_URL,
  type Duration,
  ms,
  type RuleInput,
  SEVERITIES,
  type Severity,
  type SloInput,
} from './spec.js';
import { USD_VALUE } from './template.js';

/**
 * The default pack's rules and the SLO burn-rate rule: the names `alerts.overrides` may name, and the rules
 * docs/alerts.md has a runbook heading for.
 */
const DEFAULT_RULE_NAMES = new Set([...DEFAULT_PACK.map((r) => r.name), 'ErrorBudgetBurn']);

export interface CompiledRules {
  rules: Rule[];
  issues: { path: string; message: string }[];
}

export function sloSpecOf(s: SloInput): SloSpec {
  const t = s.threshold;
  return {
    name: s.name,
    kind: s.kind,
    objective: s.objective,
    thresholdSec: t === undefined ? null : typeof t === 'number' ? t : ms(t) / 1000,
    filter: s.filter ?? {},
  };
}

/**
 * Kinds whose value is a share that cannot leave 0–1 (a GPU's busy time, memory used of total, the share of calls
 * that failed, were refused, hallucinated or got a thumbs-down): a threshold outside it, such as 30 written for 30% as
 * nvidia-smi and dcgm-exporter print utilization and dashboards print rates, is crossed always or never.
 */
const SHARE_KINDS: ReadonlySet<string> = new Set([
  'gpu_utilization',
  'gpu_memory',
  'error_rate',
  'refusal_rate',
  'hallucination_rate',
  'thumbs_down_rate',
]);

/**
 * Kinds whose value is never negative (seconds, calls per second, dollars, a ratio of spend to a limit, a gap's size):
 * a negative threshold is crossed always (`>`) or never (`<`). Not cost_anomaly's z-score, which is negative below
 * the baseline.
 */
const NONNEGATIVE_KINDS: ReadonlySet<string> = new Set([
  'latency_quantile',
  'ttft_quantile',
  'tpot_quantile',
  'request_rate',
  'spend_day',
  'spend_mtd',
  'spend_forecast',
  'single_call_cost',
  'budget_ratio',
  'reconciliation_gap',
]);

/**
 * Condition settings only some kinds read. Given to any other kind they were accepted and ignored (QA45: a
 * `quantile: 0.99` on an error_rate rule passed check-config and changed nothing), so they are refused at their path.
 */
const SETTING_KINDS: readonly [
  setting: 'quantile' | 'baselineDays' | 'minHistory' | 'slo' | 'burn',
  kinds: string[],
][] = [
  ['quantile', ['latency_quantile', 'ttft_quantile', 'tpot_quantile']],
  ['baselineDays', ['cost_anomaly']],
  ['minHistory', ['cost_anomaly']],
  ['slo', ['slo_burn']],
  ['burn', ['slo_burn']],
];

function ignoredSettings(c: ConditionInput, path: string, issues: CompiledRules['issues']): void {
  for (const [setting, kinds] of SETTING_KINDS)
    if (c[setting] !== undefined && !kinds.includes(c.kind))
      issues.push({
        path: `${path}.${setting}`,
        message: `${c.kind} does not read ${setting} (only ${kinds.join(', ')} ${kinds.length > 1 ? 'do' : 'does'}), so it would change nothing`,
      });
}

/** What a rule of kind `all` reads from each condition; set beside `conditions`, they were ignored. */
const CONDITION_SETTINGS = [
  'window',
  'quantile',
  'op',
  'threshold',
  'minSamples',
  'filter',
  'baselineDays',
  'minHistory',
  'slo',
  'burn',
] as const;

function thresholdOf(c: ConditionInput, path: string, issues: CompiledRules['issues']): number {
  const t = c.threshold;
  if (t === undefined) return 0;
  if (typeof t === 'number') {
    if (SHARE_KINDS.has(c.kind) && (t < 0 || t > 1))
      issues.push({
        path: `${path}.threshold`,
        message: `${c.kind} is a ratio from 0 to 1 (${t > 1 && t <= 100 ? `${t / 100} for ${t}%` : '0.8 for 80%'}), so ${t} is crossed always or never`,
      });
    else if (NONNEGATIVE_KINDS.has(c.kind) && t < 0)
      issues.push({
        path: `${path}.threshold`,
        message: `${c.kind} is never negative, so ${t} is crossed always or never`,
      });
    return t;
  }
  if (KINDS[c.kind].unit !== 'seconds') {
    issues.push({ path: `${path}.threshold`, message: `${c.kind} takes a number, not a duration` });
    return 0;
  }
  return ms(t as Duration) / 1000;
}

function conditionOf(
  c: ConditionInput,
  path: string,
  issues: CompiledRules['issues'],
  slo: SloSpec | null = null,
): Condition {
  const k = KINDS[c.kind];
  ignoredSettings(c, path, issues);
  // a zero window reads no data (the rule never fires) and exports `rate(...[0d])`, which Prometheus refuses
  if (c.window !== undefined && !(ms(c.window) > 0))
    issues.push({ path: `${path}.window`, message: 'a window must be longer than 0, e.g. 5m' });
  // a window inside a minute read the current minute's bucket (none on the minute, so a backtest never had data),
  // while Prometheus reads those seconds: not the same rule, and its exported promtool test failed
  else if (c.window !== undefined && k.source === 'rollups' && ms(c.window) < 60_000)
    issues.push({
      path: `${path}.window`,
      message: `${c.kind} reads per-minute rollups: give a window of at least 1m`,
    });
  return {
    kind: c.kind,
    windowMs: c.window === undefined ? k.defaults.windowMs : ms(c.window),
    quantile: c.quantile ?? 0.95,
    op: c.op ?? k.defaults.op,
    threshold: thresholdOf(c, path, issues),
    minSamples: c.minSamples ?? k.defaults.minSamples,
    filter: c.filter ?? {},
    baselineDays: c.baselineDays ?? 7,
    minHistory: Math.min(c.minHistory ?? 3, c.baselineDays ?? 7),
    slo,
    burn: c.burn ?? 'fast',
  };
}

/**
 * Annotations a rule gets when it declares none. An `all` rule's value is its first condition's, so it is named and
 * formatted as that one's, and the other conditions are said (it said `all is 1.61`: QA45).
 */
function defaultAnnotations(r: RuleInput): Record<string, string> {
  const first = r.kind === 'all' ? r.conditions?.[0] : r;
  const kind = first?.kind ?? r.kind ?? 'all';
  const unit = KINDS[kind].unit;
  const v =
    unit === 'seconds'
      ? '{{ $value | humanizeDuration }}'
      : unit === 'ratio'
        ? '{{ $value | humanizePercentage }}'
        : unit === 'usd'
          ? USD_VALUE
          : '{{ printf "%.3g" $value }}';
  const rest =
    r.kind === 'all'
      ? (r.conditions ?? [])
          .slice(1)
          .map((c) => `, and ${c.kind} ${c.op ?? KINDS[c.kind].defaults.op} ${c.threshold ?? 0}`)
      : [];
  return { summary: `${r.name}: ${kind} is ${v}${rest.join('')}` };
}

/**
 * The rule's severity: `severity`, else a `labels.severity` naming one (Prometheus's way of writing it), else warning.
 * The exported rule writes `labels` over `severity` while the built-in engine wrote `severity` over `labels`, so a
 * rule whose two said different things was routed one way here and the other in Alertmanager (QA45); a
 * `labels.severity` that is not a severity routes nowhere, and a `labels.alertname` is overwritten by both.
 */
function severityOf(r: RuleInput, path: string, issues: CompiledRules['issues']): Severity {
  const label = r.labels?.severity;
  if (r.labels?.alertname !== undefined && r.labels.alertname !== r.name)
    issues.push({
      path: `${path}.labels.alertname`,
      message: `an alert's alertname is its rule's name ("${r.name}"): a label cannot change it (give the rule another name)`,
    });
  if (label === undefined) return r.severity ?? 'warning';
  if (!(SEVERITIES as readonly string[]).includes(label)) {
    issues.push({
      path: `${path}.labels.severity`,
      message: `"${label}" is not a severity the routes know: critical, warning or info (set it with severity:)`,
    });
    return r.severity ?? 'warning';
  }
  if (r.severity !== undefined && r.severity !== label)
    issues.push({
      path: `${path}.labels.severity`,
      message: `${label}, where severity says ${r.severity}: the built-in engine would route the alert as ${r.severity}, the exported rule as ${label}; say it once, with severity:`,
    });
  return r.severity ?? (label as Severity);
}

function compileRule(r: RuleInput, path: string, cfg: AlertsConfig, issues: CompiledRules['issues']): Rule | null {
  if (!r.kind) {
    issues.push({ path: `${path}.kind`, message: 'a rule needs a kind' });
    return null;
  }
  let slo: SloSpec | null = null;
  if (r.kind === 'slo_burn') {
    const s = cfg.slos.find((x) => x.name === r.slo);
    if (!s) {
      issues.push({ path: `${path}.slo`, message: `unknown SLO "${r.slo ?? ''}"; declare it under alerts.slos` });
      return null;
    }
    slo = sloSpecOf(s);
  }
  if (r.kind === 'all')
    for (const key of CONDITION_SETTINGS)
      if (r[key] !== undefined)
        issues.push({
          path: `${path}.${key}`,
          message: `a rule of kind all reads ${key} from each of its conditions: set it there, not beside them`,
        });
  const conditions =
    r.kind === 'all'
      ? (r.conditions ?? []).map((c, i) => conditionOf(c, `${path}.conditions[${i}]`, issues))
      : [conditionOf(r as ConditionInput, path, issues, slo)];
  const first = conditions[0];
  if (!first) {
    issues.push({ path: `${path}.conditions`, message: 'kind "all" needs at least two conditions' });
    return null;
  }
  if (r.kind === 'all' && conditions.some((c) => c.kind === 'all' || c.kind === 'slo_burn'))
    issues.push({ path: `${path}.conditions`, message: 'conditions cannot be "all" or "slo_burn"' });
  const groupBy = r.groupBy ?? KINDS[first.kind].defaults.groupBy;
  for (const c of conditions) {
    const allowed = KINDS[c.kind].groupable;
    const bad = allowed ? groupBy.filter((g) => !allowed.includes(g)) : [];
    if (bad.length)
      issues.push({
        path: `${path}.groupBy`,
        message: `${c.kind} cannot group by ${bad.join(', ')}; it can group by ${allowed?.join(', ') || 'nothing'}`,
      });
  }
  const annotations = {
    ...(r.annotations ?? defaultAnnotations(r)),
  };
  // The default rules' runbooks are headings of docs/alerts.md named after them; a rule of the user's own has none
  // there, so its link goes to the rule kinds' section, which says what its kind measures (QA45: a dead anchor).
  // A runbookBaseUrl of the user's own (their wiki) is theirs to give every rule a heading: its anchor stays the name.
  const ownRunbook = DEFAULT_RULE_NAMES.has(r.name) || cfg.runbookBaseUrl !== DEFAULT_RUNBOOK_BASE_URL;
  if (!annotations.runbook_url)
    annotations.runbook_url = `${cfg.runbookBaseUrl}#${ownRunbook ? r.name.toLowerCase() : 'rule-kinds'}`;
  const suffix = slo ? `:${slo.name}:${first.burn}` : '';
  const severity = severityOf(r, path, issues);
  return {
    id: `${r.name}${suffix}`,
    name: r.name,
    conditions,
    forMs: r.for === undefined ? 0 : ms(r.for),
    keepFiringForMs: r.keepFiringFor === undefined ? 0 : ms(r.keepFiringFor),
    severity,
    groupBy,
    labels: { ...(slo ? { slo: slo.name, burn: first.burn } : {}), ...(r.labels ?? {}) },
    annotations,
  };
}

/** The SLO burn-rate rules: `fast` pages (critical), `slow` opens a ticket (warning). */
export function sloRules(cfg: AlertsConfig): RuleInput[] {
  return cfg.slos.flatMap((s): RuleInput[] =>
    (['fast', 'slow'] as const).map((burn) => ({
      name: 'ErrorBudgetBurn',
      kind: 'slo_burn',
      slo: s.name,
      burn,
      for: burn === 'fast' ? '2m' : '15m',
      severity: burn === 'fast' ? 'critical' : 'warning',
      groupBy: [],
      annotations: sloAnnotations(s.name, burn, s.objective),
    })),
  );
}

/** The rule inputs in force: the default pack with overrides, SLO rules, then the user's rules (which win by name). */
export function ruleInputs(cfg: AlertsConfig): { input: RuleInput; path: string }[] {
  const user = new Set(cfg.rules.map((r) => r.name));
  const out: { input: RuleInput; path: string }[] = [];
  const pack = cfg.defaultRules ? [...DEFAULT_PACK, ...sloRules(cfg)] : sloRules(cfg);
  for (const r of pack) {
    if (user.has(r.name)) continue;
    const o = cfg.overrides[r.name];
    const merged = o ? ({ ...r, ...o, name: r.name } as RuleInput) : r;
    // An override's own figures in the descriptions (its threshold, for, window), unless it gives annotations.
    if (o && !o.annotations) merged.annotations = packAnnotations(merged) ?? r.annotations;
    if (merged.enabled === false) continue;
    out.push({ input: merged, path: o ? `alerts.overrides.${r.name}` : `(default rule ${r.name})` });
  }
  cfg.rules.forEach((r, i) => {
    if (r.enabled !== false) out.push({ input: r, path: `alerts.rules[${i}]` });
  });
  return out;
}

export function compileRules(cfg: AlertsConfig): CompiledRules {
  const issues: CompiledRules['issues'] = [];
  const rules: Rule[] = [];
  for (const name of Object.keys(cfg.overrides))
    if (!DEFAULT_RULE_NAMES.has(name))
      issues.push({
        path: `alerts.overrides.${name}`,
        message: `no default rule is named "${name}"; known: ${[...DEFAULT_RULE_NAMES].join(', ')}`,
      });
  // An override tunes a default rule (threshold, window, for, severity, filter...); one changing its kind kept the
  // default's other settings (HighLatency's quantile and 2 s threshold on an error rate): refused, with the way out.
  const rekinded = new Set<string>();
  for (const r of [...DEFAULT_PACK, { name: 'ErrorBudgetBurn', kind: 'slo_burn' }]) {
    const o = cfg.overrides[r.name];
    if (o?.kind === undefined || o.kind === r.kind) continue;
    rekinded.add(`alerts.overrides.${r.name}`);
    issues.push({
      path: `alerts.overrides.${r.name}.kind`,
      message: `${r.name} measures ${r.kind}; an override tunes it but cannot change its kind: to alert on ${o.kind}, set enabled: false here and add a rule of your own under alerts.rules`,
    });
  }
  for (const { input, path } of ruleInputs(cfg)) {
    if (rekinded.has(path)) continue;
    const r = compileRule(input, path, cfg, issues);
    if (r) rules.push(r);
  }
  return { rules, issues };
}
