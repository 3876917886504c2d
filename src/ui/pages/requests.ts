// Requests: search the ledger (time range, model, provider, status, user, team, feature, virtual key, endpoint, a
// latency the calls took at least, metadata values `meta.<key>=<value>`, text in request/trace/session ids), newest
// first, a page at a time; a row opens the request's own page, its user and session cells the user's and the session's
// pages.

import { WIRE_ENDPOINTS, WIRE_STATUSES } from '../../wire/endpoints.js';
import type { CallRecord, CallList as ListBody } from '../../wire/index.js';
import { get, qs, why } from '../lib/api.js';
import { empty, fill, h, ms, num, time, usd } from '../lib/dom.js';
import { filterBar, metadataParams } from '../lib/filters.js';
import { pager } from '../lib/pager.js';
import { carried, href } from '../lib/state.js';
import type { Page } from './page.js';

const KEYS = [
  'model',
  'provider',
  'status',
  'user',
  'team',
  'feature',
  'api_key_id',
  'endpoint',
  'min_latency_ms',
  'q',
] as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const requestsPage: Page = {
  title: () => 'Requests',
  async render(root, ctx) {
    const { range, route } = ctx;
    const query: Record<string, string | number> = {
      from: Math.round(range.from),
      to: Math.round(range.to),
      limit: 50,
    };
    for (const k of KEYS) {
      const v = route.params.get(k);
      if (v) query[k] = v;
    }
    for (const [k, v] of metadataParams(route.params)) query[k] = v;
    // A pasted full request id opens its page: a key lookup, where a substring search scans the whole window.
    const text = route.params.get('q')?.trim() ?? '';
    if (UUID.test(text)) {
      const one = await get<CallRecord>(`/api/requests/${encodeURIComponent(text)}`);
      if (!ctx.current()) return;
      if (one.ok) {
        location.replace(href('requests', carried(route.params), one.data.request_id));
        return;
      }
    }
    const t0 = performance.now();
    const first = await get<ListBody>(`/api/requests${qs(query)}`);
    const took = performance.now() - t0;
    if (!ctx.current()) return;
    const bar = filterBar(
      [
        { name: 'q', label: 'id', placeholder: 'start of a request, trace, session or provider request id' },
        { name: 'model', label: 'model' },
        { name: 'provider', label: 'provider' },
        { name: 'status', label: 'status', options: [...WIRE_STATUSES] },
        { name: 'user', label: 'user' },
        { name: 'team', label: 'team' },
        { name: 'feature', label: 'feature' },
        { name: 'api_key_id', label: 'virtual key', placeholder: 'key_…' },
        // the slow calls: the Overview's latency p95 tile links here with its value
        { name: 'min_latency_ms', label: 'latency ≥ ms', placeholder: 'e.g. 2000' },
        {
          name: 'endpoint',
          label: 'endpoint',
          options: [...WIRE_ENDPOINTS],
        },
      ],
      route.params,
      'request-filters',
      { metadata: true },
    );
    if (!first.ok) {
      fill(root, bar, empty(why(first, 'requests')));
      return;
    }
    const keep = carried(route.params);
    const body = h('tbody');
    const addRows = (rows: CallRecord[]) => {
      for (const c of rows) {
        // the call's page gets every filter of this list (status, key, user, search), so its "← requests" comes back
        // to this list, not to one without them
        const link = href('requests', route.params, c.request_id);
        body.append(
          h(
            'tr',
            {
              class: `clickable${c.status === 'ok' ? '' : ' err'}`,
              'data-id': c.request_id,
              onclick: (e: Event) => {
                if ((e.target as HTMLElement).closest('a')) return;
                location.hash = link;
              },
            },
            h('td', null, time(c.started_at)),
            h('td', null, c.model),
            h('td', null, c.provider),
            h('td', { class: c.status === 'ok' ? null : 'bad' }, c.status),
            h('td', null, c.user ? h('a', { href: href('users', keep, c.user), class: 'user-link' }, c.user) : '–'),
            h('td', null, c.team ?? '–'),
            h('td', null, c.feature ?? '–'),
            h(
              'td',
              { class: 'mono' },
              c.session ? h('a', { href: href('sessions', keep, c.session), class: 'session-link' }, c.session) : '–',
            ),
            h('td', { class: 'num' }, `${num(c.input_tokens)} / ${num(c.output_tokens)}`),
            h('td', { class: 'num' }, ms(c.ttft_ms)),
            h('td', { class: 'num' }, ms(c.latency_ms)),
            h('td', { class: 'num' }, usd(c.cost_usd)),
            h('td', { class: 'mono' }, h('a', { href: link }, c.request_id)),
          ),
        );
      }
    };
    addRows(first.data.data);
    let shown = first.data.data.length;
    const count = h('span', { class: 'muted', id: 'result-count' });
    const more = pager({
      first: first.data.next_cursor,
      label: 'load more',
      load: (cursor) => get<ListBody>(`/api/requests${qs({ ...query, cursor })}`),
      onPage: (page) => {
        addRows(page.data);
        shown += page.data.length;
        // rows paged in are not re-rendered away by the auto-refresh (main.ts heldByUser)
        body.dataset.holdRefresh = '';
        setCount();
      },
      onError: (r) => {
        count.textContent = why(r, 'more requests');
      },
    });
    const setCount = () => {
      count.textContent = `${shown} shown${more.cursor() ? ' (more below)' : ''} · search took ${Math.round(took)} ms`;
    };
    setCount();
    fill(
      root,
      bar,
      h('div', { class: 'row' }, count),
      shown === 0
        ? empty(
            'no requests match',
            route.params.toString()
              ? 'try a longer time range or fewer filters'
              : `point an OpenAI client at ${location.origin}/v1`,
          )
        : h(
            'div',
            { class: 'scroll' },
            h(
              'table',
              { id: 'requests' },
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  [
                    'time',
                    'model',
                    'provider',
                    'status',
                    'user',
                    'team',
                    'feature',
                    'session',
                    'tokens in/out',
                    'TTFT',
                    'latency',
                    'cost',
                    'request id',
                  ].map((x) => h('th', null, x)),
                ),
              ),
              body,
            ),
          ),
      more.button,
    );
  },
};
