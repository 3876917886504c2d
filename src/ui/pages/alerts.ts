// Alerts: firing and pending alerts, recent history, rules and their health, silences (create, expire) and the
// noise report (how much each rule talks). From /api/alerts, /api/alerts/silences and /api/alerts/noise.

import type { Alert, AlertsBody, Noise, Silence, Silences } from '../../wire/index.js';
import { can } from '../lib/access.js';
import { del, failed, get, post, qs, type Result, why } from '../lib/api.js';
import { card, duration, empty, fill, h, table, time } from '../lib/dom.js';
import { alertLabel } from '../lib/state.js';
import { alertValue, unitOfKind, withUnit } from '../lib/units.js';
import type { Page, PageContext } from './page.js';

let silenceForm: HTMLElement | null = null;

export const alertsPage: Page = {
  title: () => 'Alerts',
  async render(root, ctx) {
    const w = { from: Math.round(ctx.range.from), to: Math.round(ctx.range.to) };
    const [alerts, silences, noise] = await Promise.all([
      get<AlertsBody>('/api/alerts'),
      get<Silences>('/api/alerts/silences'),
      get<Noise>(`/api/alerts/noise${qs(w)}`),
    ]);
    if (!ctx.current()) return;
    if (!alerts.ok) {
      fill(
        root,
        empty(alerts.status === 404 ? 'no alerts yet — alerting is not in this build' : why(alerts, 'alerts')),
      );
      return;
    }
    const a = alerts.data;
    // Keep a half-typed silence across auto-refreshes.
    // Silencing is an operator's (and refused to a team-scoped sign-in): others see no form and no buttons.
    const form = !can('POST /api/alerts/silences')
      ? null
      : ctx.refresh && silenceForm?.isConnected
        ? silenceForm
        : silenceFormOf(ctx);
    silenceForm = form;
    fill(
      root,
      a.enabled
        ? null
        : h(
            'p',
            { class: 'strip' },
            'alerting is switched off (alerts.enabled: false); rules are listed but not evaluated',
          ),
      h('p', { class: 'muted' }, evaluatedText(a)),
      card('Firing', alertTable(a.firing, 'firing', form, a.rules, ctx.route.params)),
      card('Pending', alertTable(a.pending, 'pending', form, a.rules, ctx.route.params)),
      h('div', { class: 'grid2' }, card('Silences', silencesTable(silences, ctx), form), noiseCard(noise)),
      card(
        'History (resolved)',
        a.history.length === 0
          ? empty('no resolved alerts yet')
          : table(
              ['alert', 'labels', 'value', 'fired', 'resolved', 'lasted'],
              a.history.map((e) => [
                h('strong', null, e.alertname),
                labelsOf(e.labels, ctx.route.params),
                withUnit(e.value, unitOfKind(a.rules.find((r) => r.alertname === e.alertname)?.kinds[0])),
                time(e.fired_at),
                time(e.resolved_at),
                duration(e.duration_s),
              ]),
              { id: 'alert-history' },
            ),
      ),
      card(
        'Rules',
        table(
          ['rule', 'severity', 'kinds', 'health'],
          a.rules.map((r) => [
            r.alertname,
            h('span', { class: `sev ${r.severity}` }, r.severity),
            r.kinds.join(', '),
            // another replica evaluates: this one's health of the rule is not known (or was its own, from before)
            byOther(a)
              ? h('span', { class: 'muted', title: 'evaluated by another replica' }, '–')
              : h(
                  'span',
                  {
                    class: r.health === 'ok' ? 'good' : r.health === 'err' ? 'bad' : 'muted',
                    title: r.last_error ?? '',
                  },
                  r.health,
                ),
          ]),
        ),
      ),
    );
  },
};

/**
 * Replicas on PostgreSQL: one is elected to evaluate, the others list the alerts it stored in the shared database and
 * never evaluate themselves, so their own evaluation time and rule health say nothing (QA31: a follower said 'rules
 * evaluated not yet' and every rule 'unknown' beside the alerts firing, flipping with each refresh behind a balancer).
 */
const byOther = (a: AlertsBody): boolean => a.enabled && !a.evaluator;

function evaluatedText(a: AlertsBody): string {
  if (byOther(a)) return 'rules evaluated by another replica (the elected evaluator); its alerts are shown here';
  return `rules evaluated ${a.evaluated_at ? time(a.evaluated_at) : 'not yet'}`;
}

function labelsOf(labels: Record<string, string>, params: URLSearchParams): HTMLElement {
  return h(
    'span',
    { class: 'labels' },
    Object.entries(labels)
      .filter(([k]) => k !== 'alertname')
      .map(([k, v]) => alertLabel(k, v, params)),
  );
}

function alertTable(
  list: Alert[],
  state: string,
  form: HTMLElement | null,
  rules: AlertsBody['rules'],
  params: URLSearchParams,
): HTMLElement {
  if (list.length === 0) return empty(state === 'firing' ? 'nothing firing' : 'nothing pending');
  return table(
    ['alert', 'severity', 'value', 'labels', state === 'firing' ? 'firing since' : 'active since', 'summary', ''],
    list.map((a) => [
      h('strong', null, a.alertname),
      h('span', { class: `sev ${a.severity}` }, a.severity),
      alertValue(a.value, a.rule, rules),
      labelsOf(a.labels, params),
      time(a.fired_at ?? a.active_at),
      a.annotations.summary ?? a.annotations.description ?? '',
      a.silenced_by.length
        ? h('span', { class: 'muted' }, 'silenced')
        : !form
          ? ''
          : h(
              'button',
              {
                type: 'button',
                class: 'small',
                'data-silence': a.alertname,
                onclick: () => {
                  const ta = form.querySelector('textarea') as HTMLTextAreaElement;
                  // this alert, by all of its labels (as Alertmanager's button does): alertname alone would also
                  // silence the rule's other alerts (every model's, with groupBy: [model]) that the row does not show
                  ta.value = [
                    `alertname=${JSON.stringify(a.alertname)}`,
                    ...Object.entries(a.labels)
                      .filter(([k]) => k !== 'alertname')
                      .map(([k, v]) => `${k}=${JSON.stringify(v)}`),
                  ].join('\n');
                  form.scrollIntoView({ block: 'center' });
                  (form.querySelector('input[name=comment]') as HTMLInputElement).focus();
                },
              },
              'silence…',
            ),
    ]),
    { id: `alerts-${state}` },
  );
}

function silencesTable(r: Result<{ silences: Silence[] }>, ctx: PageContext): HTMLElement {
  if (!r.ok) return empty(why(r, 'silences'));
  const list = r.data.silences.filter(
    (s) => s.status !== 'expired' || Date.now() - Date.parse(s.ends_at ?? '') < 86_400_000,
  );
  if (list.length === 0) return empty('no silences');
  return table(
    ['matchers', 'status', 'until', 'by', 'comment', ''],
    list.map((s) => [
      h(
        'span',
        { class: 'labels' },
        (Array.isArray(s.matchers) ? s.matchers : Object.entries(s.matchers).map(([k, v]) => `${k}="${v}"`)).map((m) =>
          h('code', null, m),
        ),
      ),
      h('span', { class: s.status === 'active' ? 'good' : 'muted' }, s.status),
      time(s.ends_at),
      s.created_by ?? '–',
      s.comment ?? '',
      s.status === 'expired' || s.source === 'config' || !can('DELETE /api/alerts/silences/:id')
        ? ''
        : expireButton(s, ctx),
    ]),
    { id: 'silences' },
  );
}

/** Expires a silence; a refusal or an unreachable server is said beside the button, not dropped. */
function expireButton(s: Silence, ctx: PageContext): HTMLElement {
  const msg = h('span', { class: 'muted', 'data-expire-msg': s.id });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'small',
      onclick: async () => {
        msg.textContent = 'expiring…';
        const x = await del(`/api/alerts/silences/${encodeURIComponent(s.id)}`);
        if (!x.ok) {
          msg.textContent = failed(x, 'expire the silence');
          return;
        }
        ctx.reload();
      },
    },
    'expire',
  );
  return h('span', { class: 'row' }, button, msg);
}

function silenceFormOf(ctx: PageContext): HTMLElement {
  const matchers = h('textarea', {
    name: 'matchers',
    rows: 2,
    placeholder: 'alertname="HighErrorRate"\nmodel=~"gpt-4o.*"',
    spellcheck: 'false',
  });
  const dur = h(
    'select',
    { name: 'duration' },
    ['30m', '1h', '2h', '4h', '12h', '1d', '7d'].map((d) => h('option', { value: d, selected: d === '2h' }, d)),
  );
  const comment = h('input', { name: 'comment', placeholder: 'why (e.g. provider incident, known)', maxlength: 2000 });
  const by = h('input', { name: 'created_by', placeholder: 'your name' });
  const msg = h('span', { class: 'muted', id: 'silence-msg' });
  const form = h(
    'form',
    { class: 'silence-form', id: 'silence-form' },
    h('h4', null, 'New silence'),
    h('label', null, h('span', null, 'matchers, one per line'), matchers),
    h(
      'div',
      { class: 'row' },
      h('label', null, h('span', null, 'for'), dur),
      by,
      comment,
      h('button', { type: 'submit' }, 'create silence'),
      msg,
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const list = matchers.value
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (list.length === 0) {
      msg.textContent = 'give at least one matcher, e.g. alertname="HighErrorRate"';
      return;
    }
    msg.textContent = 'creating…';
    const r = await post('/api/alerts/silences', {
      matchers: list,
      duration: dur.value,
      comment: comment.value.trim() || undefined,
      created_by: by.value.trim() || undefined,
    });
    if (!r.ok) {
      msg.textContent = failed(r, 'create the silence');
      return;
    }
    matchers.value = '';
    comment.value = '';
    msg.textContent = 'silence created';
    silenceForm = null;
    ctx.reload();
  });
  return form;
}

function noiseCard(r: Result<Noise>): HTMLElement {
  if (!r.ok) return card('Noise report', empty(why(r, 'the noise report')));
  const n = r.data;
  if (n.rules.length === 0) return card('Noise report', empty('no notifications or firings in this range'));
  return card(
    'Noise report',
    h(
      'p',
      { class: 'muted' },
      `${n.notifications} notification${n.notifications === 1 ? '' : 's'} over ${n.days === 1 ? '1 day' : `${n.days.toFixed(1)} days`} (${n.notifications_per_day.toFixed(1)}/day)${n.flapping.length ? ` · flapping: ${n.flapping.join(', ')}` : ''}`,
    ),
    table(
      ['rule', 'notifications', 'firings', 'pending abandoned', 'resolve median', 'p90', ''],
      [...n.rules]
        .sort((a, b) => b.notifications - a.notifications || b.firings - a.firings)
        .map((x) => [
          x.alertname,
          String(x.notifications),
          String(x.firings),
          String(x.pending_aborted),
          duration(x.time_to_resolve_s.median),
          duration(x.time_to_resolve_s.p90),
          x.flapping ? h('span', { class: 'badge warn' }, 'flapping') : '',
        ]),
      { id: 'noise' },
    ),
  );
}
