// GET /api/alerts (firing, pending, history, rules), silences (GET, POST, DELETE /api/alerts/silences[/:id]) and
// the noise report (GET /api/alerts/noise). Wire format is snake_case; times are ISO 8601.
import { z } from 'zod';
import type { Audit } from '../audit/index.js';
import { LlmscopeError } from '../errors.js';
import { fromZod, parseQuery, type Router, readJson, sendJson } from '../http/index.js';
import { callInScope } from '../store/index.js';
import { isDateTime, isoOrNull, MAX_TIME_MS, timeParamSchema } from '../time.js';
import { exportedRules } from './export/prometheus.js';
import { noiseReport } from './noise.js';
import type { AlertsService } from './service.js';
import { type Silence, silenceStatus } from './silences.js';
import { durationSchema, matchersSchema, ms, TIME_FORMS } from './spec.js';
import type { ActiveAlert, AlertEvent } from './state/types.js';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
/** A silence's time as ISO 8601; null for one no Date can hold (stored before 27e3cca refused them) or none. */
const silenceIso = isoOrNull;
const time = z.union(
  [z.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))],
  { error: TIME_FORMS },
);

const silenceBody = z
  .object({
    matchers: matchersSchema,
    starts_at: time.optional(),
    ends_at: time.optional(),
    /** Instead of ends_at: how long from starts_at, e.g. "2h". */
    duration: durationSchema.optional(),
    comment: z.string().max(2000).optional(),
    created_by: z.string().max(200).optional(),
  })
  .strict();

function alertJson(a: ActiveAlert, service: AlertsService, now: number) {
  const muted =
    a.state === 'firing'
      ? service.dispatcher.mutedBy(
          {
            fingerprint: a.fingerprint,
            ruleId: a.ruleId,
            labels: a.labels,
            annotations: a.annotations,
            status: 'firing',
            startsAt: a.firedAt ?? a.activeAt,
            endsAt: Number.POSITIVE_INFINITY,
            value: a.value,
          },
          now,
        )
      : null;
  return {
    alertname: a.labels.alertname,
    rule: a.ruleId,
    fingerprint: a.fingerprint,
    state: a.state,
    severity: a.labels.severity,
    value: a.value,
    labels: a.labels,
    annotations: a.annotations,
    active_at: iso(a.activeAt),
    fired_at: iso(a.firedAt),
    silenced_by: muted?.silences ?? [],
    inhibited_by: muted?.inhibitedBy ?? null,
  };
}

function historyJson(e: AlertEvent) {
  return {
    alertname: e.alertname,
    rule: e.ruleId,
    fingerprint: e.fingerprint,
    labels: e.labels,
    value: e.value,
    active_at: iso(e.activeAt),
    fired_at: iso(e.firedAt),
    resolved_at: iso(e.time),
    duration_s: e.firedAt === null ? null : (e.time - e.firedAt) / 1000,
  };
}

function silenceJson(s: Silence, now: number) {
  return {
    id: s.id,
    /** `config`: from `alerts.silences` in the config file (change it there); `api`: made through this API. */
    source: s.source,
    matchers: s.matchers,
    // a config silence without startsAt has always started; one with `always: true` never ends
    starts_at: s.source === 'config' && s.startsAt === 0 ? null : silenceIso(s.startsAt),
    ends_at: silenceIso(s.endsAt),
    status: silenceStatus(s, now),
    created_by: s.createdBy,
    comment: s.comment,
    created_at: silenceIso(s.createdAt),
    updated_at: silenceIso(s.updatedAt),
  };
}

// ?history_limit= as /api/requests' limit: a value out of range is refused, not clamped or read as the default
const HISTORY_LIMIT = 'expected an integer from 1 to 500';
const historyQuery = z.object({
  history_limit: z
    .string()
    .regex(/^\d+$/, { message: HISTORY_LIMIT })
    .transform(Number)
    .refine((n) => n >= 1 && n <= 500, { message: HISTORY_LIMIT })
    .optional(),
});

export function registerAlertRoutes(router: Router, service: AlertsService, bodyLimit: number, audit?: Audit): void {
  const exported = new Set(exportedRules(service.config).exported.map((e) => e.rule.id));

  router.get('/api/alerts', async ({ res, url, principal }) => {
    // a silence made or expired through another replica mutes (or stops muting) the alerts listed here at once, as
    // GET /api/alerts/silences lists it: a follower never reads the silences otherwise (QA31)
    await service.syncSilences();
    const now = service.clock.now();
    const limit = parseQuery(historyQuery, url).history_limit ?? 100;
    // A team-scoped principal sees the alerts whose labels name one of its teams (and features): rules grouped by
    // team; an alert over every team names none, so it is not shown to it.
    const mine = (labels: Readonly<Record<string, string>>) =>
      callInScope(principal?.scope, labels['team'] ?? null, labels['feature'] ?? null);
    const active = service.engine
      .activeAlerts()
      .filter((a) => mine(a.labels))
      .sort((a, b) => a.activeAt - b.activeAt);
    const history = (await service.state.listEvents({ from: 0, to: now + 1, limit: limit * 4 }))
      .filter((e) => e.kind === 'resolved' && mine(e.labels))
      .slice(0, limit);
    const health = new Map(service.engine.ruleHealth().map((h) => [h.ruleId, h]));
    sendJson(res, 200, {
      enabled: service.config.enabled,
      /** Whether this replica evaluates the rules (false on the replicas that are not the elected evaluator). */
      evaluator: service.config.enabled && service.isEvaluator(),
      evaluated_at: iso(Math.max(0, ...[...health.values()].map((h) => h.lastEvaluatedAt ?? 0)) || null),
      firing: active.filter((a) => a.state === 'firing').map((a) => alertJson(a, service, now)),
      pending: active.filter((a) => a.state === 'pending').map((a) => alertJson(a, service, now)),
      history: history.map(historyJson),
      rules: service.rules.map((r) => {
        const h = health.get(r.id);
        return {
          id: r.id,
          alertname: r.name,
          severity: r.severity,
          kinds: r.conditions.map((c) => c.kind),
          for_s: r.forMs / 1000,
          health: h?.health ?? 'unknown',
          last_error: h?.lastError ?? null,
          last_evaluated_at: iso(h?.lastEvaluatedAt ?? null),
          exported_to_prometheus: exported.has(r.id),
        };
      }),
      groups: service.dispatcher
        .snapshot()
        .filter((g) => !principal?.scope || mine(g.labels))
        .map((g) => ({
          key: g.key,
          receiver: g.receiver,
          labels: g.labels,
          alerts: g.alerts,
          next_flush_at: iso(g.nextFlush),
        })),
    });
  });

  router.get('/api/alerts/silences', async ({ res }) => {
    await service.syncSilences();
    const now = service.clock.now();
    const list = service.silences.all();
    // a stored silence with a time no Date can hold is listed with that time null, not a 500 for the whole list
    for (const s of list) {
      const bad = (['startsAt', 'endsAt', 'createdAt', 'updatedAt'] as const).filter(
        (f) => !isDateTime(s[f]) && !(f === 'endsAt' && s.source === 'config'),
      );
      if (bad.length)
        service.logger?.warn(
          { event: 'silence_date_invalid', silence_id: s.id, fields: bad },
          `silence ${s.id} has a time no Date can hold (${bad.join(', ')}); listed as null: expire it`,
        );
    }
    sendJson(res, 200, { silences: list.map((s) => silenceJson(s, now)) });
  });

  router.post('/api/alerts/silences', async ({ req, res, principal }) => {
    const parsed = silenceBody.safeParse(await readJson(req, bodyLimit));
    if (!parsed.success) throw fromZod(parsed.error, 'LLMSCOPE_ERR_INVALID_BODY');
    const b = parsed.data;
    const now = service.clock.now();
    const startsAt = b.starts_at ?? now;
    const endsAt = b.ends_at ?? (b.duration !== undefined ? startsAt + ms(b.duration) : undefined);
    if (endsAt === undefined)
      throw new LlmscopeError('LLMSCOPE_ERR_INVALID_BODY', 'a silence needs ends_at or duration (e.g. "2h")', {
        param: 'ends_at',
      });
    if (!(endsAt <= MAX_TIME_MS))
      throw new LlmscopeError(
        'LLMSCOPE_ERR_INVALID_BODY',
        'the silence would end past the latest time a date can hold (+275760-09-13); give an earlier end',
        { param: b.ends_at !== undefined ? 'ends_at' : b.duration !== undefined ? 'duration' : 'starts_at' },
      );
    // The times' problems name the field that set the end (create() checks them again, for other callers).
    const endParam = b.ends_at !== undefined ? 'ends_at' : 'duration';
    if (!(endsAt > startsAt))
      throw new LlmscopeError(
        'LLMSCOPE_ERR_INVALID_BODY',
        b.ends_at !== undefined ? 'ends_at must be after starts_at' : 'duration must be longer than 0',
        { param: endParam },
      );
    if (endsAt <= now)
      throw new LlmscopeError('LLMSCOPE_ERR_INVALID_BODY', 'ends_at is in the past', { param: endParam });
    try {
      const s = await service.silences.create(
        { matchers: b.matchers, startsAt, endsAt, comment: b.comment, createdBy: b.created_by },
        now,
      );
      await audit?.record(
        { req, principal },
        {
          action: 'silence.create',
          target: `silence:${s.id}`,
          detail: { matchers: b.matchers, ends_at: new Date(endsAt).toISOString() },
        },
      );
      sendJson(res, 201, silenceJson(s, now));
    } catch (err) {
      throw new LlmscopeError('LLMSCOPE_ERR_INVALID_BODY', (err as Error).message, { param: 'matchers' });
    }
  });

  router.delete('/api/alerts/silences/:id', async ({ req, res, params, principal }) => {
    await service.syncSilences();
    const now = service.clock.now();
    if (service.silences.get(params.id ?? '')?.source === 'config')
      throw new LlmscopeError(
        'LLMSCOPE_ERR_FORBIDDEN',
        `silence ${params.id} comes from the config file (alerts.silences): remove or change it there and restart`,
        { param: 'id' },
      );
    const s = await service.silences.expire(params.id ?? '', now);
    if (!s) throw new LlmscopeError('LLMSCOPE_ERR_NOT_FOUND', `no silence with id ${params.id}`);
    await audit?.record({ req, principal }, { action: 'silence.expire', target: `silence:${s.id}` });
    sendJson(res, 200, silenceJson(s, now));
  });

  router.get('/api/alerts/noise', async ({ res, url }) => {
    const now = service.clock.now();
    const q = parseQuery(z.object({ from: timeParamSchema.optional(), to: timeParamSchema.optional() }), url);
    const to = q.to ?? now;
    const from = q.from ?? to - 7 * 86_400_000;
    if (from >= to)
      throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', '"from" must be before "to"', { param: 'from' });
    const [events, notifications] = await Promise.all([
      service.state.listEvents({ from, to }),
      service.state.listNotifications({ from, to }),
    ]);
    sendJson(res, 200, noiseReport(events, notifications, from, to));
  });
}
