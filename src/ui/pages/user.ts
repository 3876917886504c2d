// One user (`#/users/<id>`): spend today, this month and in the chosen range (by model and by feature), their calls
// in the range (count, error rate, p50/p95 latency, the most recent ones linking to the request page), feedback
// and evaluation verdicts on their recent calls, and the budgets that apply to them. Data: /api/users/:id.

import type { UserBody } from '../../wire/index.js';
import { get, qs, why } from '../lib/api.js';
import { bar, card, empty, fill, h, ms, num, pct, table, tile, time, usd } from '../lib/dom.js';
import { carried, href } from '../lib/state.js';
import type { Page } from './page.js';

/** One row of spend by model or by feature, without its key. */
type Group = Omit<UserBody['spend']['by_model'][number], 'model'>;

function groupTable(rows: (Group & { key: string })[], id: string, what: string): HTMLElement {
  if (rows.length === 0) return empty(`no calls in this range, so no spend by ${what}`);
  return table(
    [what, 'calls', 'errors', 'tokens in/out', 'cost'],
    rows.map((g) => [
      g.key,
      num(g.calls),
      num(g.errors),
      `${num(g.input_tokens)} / ${num(g.output_tokens)}`,
      g.unpriced_calls ? `${usd(g.cost_usd)} (+${g.unpriced_calls} unpriced)` : usd(g.cost_usd),
    ]),
    { id },
  );
}

export const userPage: Page = {
  title: (r) => `User ${r.id ?? ''}`,
  async render(root, ctx) {
    const id = ctx.route.id ?? '';
    const { range } = ctx;
    const r = await get<UserBody>(
      `/api/users/${encodeURIComponent(id)}${qs({ from: Math.round(range.from), to: Math.round(range.to) })}`,
    );
    if (!ctx.current()) return;
    const keep = carried(ctx.route.params);
    const back = h('a', { href: href('requests', keep), class: 'back' }, '← requests');
    if (!r.ok) {
      fill(root, back, empty(r.status === 404 ? r.message : why(r, 'this user')));
      return;
    }
    const u = r.data;
    const c = u.calls;
    const rangeWords = range.label === 'custom' ? 'in this range' : `in the last ${range.label}`;
    const v = u.quality.verdicts;
    const verdictNames = Object.keys(v).sort();

    const budgets =
      u.budgets.length === 0
        ? empty('no budget applies to this user', 'budgets with scope user (or global) in the config apply here')
        : h(
            'div',
            { id: 'user-budgets' },
            u.budgets.map((b) =>
              h(
                'div',
                { class: 'budget', 'data-budget': b.name },
                h(
                  'div',
                  { class: 'row' },
                  h('strong', null, b.name),
                  h('span', { class: 'muted' }, `${b.scope} · per ${b.period} · ${b.action}`),
                  h('span', { class: 'num' }, `${usd(b.spent_usd)} of ${usd(b.limit_usd)} (${pct(b.ratio)})`),
                  h('span', { class: 'muted' }, `resets ${time(b.resets_at)}`),
                ),
                bar(b.ratio, `${pct(b.ratio)} of the limit`),
              ),
            ),
          );

    const recent =
      u.recent.length === 0
        ? empty(`no calls from ${u.user} ${rangeWords}`, 'try a longer time range')
        : table(
            ['time', 'model', 'status', 'tokens in/out', 'latency', 'cost', 'session', 'request id'],
            u.recent.map((x) => [
              time(x.started_at),
              x.model,
              h('span', { class: x.status === 'ok' ? null : 'bad' }, x.status),
              `${num(x.input_tokens)} / ${num(x.output_tokens)}`,
              ms(x.latency_ms),
              usd(x.cost_usd),
              x.session ? h('a', { href: href('sessions', keep, x.session), class: 'mono' }, x.session) : '–',
              h('a', { href: href('requests', keep, x.request_id), class: 'mono' }, x.request_id),
            ]),
            { id: 'user-recent' },
          );

    fill(
      root,
      back,
      h(
        'section',
        { class: 'card head' },
        h('h2', { class: 'mono', id: 'user-id' }, `user ${u.user}`),
        h(
          'a',
          { href: href('requests', { ...Object.fromEntries(keep), user: u.user }), id: 'user-requests' },
          'all requests of this user →',
        ),
      ),
      h(
        'section',
        { class: 'tiles', id: 'user-tiles' },
        tile(
          'spend today',
          usd(u.spend.today_usd),
          u.spend.today_usd === null ? 'cost capability not loaded' : 'UTC day',
          undefined,
          'tile-today',
        ),
        tile(
          'spend this month',
          usd(u.spend.month_usd),
          u.spend.month_usd === null ? null : 'UTC month to date',
          undefined,
          'tile-month',
        ),
        tile(
          `spend ${rangeWords}`,
          usd(u.spend.window_usd),
          u.spend.window_unpriced_calls ? `${u.spend.window_unpriced_calls} calls unpriced (not included)` : null,
        ),
        tile(
          'calls',
          num(c.count),
          c.truncated ? 'figures cover the newest calls only' : rangeWords,
          undefined,
          'tile-user-calls',
        ),
        tile(
          'error rate',
          pct(c.error_rate),
          c.errors ? `${num(c.errors)} call${c.errors === 1 ? '' : 's'} not ok` : null,
        ),
        tile('latency p95', ms(c.latency_p95_ms), c.latency_p50_ms === null ? null : `p50 ${ms(c.latency_p50_ms)}`),
        tile(
          'feedback',
          `▲ ${num(u.feedback.up)} / ▼ ${num(u.feedback.down)}`,
          `on the newest ${num(u.quality.calls_examined)} calls`,
          undefined,
          'tile-feedback',
        ),
      ),
      card('Budgets', budgets),
      h(
        'div',
        { class: 'grid2' },
        card(
          'Spend by model',
          groupTable(
            u.spend.by_model.map((g) => ({ ...g, key: g.model })),
            'user-by-model',
            'model',
          ),
        ),
        card(
          'Spend by feature',
          groupTable(
            u.spend.by_feature.map((g) => ({ ...g, key: g.feature ?? '(none)' })),
            'user-by-feature',
            'feature',
          ),
        ),
      ),
      card(
        'Quality',
        verdictNames.length === 0
          ? empty(
              `no evaluations on ${u.user}'s newest ${num(u.quality.calls_examined)} calls`,
              'evaluators run on a sample of calls (quality.sampling)',
            )
          : h(
              'div',
              { id: 'user-quality' },
              h(
                'p',
                null,
                verdictNames.map((k) =>
                  h(
                    'span',
                    { class: `badge ${k === 'pass' ? 'good' : k === 'fail' ? 'bad' : ''}` },
                    `${num(v[k])} ${k}`,
                  ),
                ),
                h('span', { class: 'muted' }, ` — evaluations of the newest ${num(u.quality.calls_examined)} calls`),
              ),
              table(
                ['evaluator', ...verdictNames],
                Object.entries(u.quality.by_evaluator).map(([name, m]) => [
                  name,
                  ...verdictNames.map((k) => num(m[k] ?? 0)),
                ]),
              ),
            ),
      ),
      card('Recent calls', recent),
    );
  },
};
