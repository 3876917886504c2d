// The dashboard shell: navigation, the time range (presets and custom, in the URL), auto-refresh, the light/dark
// theme, and the hash router that mounts one page at a time. Pages live in ./pages, one file each.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { can, currentMe, denied, deniedText, type Me, setMe } from './lib/access.js';
import { auth, get } from './lib/api.js';
import { destroyCharts } from './lib/chart.js';
import { $, h } from './lib/dom.js';
import { setKeyHandler } from './lib/keys.js';
import { carried, currentRoute, href, localInput, PRESETS, type Route, rangeOf, setParams } from './lib/state.js';
import { alertsPage } from './pages/alerts.js';
import { auditPage } from './pages/audit.js';
import { costPage } from './pages/cost.js';
import { gpusPage } from './pages/gpus.js';
import { keysPage } from './pages/keys.js';
import { overviewPage } from './pages/overview.js';
import type { Page } from './pages/page.js';
import { qualityPage } from './pages/quality.js';
import { requestPage } from './pages/request.js';
import { requestsPage } from './pages/requests.js';
import { sessionPage } from './pages/session.js';
import { userPage } from './pages/user.js';

const PAGES: Record<string, Page> = {
  overview: overviewPage,
  requests: requestsPage,
  cost: costPage,
  quality: qualityPage,
  alerts: alertsPage,
  gpus: gpusPage,
  keys: keysPage,
  audit: auditPage,
};
/** Page, label, and the route the page cannot do without: a principal that may not call it is not offered the page. */
const NAV: [string, string, string][] = [
  ['overview', 'Overview', 'GET /api/overview'],
  ['requests', 'Requests', 'GET /api/requests'],
  ['cost', 'Cost', 'GET /api/cost/summary'],
  ['quality', 'Quality', 'GET /api/quality/summary'],
  ['alerts', 'Alerts', 'GET /api/alerts'],
  ['gpus', 'GPUs', 'GET /api/gpu'],
  ['keys', 'Keys', 'GET /api/keys'],
  ['audit', 'Audit', 'GET /api/audit'],
];
const NEEDS: Record<string, string> = {
  ...Object.fromEntries(NAV.map(([page, , route]) => [page, route])),
  sessions: 'GET /api/sessions/:id',
  traces: 'GET /api/traces/:id',
  users: 'GET /api/users/:id',
};

/** Who is signed in: read once, before the first page renders (pages ask ./lib/access.js what they may do). */
const whoami = get<Me | null>('/api/me').then((r) => {
  setMe(r.ok ? r.data : null);
  renderTools();
});
const REFRESH_CHOICES: [string, number][] = [
  ['off', 0],
  ['10s', 10_000],
  ['30s', 30_000],
  ['1m', 60_000],
];

let generation = 0;
let refreshTimer: number | undefined;
let lastRoute = '';

function pageOf(r: Route): Page {
  if (r.page === 'requests' && r.id) return requestPage;
  if ((r.page === 'sessions' || r.page === 'traces') && r.id) return sessionPage;
  if (r.page === 'users' && r.id) return userPage;
  return PAGES[r.page] ?? overviewPage;
}

function storedRefresh(): number {
  try {
    const raw = localStorage.getItem('llmscope.refresh');
    const v = Number(raw);
    if (raw !== null && REFRESH_CHOICES.some(([, ms]) => ms === v)) return v;
  } catch {
    // storage disabled
  }
  return 30_000;
}

function renderNav(r: Route): void {
  const keep = carried(r.params);
  $('#nav').replaceChildren(
    ...NAV.filter(([, , route]) => can(route)).map(([page, label]) =>
      h('a', { href: href(page, keep), class: r.page === page ? 'active' : null, 'data-page': page }, label),
    ),
  );
}

function renderRange(r: Route): void {
  const range = rangeOf(r.params);
  const custom = h('form', { class: 'custom', hidden: range.label !== 'custom' });
  const fromInput = h('input', { type: 'datetime-local', name: 'from', value: localInput(range.from) });
  const toInput = h('input', { type: 'datetime-local', name: 'to', value: localInput(range.to) });
  custom.append(fromInput, h('span', { class: 'muted' }, '→'), toInput, h('button', { type: 'submit' }, 'apply'));
  custom.addEventListener('submit', (e) => {
    e.preventDefault();
    const from = new Date(fromInput.value).getTime();
    const to = new Date(toInput.value).getTime();
    if (!(from < to)) {
      setStatus('custom range: "from" must be before "to"');
      return;
    }
    setParams({ from: String(from), to: String(to), range: null }, true);
  });
  const presets = Object.keys(PRESETS).map((name) =>
    h(
      'button',
      {
        type: 'button',
        class: range.label === name ? 'active' : null,
        'data-range': name,
        onclick: () => setParams({ range: name, from: null, to: null }, true),
      },
      name,
    ),
  );
  const customBtn = h(
    'button',
    {
      type: 'button',
      class: range.label === 'custom' ? 'active' : null,
      'data-range': 'custom',
      onclick: () => {
        custom.hidden = !custom.hidden;
      },
    },
    'custom',
  );
  $('#range').replaceChildren(h('div', { class: 'seg' }, presets, customBtn), custom);
}

function applyTheme(t: string): void {
  if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
}

function renderTools(): void {
  const refresh = h(
    'select',
    {
      title: 'auto-refresh',
      id: 'refresh',
      onchange: (e: Event) => {
        try {
          localStorage.setItem('llmscope.refresh', (e.target as HTMLSelectElement).value);
        } catch {
          // storage disabled: the choice lasts this page view
        }
        schedule(Number((e.target as HTMLSelectElement).value));
      },
    },
    REFRESH_CHOICES.map(([label, ms]) =>
      h('option', { value: String(ms), selected: ms === storedRefresh() }, `⟳ ${label}`),
    ),
  );
  const themeLabel = () => {
    const t = document.documentElement.dataset.theme;
    return t === 'dark' ? '☾ dark' : t === 'light' ? '☀ light' : '◐ auto';
  };
  const theme: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      id: 'theme',
      title: 'theme: auto, light or dark',
      onclick: () => {
        const t = document.documentElement.dataset.theme;
        const next = t === undefined ? 'light' : t === 'light' ? 'dark' : 'auto';
        applyTheme(next);
        try {
          localStorage.setItem('llmscope.theme', next);
        } catch {
          // storage disabled
        }
        theme.textContent = themeLabel();
        void load(false); // charts take their colors from the theme
      },
    },
    themeLabel(),
  );
  // A signed-in session (off loopback) can end itself; the server clears the cookies and shows the login page.
  const me = currentMe();
  const who = me
    ? h(
        'span',
        {
          id: 'whoami',
          class: 'whoami',
          title: `signed in ${me.via === 'open' ? 'on the loopback bind (no credentials)' : me.via === 'bearer' ? 'with a bearer token' : 'with a dashboard session'}${me.session_expires_at ? ` until ${new Date(me.session_expires_at).toLocaleString()}` : ''}`,
        },
        h('strong', { 'data-who': 'name' }, me.name),
        ' · ',
        h('span', { 'data-who': 'role' }, me.role),
        me.teams || me.features
          ? [
              ' · ',
              h(
                'span',
                { 'data-who': 'scope', class: 'badge' },
                [
                  me.teams ? `teams: ${me.teams.join(', ')}` : null,
                  me.features ? `features: ${me.features.join(', ')}` : null,
                ]
                  .filter(Boolean)
                  .join(' · '),
              ),
            ]
          : null,
      )
    : null;
  const signOut =
    me?.via === 'session' || /(?:^|;\s*)llmscope_csrf=/.test(document.cookie)
      ? h(
          'form',
          { method: 'post', action: '/logout', id: 'sign-out' },
          h('button', { type: 'submit', title: 'end this dashboard session' }, 'Sign out'),
        )
      : null;
  $('#tools').replaceChildren(...[who, refresh, theme, signOut].filter((x) => x !== null));
}

function schedule(every: number): void {
  window.clearInterval(refreshTimer);
  refreshTimer = undefined;
  if (every > 0)
    refreshTimer = window.setInterval(() => {
      if (document.hidden || heldByUser()) return;
      const r = currentRoute();
      if (rangeOf(r.params).live) void load(true);
    }, every);
}

/**
 * The user is in the middle of something an auto-refresh would render away: typing in a field of the page, a filter
 * typed but not applied, or rows paged in with "load more" (a page marks that with data-hold-refresh). The tick is
 * skipped; the next one looks again, and the status line keeps saying when the page was last updated.
 */
function heldByUser(): boolean {
  const view = $('#view');
  const active = document.activeElement;
  if (active && view.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return true;
  const params = currentRoute().params;
  for (const input of view.querySelectorAll<HTMLInputElement>('form.filters input[name]'))
    if (input.value.trim() !== (params.get(input.name) ?? '')) return true;
  return view.querySelector('[data-hold-refresh]') !== null;
}

export function setStatus(text: string): void {
  $('#status-line').textContent = text;
}

async function load(refresh: boolean): Promise<void> {
  const gen = ++generation;
  await whoami;
  if (gen !== generation) return;
  const route = currentRoute();
  const page = pageOf(route);
  const view = $('#view');
  const key = `${route.page}/${route.id ?? ''}`;
  const samePage = key === lastRoute;
  lastRoute = key;
  renderNav(route);
  renderRange(route);
  document.title = `${page.title(route)} · llmscope`;
  if (!samePage) {
    destroyCharts();
    setKeyHandler(null);
    view.replaceChildren(h('div', { class: 'loading muted' }, 'loading…'));
    window.scrollTo(0, 0);
  }
  const t0 = performance.now();
  const needs = NEEDS[route.page];
  const no = needs ? denied(needs) : null;
  if (needs && no) {
    // A page the principal cannot read (a link from elsewhere, a bookmark): say so plainly, not as an error.
    view.replaceChildren(
      h(
        'div',
        { class: 'empty', id: 'not-available' },
        h('p', null, `${page.title(route)}: ${deniedText(no, needs)}.`),
      ),
    );
    view.dataset.ready = String(gen);
    return;
  }
  try {
    await page.render(view, {
      route,
      range: rangeOf(route.params),
      refresh,
      current: () => gen === generation,
      reload: () => void load(false),
    });
    if (gen === generation) {
      view.dataset.ready = String(gen);
      setStatus(`updated ${new Date().toLocaleTimeString()} · ${Math.round(performance.now() - t0)} ms`);
    }
  } catch (err) {
    if (gen !== generation) return;
    view.replaceChildren(
      h('div', { class: 'empty' }, h('p', null, 'This page failed to load.'), h('pre', null, String(err))),
    );
  }
}

auth.onUnauthorized = () => {
  const b = $('#banner');
  b.hidden = false;
  b.replaceChildren(h('span', null, 'Your session has no admin token. '), h('a', { href: '/' }, 'Sign in'));
};

window.addEventListener('hashchange', () => void load(false));
renderTools();
schedule(storedRefresh());
void load(false);
