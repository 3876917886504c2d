// One session (`#/sessions/<id>`) or one trace (`#/traces/<id>`): every call in time order, the agent waterfall
// (each call's spans on one time axis, drawn by the request page's waterfall), tokens, cost, verdicts and feedback
// per step, and the totals of the whole session. Pages of calls come from /api/sessions/:id (or /api/traces/:id);
// "load more" appends the next page to the steps and the waterfall.

import type { Evaluation, Feedback, SessionBody, SessionCall, Span } from '../../wire/index.js';
import { get, qs, why } from '../lib/api.js';
import { card, empty, fill, h, ms, num, tile, time, usd } from '../lib/dom.js';
import { pager } from '../lib/pager.js';
import { carried, href } from '../lib/state.js';
import type { Page } from './page.js';
import { waterfall } from './request.js';

const PAGE = 200;

/** A call's spans; a call recorded without any gets one span for the call itself, so it still shows on the axis. */
function spansOf(c: SessionCall): Span[] {
  if (c.spans.length > 0) return c.spans;
  return [
    {
      trace_id: c.trace_id ?? '',
      span_id: `call-${c.request_id}`,
      parent_span_id: null,
      name: `${c.endpoint} ${c.model}`,
      kind: 'client',
      start_time: c.started_at,
      end_time: c.ended_at,
      duration_ms: c.latency_ms,
      status: c.status === 'ok' ? 'ok' : 'error',
      attributes: { 'llmscope.request_id': c.request_id },
      events: [],
    },
  ];
}

function verdictBadges(list: Evaluation[]): HTMLElement | string {
  if (list.length === 0) return '–';
  return h(
    'span',
    { class: 'verdicts' },
    list.map((e) =>
      h(
        'span',
        {
          class: `badge ${e.verdict === 'pass' ? 'good' : e.verdict === 'fail' ? 'bad' : ''}`,
          title: e.score === null ? e.evaluator : `${e.evaluator}: hallucination score ${e.score.toFixed(2)}`,
        },
        `${e.evaluator} ${e.verdict}`,
      ),
    ),
  );
}

function feedbackCell(list: Feedback[]): string {
  const up = list.filter((f) => f.rating === 'up').length;
  const down = list.length - up;
  return list.length === 0 ? '–' : `${up ? `▲${up}` : ''}${up && down ? ' ' : ''}${down ? `▼${down}` : ''}`;
}

export const sessionPage: Page = {
  title: (r) => `${r.page === 'traces' ? 'Trace' : 'Session'} ${r.id ?? ''}`,
  async render(root, ctx) {
    const kind = ctx.route.page === 'traces' ? 'trace' : 'session';
    const id = ctx.route.id ?? '';
    const path = `/api/${kind === 'trace' ? 'traces' : 'sessions'}/${encodeURIComponent(id)}`;
    const r = await get<SessionBody>(`${path}${qs({ limit: PAGE })}`);
    if (!ctx.current()) return;
    const keep = carried(ctx.route.params);
    const back = h('a', { href: href('requests', keep), class: 'back' }, '← requests');
    if (!r.ok) {
      fill(root, back, empty(r.status === 404 ? r.message : why(r, `this ${kind}`)));
      return;
    }
    const s = r.data;
    const t = s.totals;
    const calls: SessionCall[] = [...s.calls];
    const t0 = t.started_at ? Date.parse(t.started_at) : 0;

    const rows = h('tbody');
    const addRows = (list: SessionCall[]) => {
      for (const c of list) {
        const link = href('requests', keep, c.request_id);
        rows.append(
          h(
            'tr',
            { class: c.status === 'ok' ? null : 'err', 'data-id': c.request_id },
            h('td', { class: 'num' }, String(rows.children.length + 1)),
            h('td', { class: 'num', title: time(c.started_at) }, `+${ms(Date.parse(c.started_at) - t0)}`),
            h('td', null, c.model),
            h('td', { class: c.status === 'ok' ? null : 'bad' }, c.status),
            h('td', { class: 'num' }, `${num(c.input_tokens)} / ${num(c.output_tokens)}`),
            h('td', { class: 'num' }, ms(c.latency_ms)),
            h('td', { class: 'num' }, usd(c.cost_usd)),
            h('td', null, verdictBadges(c.evaluations)),
            h('td', null, feedbackCell(c.feedback)),
            h(
              'td',
              { class: 'mono' },
              kind === 'session' && c.trace_id
                ? h('a', { href: href('traces', keep, c.trace_id), title: c.trace_id }, c.trace_id.slice(0, 8))
                : '–',
            ),
            h('td', { class: 'mono' }, h('a', { href: link }, c.request_id)),
          ),
        );
      }
    };
    addRows(calls);

    const wf = h('div', { id: 'session-waterfall' });
    const drawWaterfall = () => fill(wf, waterfall(calls.flatMap(spansOf)));
    drawWaterfall();

    const shown = h('span', { class: 'muted', id: 'session-shown' });
    const more = pager({
      first: s.next_cursor,
      label: 'load more',
      id: 'session-more',
      load: (cursor) => get<SessionBody>(`${path}${qs({ limit: PAGE, cursor })}`),
      onPage: (next) => {
        calls.push(...next.calls);
        addRows(next.calls);
        drawWaterfall();
        setShown();
      },
      onError: (r) => {
        shown.textContent = why(r, 'more calls');
      },
    });
    const setShown = () => {
      shown.textContent = `${calls.length} of ${num(t.calls)} calls shown${more.cursor() ? ' (more below)' : ''}`;
    };
    setShown();

    const links = (page: string, list: string[]) =>
      list.length === 0
        ? null
        : h(
            'span',
            null,
            list.flatMap((x, i) => [i ? ', ' : '', h('a', { href: href(page, keep, x), class: 'mono' }, x)]),
          );
    const v = s.quality.verdicts;
    fill(
      root,
      back,
      h(
        'section',
        { class: 'card head' },
        h('h2', { class: 'mono', id: 'session-id' }, `${kind} ${id}`),
        t.errors > 0
          ? h('span', { class: 'badge bad' }, `${t.errors} failed`)
          : h('span', { class: 'badge good' }, 'all ok'),
        s.truncated
          ? h(
              'span',
              { class: 'badge warn', title: 'the answer looked at its scan limit; totals cover what was read' },
              'partial',
            )
          : null,
        h(
          'dl',
          { class: 'kv' },
          [
            ['started', time(t.started_at)],
            ['ended', time(t.ended_at)],
            ['users', links('users', t.users)],
            [
              kind === 'session' ? 'traces' : 'sessions',
              kind === 'session' ? links('traces', t.traces) : links('sessions', t.sessions),
            ],
            [
              'models',
              Object.entries(t.models)
                .map(([m, n]) => `${m} × ${n}`)
                .join(', '),
            ],
          ]
            .filter(([, x]) => x !== null && x !== '')
            .map(([k, x]) => [h('dt', null, k as string), h('dd', null, x as Node | string)]),
        ),
      ),
      h(
        'section',
        { class: 'tiles', id: 'session-totals' },
        tile('calls', num(t.calls), t.errors ? `${t.errors} not ok` : null, undefined, 'tile-calls'),
        tile('wall time', ms(t.wall_ms), 'first call start → last call end'),
        tile('time in calls', ms(t.latency_ms), 'sum of the calls’ latencies'),
        tile('tokens in / out', `${num(t.input_tokens)} / ${num(t.output_tokens)}`),
        tile(
          'cost',
          usd(t.cost_usd),
          t.unpriced_calls ? `${t.unpriced_calls} calls unpriced (not included)` : null,
          undefined,
          'tile-cost',
        ),
        tile(
          'verdicts',
          Object.keys(v).length ? `${num(v['pass'] ?? 0)} pass / ${num(v['fail'] ?? 0)} fail` : '–',
          [
            Object.keys(v).length ? (v['unknown'] ? `${v['unknown']} unknown` : null) : 'no evaluations on these calls',
            `feedback ▲${s.quality.feedback.up} ▼${s.quality.feedback.down} (calls shown)`,
          ],
          undefined,
          'tile-verdicts',
        ),
      ),
      card(
        'Agent waterfall',
        h('p', { class: 'muted small' }, 'Every call’s spans on one time axis, in start order.'),
        wf,
      ),
      card(
        'Steps',
        h('div', { class: 'row' }, shown),
        h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { id: 'session-steps' },
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                [
                  '#',
                  'at',
                  'model',
                  'status',
                  'tokens in/out',
                  'latency',
                  'cost',
                  'verdicts',
                  'feedback',
                  'trace',
                  'request id',
                ].map((x) => h('th', null, x)),
              ),
            ),
            rows,
          ),
        ),
        more.button,
      ),
    );
  },
};
