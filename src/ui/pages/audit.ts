// Audit (admin): who did what, to what, from where and how it ended, newest first, from /api/audit — in the
// shell's time range, filtered by actor, action and result (kept in the URL), a page at a time ("older").
import type { AuditEntryWire, AuditPageWire } from '../../wire/index.js';
import { get, qs, why } from '../lib/api.js';
import { empty, fill, h, time } from '../lib/dom.js';
import { pager } from '../lib/pager.js';
import { setParams } from '../lib/state.js';
import type { Page } from './page.js';

const PAGE = 50;

export const auditPage: Page = {
  title: () => 'Audit',
  async render(root, ctx) {
    const p = ctx.route.params;
    const query = {
      from: Math.round(ctx.range.from),
      to: Math.round(ctx.range.to),
      actor: p.get('actor'),
      action: p.get('action'),
      result: p.get('result'),
      limit: PAGE,
    };
    const first = await get<AuditPageWire>(`/api/audit${qs(query)}`);
    if (!ctx.current()) return;

    const actor = h('input', { name: 'actor', placeholder: 'actor (exact)', value: query.actor ?? '', maxlength: 256 });
    const action = h('input', {
      name: 'action',
      placeholder: 'action (e.g. key.revoke)',
      value: query.action ?? '',
      maxlength: 128,
    });
    const result = h(
      'select',
      { name: 'result' },
      ['', 'ok', 'denied', 'failed'].map((v) =>
        h('option', { value: v, selected: v === (query.result ?? '') }, v || 'any result'),
      ),
    );
    const filters = h(
      'form',
      { class: 'filters row', id: 'audit-filters' },
      actor,
      action,
      result,
      h('button', { type: 'submit' }, 'filter'),
    );
    filters.addEventListener('submit', (e) => {
      e.preventDefault();
      setParams(
        { actor: actor.value.trim() || null, action: action.value.trim() || null, result: result.value || null },
        true,
      );
    });
    if (!first.ok) {
      fill(root, filters, empty(why(first, 'the audit log')));
      return;
    }

    const body = h('tbody');
    const addRows = (list: AuditEntryWire[]) => body.append(...list.map(row));
    addRows(first.data.data);
    let shown = first.data.data.length;
    const count = h('span', { class: 'muted', id: 'audit-count' });
    const more = pager({
      first: first.data.next_cursor,
      label: 'older',
      id: 'audit-more',
      load: (cursor) => get<AuditPageWire>(`/api/audit${qs({ ...query, cursor })}`),
      onPage: (page) => {
        addRows(page.data);
        shown += page.data.length;
        setCount();
      },
      onError: (r) => {
        count.textContent = why(r, 'older entries');
      },
    });
    const setCount = () => {
      count.textContent = `${shown} entr${shown === 1 ? 'y' : 'ies'} shown${more.cursor() ? ' (older below)' : ''}`;
    };
    setCount();
    fill(
      root,
      filters,
      h('div', { class: 'row' }, count),
      shown === 0
        ? empty('no audit entries match', 'try a longer time range or fewer filters')
        : h(
            'div',
            { class: 'scroll' },
            h(
              'table',
              { id: 'audit' },
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  ['time', 'actor', 'action', 'target', 'result', 'from', 'detail'].map((x) => h('th', null, x)),
                ),
              ),
              body,
            ),
          ),
      more.button,
    );
  },
};

function row(e: AuditEntryWire): HTMLElement {
  return h(
    'tr',
    { 'data-action': e.action },
    h('td', null, time(e.time)),
    h('td', null, h('strong', null, e.actor), e.role ? h('span', { class: 'muted' }, ` (${e.role})`) : null),
    h('td', null, h('code', null, e.action)),
    h('td', { class: 'mono' }, e.target ?? '–'),
    h('td', null, h('span', { class: e.result === 'ok' ? 'good' : 'bad' }, e.result)),
    h('td', { title: e.user_agent ?? '' }, e.ip ?? '–'),
    h('td', { class: 'muted' }, e.detail ? JSON.stringify(e.detail) : ''),
  );
}
