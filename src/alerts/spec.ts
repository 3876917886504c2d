// The `alerts` config section's shapes (zod): rules, the default pack switch and overrides, SLOs, routing,
// receivers, inhibition, and the types the rule compiler and the kinds read. The checks that need the compiler
// (alertsSchema's refinement) are in config.ts, which imports this file and the compiler: nothing the compiler
// imports depends on config.ts, so the two do not import each other.
// Self-contained (no import from config/schema.ts) so the main schema can import it without a cycle.
import { z } from 'zod';
import { formsError } from '../errors.js';
import { BUCKETS } from '../telemetry/metrics.js';
import { DURATION_PATTERN, durationSchema, timerDurationSchema } from '../time.js';
import { unknownTemplateFunctions } from './template.js';

/** runbookBaseUrl's default: llmscope's docs/alerts.md, whose headings are the default rules' runbooks. */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/llmscope/llmscope/blob/main/docs/alerts.md';

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Rollup dimensions a rule can filter on and group by. */
export const DIMENSIONS = ['provider', 'model', 'endpoint', 'feature', 'team'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export const OPS = ['>', '>=', '<', '<='] as const;
export type Op = (typeof OPS)[number];

export const KIND_NAMES = [
  'latency_quantile',
  'ttft_quantile',
  'tpot_quantile',
  'error_rate',
  'request_rate',
  'spend_day',
  'spend_mtd',
  'spend_forecast',
  'single_call_cost',
  'cost_anomaly',
  'refusal_rate',
  'thumbs_down_rate',
  'hallucination_rate',
  'gpu_utilization',
  'gpu_memory',
  'budget_ratio',
  'reconciliation_gap',
  'slo_burn',
  'all',
] as const;
export type KindName = (typeof KIND_NAMES)[number];

/**
 * A rule's kind missing or unknown: zod said "Invalid option" either way (QA45). Says which, and the kind meant when
 * the given one is the start of one (`latency` for latency_quantile) or one's word for it.
 */
function kindError(issue: { input?: unknown }): string {
  const all = KIND_NAMES.join(', ');
  if (issue.input === undefined) return `required, missing: one of ${all} (docs/alerts.md "Rule kinds")`;
  const given = String(issue.input);
  const near = KIND_NAMES.filter((k) => k.startsWith(given.toLowerCase()) || k.split('_')[0] === given.toLowerCase());
  return `unknown kind ${JSON.stringify(given)}${near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : ''}: one of ${all}`;
}

export { type Duration, durationMs as ms, durationSchema } from '../time.js';

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'a Prometheus label name');
const alertName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and "_" (a Prometheus alert name)');

export const filterSchema = z
  .object({
    provider: z.string().min(1),
    model: z.string().min(1),
    endpoint: z.string().min(1),
    feature: z.string().min(1),
    team: z.string().min(1),
  })
  .partial()
  .strict();
export type RuleFilter = z.infer<typeof filterSchema>;

/**
 * One matcher as Alertmanager and amtool write it: name, op, then a quoted value or an unquoted one without spaces,
 * quotes, braces, commas, backslashes, `!`, `=` or `~` (`model=gpt-4o`; Alertmanager's reserved characters, so
 * `severity==critical` is refused rather than read as the value "=critical"). matchers.ts parses with it.
 */
export const MATCHER_RE =
  /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"'`{},\\!=~]+))\s*$/;

const MATCHERS_FORMS = 'a list of matchers like ["severity=\\"critical\\"", "model=gpt-4o"], or a label → value map';

/**
 * Matchers as Alertmanager writes them (`severity="critical"`, `alertname=~"A|B"`, `model=gpt-4o`), or a label → value
 * map. Missing or neither, they are told those forms (zod's own word for such a union was 'Invalid input': QA33).
 */
export const matchersSchema = z.union(
  [
    z.array(z.string().regex(MATCHER_RE, 'a matcher like severity="critical" or model=gpt-4o')),
    z.record(labelName, z.string()),
  ],
  { error: formsError(MATCHERS_FORMS) },
);
export type MatchersInput = z.infer<typeof matchersSchema>;

/** The signal and comparison part of a rule (also one condition of an `all` rule). */
const conditionShape = {
  kind: z.enum(KIND_NAMES, { error: kindError }),
  /** Window the signal is computed over (default per kind, e.g. 5m). */
  window: durationSchema.optional(),
  /** For quantile kinds (default 0.95). */
  quantile: z.number().gt(0).lt(1).optional(),
  op: z.enum(OPS).optional(),
  /** In the kind's base unit: seconds (a duration such as "2s" is accepted), ratio 0–1, USD, requests/s, score. */
  threshold: z.union([z.number(), z.string().regex(DURATION_PATTERN, 'a number or a duration like 500ms')]).optional(),
  /** Fewest requests (or evaluations, feedback) in the window for the rule to judge at all. */
  minSamples: z.number().int().nonnegative().optional(),
  filter: filterSchema.optional(),
  /** cost_anomaly: days of history at the same hour (default 7) and how many must have data (default 3). */
  baselineDays: z.number().int().min(2).max(28).optional(),
  minHistory: z.number().int().min(2).max(28).optional(),
  /** slo_burn: the SLO's name and which window pair (fast = page, slow = ticket). */
  slo: z.string().optional(),
  burn: z.enum(['fast', 'slow']).optional(),
};
export const conditionSchema = z.object(conditionShape).strict();
export type ConditionInput = z.infer<typeof conditionSchema>;

/** An annotation's text: a template whose every `{{` action is closed (Prometheus refuses the rule otherwise). */
const annotationsSchema = z.record(
  z.string(),
  z
    .string()
    .refine(
      (t) => !t.replace(/\{\{[\s\S]*?\}\}/g, '').includes('{{'),
      'an action opened with "{{" is not closed with "}}" (Prometheus refuses the exported rule, notifications show it raw)',
    )
    .superRefine((t, ctx) => {
      const unknown = unknownTemplateFunctions(t);
      if (unknown.length)
        ctx.addIssue({
          code: 'custom',
          message: `${unknown.map((f) => `"${f}"`).join(', ')}: no template function of Prometheus's (it refuses the exported rules file, notifications show the action raw); the value's are humanize, humanizeDuration, humanizePercentage and printf`,
        });
    }),
);

/** An `all` rule's conditions, as its message says them (zod said "Too small: expected array to have >=2 items"). */
const ALL_CONDITIONS =
  'kind "all" needs at least two conditions, each a kind and its threshold: [{ kind: error_rate, threshold: 0.05 }, { kind: latency_quantile, threshold: 2s }]';

/** A severity other than the three the routes know (zod said 'Invalid option: expected one of "critical"|...'). */
function severityError(issue: { input?: unknown }): string {
  return `unknown severity ${JSON.stringify(String(issue.input))}: critical, warning or info (the default routes page, notify and log them)`;
}

export const ruleSchema = z
  .object({
    /** The alert name (`alertname` label). */
    name: alertName,
    enabled: z.boolean().optional(),
    ...conditionShape,
    /** For kind `all`: every condition must hold on the same group (e.g. the same model). */
    conditions: z.array(conditionSchema, { error: ALL_CONDITIONS }).min(2, { error: ALL_CONDITIONS }).optional(),
    for: durationSchema.optional(),
    keepFiringFor: durationSchema.optional(),
    severity: z.enum(SEVERITIES, { error: severityError }).optional(),
    /** Labels the alert is split by (default per kind, e.g. [model]). */
    groupBy: z.array(z.string()).optional(),
    labels: z.record(labelName, z.string()).optional(),
    /** summary, description, runbook_url; `{{ $labels.model }}` and `{{ $value }}` are filled in. */
    annotations: annotationsSchema.optional(),
  })
  .strict();
export type RuleInput = z.infer<typeof ruleSchema>;

export const sloSchema = z
  .object({
    name: labelName,
    kind: z.enum(['availability', 'latency']),
    /** Target share of good requests, e.g. 0.995. */
    objective: z.number().gt(0.5).lt(1),
    /** latency: a request is good when faster than this (must be a bucket bound of llm_request_duration_seconds). */
    threshold: z.union([z.number().positive(), z.string().regex(DURATION_PATTERN)]).optional(),
    filter: filterSchema.optional(),
  })
  .strict();
export type SloInput = z.infer<typeof sloSchema>;

/** A route's groupBy: label names, or '...' (every label: one group per alert), as Alertmanager's group_by. */
const routeGroupBy = z.array(
  z.string().regex(/^(?:[a-zA-Z_][a-zA-Z0-9_]*|\.\.\.)$/, 'a label name such as model, or "..." (one group per alert)'),
);

const routeShape = {
  receiver: z.string().min(1).optional(),
  matchers: matchersSchema.optional(),
  groupBy: routeGroupBy.optional(),
  groupWait: durationSchema.optional(),
  groupInterval: durationSchema.optional(),
  repeatInterval: durationSchema.optional(),
  /** Keep matching sibling routes after this one. */
  continue: z.boolean().optional(),
};
export const childRouteSchema = z.object(routeShape).strict();
export type ChildRouteInput = z.infer<typeof childRouteSchema>;

const envOrValue = {
  url: z
    .url({ protocol: /^https?$/, message: 'an absolute http(s) URL such as https://hooks.example.com/alerts' })
    .optional(),
  urlEnv: z.string().optional(),
};

export const receiverSchema = z
  .object({
    name: z.string().min(1),
    /** Send resolved notifications too (default true). */
    sendResolved: z.boolean().default(true),
    /** Alertmanager-compatible webhook (POST JSON, version 4). */
    webhook: z.object(envOrValue).strict().optional(),
    /** PagerDuty Events API v2. */
    pagerduty: z
      .object({
        routingKeyEnv: z.string().min(1),
        url: z
          .url({
            protocol: /^https?$/,
            message: 'an absolute http(s) URL such as https://events.pagerduty.com/v2/enqueue',
          })
          .default('https://events.pagerduty.com/v2/enqueue'),
      })
      .strict()
      .optional(),
    /** Slack incoming webhook (the URL is a secret: prefer urlEnv). */
    slack: z.object(envOrValue).strict().optional(),
    email: z
      .object({
        to: z.union([z.string().min(3), z.array(z.string().min(3)).min(1)]),
        from: z.string().min(3),
        smtp: z
          .object({
            host: z.string().min(1),
            port: z.number().int().min(1).max(65535).default(587),
            secure: z.boolean().default(false),
            requireTLS: z.boolean().default(false),
            userEnv: z.string().optional(),
            passwordEnv: z.string().optional(),
          })
          .strict(),
      })
      .strict()
      .optional(),
    /** Log only (the default for `info`). */
    log: z.object({}).strict().optional(),
  })
  .strict();
export type ReceiverConfig = z.infer<typeof receiverSchema>;

export const inhibitRuleSchema = z
  .object({
    sourceMatchers: matchersSchema,
    targetMatchers: matchersSchema,
    equal: z.array(labelName).default([]),
  })
  .strict();
export type InhibitRuleConfig = z.infer<typeof inhibitRuleSchema>;

export const DEFAULT_SLOS: SloInput[] = [
  { name: 'availability', kind: 'availability', objective: 0.995 },
  { name: 'latency', kind: 'latency', objective: 0.99, threshold: '10.24s' },
];

/** A time in the config: ISO 8601 with a zone (`2026-01-10T08:00:00Z`) or epoch milliseconds. */
export const TIME_FORMS = 'an ISO 8601 time with a zone such as 2026-01-10T08:00:00Z, or epoch milliseconds';
const configTime = z.union(
  [z.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))],
  { error: TIME_FORMS },
);

/**
 * A static silence from the config file: matchers, a comment, and either `endsAt` (with an optional `startsAt`) or
 * `always: true`. Applied as API silences are; listed by GET /api/alerts/silences with `source: "config"`.
 */
export const configSilenceSchema = z
  .object({
    matchers: matchersSchema,
    comment: z.string().max(2000).default(''),
    startsAt: configTime.optional(),
    endsAt: configTime.optional(),
    /** A silence that never ends (instead of endsAt). */
    always: z.boolean().default(false),
  })
  .strict();
export type ConfigSilence = z.infer<typeof configSilenceSchema>;

/** The section's shape, before the checks across fields (config.ts `alertsSchema`). */
export const alertsShapeSchema = z
  .object({
    /** Run the built-in alert engine inside `serve`. */
    enabled: z.boolean().default(true),
    // a timer's interval: a longer one fired every millisecond (an evaluation loop burning a core)
    evaluationInterval: timerDurationSchema.default('30s'),
    /**
     * After a downtime longer than this, a pending alert restarts its `for` clock at the first evaluation instead of
     * resuming it (Prometheus's --rules.alert.for-outage-tolerance): whether the condition held meanwhile is unknown.
     */
    forOutageTolerance: durationSchema.default('1h'),
    /** The default rule pack (p95 latency, error rate, TTFT, TPOT, spend, quality, GPU, ServiceDegraded, SLOs). */
    defaultRules: z.boolean().default(true),
    /** Partial changes to default-pack rules by name, e.g. `HighLatency: {threshold: 3, for: 5m}` or `{enabled: false}`. */
    overrides: z.record(z.string(), ruleSchema.partial().strict()).default({}),
    rules: z.array(ruleSchema).default([]),
    slos: z.array(sloSchema).default(DEFAULT_SLOS),
    route: z
      .object({
        receiver: z.string().min(1).default('log'),
        groupBy: routeGroupBy.default(['alertname', 'model']),
        groupWait: durationSchema.default('30s'),
        groupInterval: durationSchema.default('5m'),
        repeatInterval: durationSchema.default('4h'),
        routes: z.array(childRouteSchema).default([
          { matchers: ['severity="critical"'], receiver: 'page' },
          { matchers: ['severity="warning"'], receiver: 'notify' },
          { matchers: ['severity="info"'], receiver: 'log' },
        ]),
      })
      .strict()
      .prefault({}),
    /** `log` always exists; `page` and `notify` log only until declared here. */
    receivers: z.array(receiverSchema).default([]),
    inhibitRules: z.array(inhibitRuleSchema).default([
      {
        sourceMatchers: ['alertname="ServiceDegraded"'],
        targetMatchers: ['alertname=~"HighLatency|HighErrorRate"'],
        equal: ['model'],
      },
    ]),
    /** Static silences (config-file silences; the API makes the others). */
    silences: z.array(configSilenceSchema).default([]),
    /** Where the default rules' runbook_url points (anchors are the alert names in lower case). */
    runbookBaseUrl: z.url().default(DEFAULT_RUNBOOK_BASE_URL),
    /** Link put in notifications (the dashboard's URL). */
    externalUrl: z
      .url({ protocol: /^https?$/, message: 'an absolute http(s) URL such as https://llmscope.example.com' })
      .optional(),
    /** How long alert history and the notification log are kept. */
    historyRetention: durationSchema.default('30d'),
  })
  .strict();

/** llm_request_duration_seconds bucket bounds: a latency SLO threshold must be one of them. */
export const LATENCY_SLO_BOUNDS: readonly number[] = BUCKETS.duration;

export type AlertsConfig = z.infer<typeof alertsShapeSchema>;
export type AlertsConfigInput = z.input<typeof alertsShapeSchema>;
