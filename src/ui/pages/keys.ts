// Keys (admin): the virtual keys (prefix, name, owner, limits, expiry, status) from /api/keys; create one (its
// secret is shown here once, with a copy button, and never again), revoke, rotate (a new secret, shown once).
import type { KeyList, KeyView, KeyWithSecret } from '../../wire/index.js';
import { can } from '../lib/access.js';
import { failed, get, post, qs, why } from '../lib/api.js';
import { card, compact, empty, fill, h, table, time } from '../lib/dom.js';
import { setParams } from '../lib/state.js';
import type { Page, PageContext } from './page.js';

/** A secret just made or rotated: shown by the next render only, then forgotten (never written anywhere). */
let pending: { key: KeyWithSecret; verb: 'created' | 'rotated' } | null = null;
let secretBox: HTMLElement | null = null;
let createForm: HTMLElement | null = null;

export const keysPage: Page = {
  title: () => 'Keys',
  async render(root, ctx) {
    const all = ctx.route.params.get('revoked') === '1';
    const r = await get<KeyList>(`/api/keys${qs({ include_revoked: all ? 'true' : null })}`);
    if (!ctx.current()) return;
    // An auto-refresh keeps a secret on screen and a half-filled form; any other render shows a new secret once.
    if (pending) {
      secretBox = secretCard(pending.key, pending.verb);
      pending = null;
    } else if (!(ctx.refresh && secretBox?.isConnected)) secretBox = null;
    if (!(ctx.refresh && createForm?.isConnected)) createForm = can('POST /api/keys') ? createFormOf(ctx) : null;
    const toggle = h('input', {
      type: 'checkbox',
      id: 'show-revoked',
      checked: all,
      onchange: (e: Event) => setParams({ revoked: (e.target as HTMLInputElement).checked ? '1' : null }),
    });
    fill(
      root,
      secretBox,
      card(
        'Virtual keys',
        h('p', { class: 'row' }, h('label', null, toggle, ' show revoked keys')),
        !r.ok
          ? empty(why(r, 'keys'))
          : r.data.keys.length === 0
            ? empty('no keys yet', 'create one below, or with `llmscope keys create NAME`')
            : keysTable(r.data.keys, ctx),
      ),
      createForm ? card('Create a key', createForm) : null,
    );
  },
};

function owner(k: KeyView): HTMLElement {
  const parts = [
    k.user ? `user ${k.user}` : null,
    k.team ? `team ${k.team}` : null,
    k.feature ? `feature ${k.feature}` : null,
  ];
  return h(
    'span',
    null,
    parts.filter(Boolean).join(' · ') || '–',
    k.trust_headers.length
      ? h(
          'span',
          { class: 'muted', title: 'attribution headers its calls may still set' },
          ` (sets: ${k.trust_headers.join(', ')})`,
        )
      : null,
  );
}

function limits(k: KeyView): string {
  const parts = [
    k.rpm !== null ? `${compact(k.rpm)} req/min` : null,
    k.tpm !== null ? `${compact(k.tpm)} tok/min` : null,
    k.models.length ? `models: ${k.models.join(', ')}` : null,
  ];
  return parts.filter(Boolean).join(' · ') || 'none';
}

function keysTable(keys: KeyView[], ctx: PageContext): HTMLElement {
  const msg = h('p', { class: 'muted', id: 'keys-msg' });
  const act = async (k: KeyView, verb: 'revoke' | 'rotate') => {
    const ask =
      verb === 'revoke'
        ? `Revoke key "${k.name}" (${k.prefix ?? k.id})? Calls with it are refused from now on.`
        : `Rotate key "${k.name}"? It gets a new secret; the current one stops working now.`;
    if (!window.confirm(ask)) return;
    msg.textContent = verb === 'revoke' ? 'revoking…' : 'rotating…';
    const path = `/api/keys/${encodeURIComponent(k.id)}/${verb}`;
    if (verb === 'revoke') {
      const x = await post<KeyView>(path, {});
      if (!x.ok) {
        msg.textContent = failed(x, 'revoke the key');
        return;
      }
    } else {
      const x = await post<KeyWithSecret>(path, {});
      if (!x.ok) {
        msg.textContent = failed(x, 'rotate the key');
        return;
      }
      pending = { key: x.data, verb: 'rotated' };
    }
    ctx.reload();
  };
  const manage = can('POST /api/keys/:id/revoke');
  return h(
    'div',
    null,
    table(
      ['name', 'prefix', 'status', 'owner', 'limits', 'expires', 'created', ''],
      keys.map((k) => [
        h('strong', null, k.name),
        k.prefix ? h('code', null, `${k.prefix}…`) : h('span', { class: 'muted' }, 'config'),
        h('span', { class: k.status === 'active' ? 'good' : k.status === 'revoked' ? 'bad' : 'muted' }, k.status),
        owner(k),
        limits(k),
        k.expires_at ? time(k.expires_at) : 'never',
        k.created_at ? `${time(k.created_at)}${k.created_by ? ` by ${k.created_by}` : ''}` : '–',
        k.source === 'config'
          ? h('span', { class: 'muted', title: 'change it in the config file (keys:)' }, 'in the config file')
          : k.status === 'revoked' || !manage
            ? ''
            : h(
                'span',
                { class: 'row' },
                h(
                  'button',
                  { type: 'button', class: 'small', 'data-rotate': k.id, onclick: () => void act(k, 'rotate') },
                  'rotate',
                ),
                h(
                  'button',
                  { type: 'button', class: 'small', 'data-revoke': k.id, onclick: () => void act(k, 'revoke') },
                  'revoke',
                ),
              ),
      ]),
      { id: 'keys' },
    ),
    msg,
  );
}

function secretCard(k: KeyWithSecret, verb: 'created' | 'rotated'): HTMLElement {
  const field = h('input', { type: 'text', readonly: true, id: 'new-key', value: k.key, class: 'mono', size: 52 });
  const copied = h('span', { class: 'muted', id: 'copy-msg' });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(k.key);
      copied.textContent = 'copied';
    } catch {
      field.select();
      copied.textContent = document.execCommand('copy') ? 'copied' : 'select the key and copy it';
    }
  };
  return h(
    'section',
    { class: 'card secret', id: 'key-secret' },
    h('h3', null, `Key "${k.name}" ${verb}`),
    h(
      'p',
      { class: 'strip bad', role: 'alert' },
      'Copy this key now: it will not be shown again. llmscope keeps only its hash and its first characters.',
    ),
    h(
      'div',
      { class: 'row' },
      field,
      h('button', { type: 'button', id: 'copy-key', onclick: () => void copy() }, 'copy'),
      h(
        'button',
        {
          type: 'button',
          id: 'dismiss-key',
          onclick: () => {
            secretBox?.remove();
            secretBox = null;
          },
        },
        'done',
      ),
      copied,
    ),
  );
}

const EXPIRIES: [string, string][] = [
  ['', 'never'],
  ['1d', '1 day'],
  ['7d', '7 days'],
  ['30d', '30 days'],
  ['90d', '90 days'],
  ['365d', '1 year'],
];

function createFormOf(ctx: PageContext): HTMLElement {
  const input = (name: string, placeholder: string, extra: Record<string, string | number | boolean> = {}) =>
    h('input', { name, placeholder, maxlength: 256, ...extra });
  const name = input('name', 'name (e.g. search-prod)', { required: true, maxlength: 128 });
  const user = input('user', 'user (optional)');
  const team = input('team', 'team (optional)');
  const feature = input('feature', 'feature (optional)');
  const rpm = input('rpm', 'requests/min', { type: 'number', min: 1, step: 1 });
  const tpm = input('tpm', 'tokens/min', { type: 'number', min: 1, step: 1 });
  const models = input('models', 'models (e.g. gpt-4o-mini, claude-*; empty: all)', {
    title: 'models calls with this key may name: names or patterns, comma-separated; empty allows every model',
  });
  const expires = h(
    'select',
    { name: 'expires_in' },
    EXPIRIES.map(([v, label]) => h('option', { value: v }, label)),
  );
  // Attribution headers calls with this key may still set (the server's default: feature and session).
  const trust = (['user', 'team', 'feature', 'session'] as const).map((x) =>
    h('input', { type: 'checkbox', name: 'trust', value: x, checked: x === 'feature' || x === 'session' }),
  );
  const msg = h('span', { class: 'muted', id: 'create-key-msg' });
  const form = h(
    'form',
    { id: 'create-key', class: 'silence-form' },
    h('div', { class: 'row' }, name, user, team, feature),
    h(
      'div',
      { class: 'row', title: 'x-llmscope-* headers a call with this key may still set; the key decides the rest' },
      h('span', { class: 'muted' }, 'calls may set:'),
      trust.map((c) => h('label', null, c, ` ${c.value}`)),
    ),
    h(
      'div',
      { class: 'row' },
      rpm,
      tpm,
      models,
      h('label', null, h('span', null, 'expires in '), expires),
      h('button', { type: 'submit' }, 'create key'),
      msg,
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = (el: HTMLInputElement) => el.value.trim() || undefined;
    const int = (el: HTMLInputElement) => (el.value.trim() ? Number(el.value) : undefined);
    if (!text(name)) {
      msg.textContent = 'give the key a name';
      return;
    }
    msg.textContent = 'creating…';
    const r = await post<KeyWithSecret>('/api/keys', {
      name: text(name),
      user: text(user),
      team: text(team),
      feature: text(feature),
      rpm: int(rpm),
      tpm: int(tpm),
      models: models.value
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
      expires_in: expires.value || undefined,
      trust_headers: trust.filter((c) => c.checked).map((c) => c.value),
    });
    if (!r.ok) {
      // a refused body is a create that failed, not a key that could not be loaded
      msg.textContent = failed(r, 'create the key');
      return;
    }
    pending = { key: r.data, verb: 'created' };
    createForm = null;
    ctx.reload();
  });
  return form;
}
