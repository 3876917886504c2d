// /api/keys (admin): list the virtual keys (the store's and the config's; never a secret), create one (its secret
// is in this one answer only), revoke and rotate one. A key revoked or rotated here stops on this replica at once
// and on every other within a second (their lookups are cached for at most KEY_CACHE_MS).
import { z } from 'zod';
import type { AppContext } from '../app-context.js';
import { type HttpContext, parseQuery, type Router, readJson, sendJson } from '../http/index.js';
import { badDatesOf, configKeyView, createKey, findKey, keyView, revokeKey, rotateKey } from './key-admin.js';
import type { CostRuntime } from './runtime.js';
import type { KeyStore } from './storage/keys-types.js';

type Audit = AppContext['audit'];

export interface KeyRouteDeps {
  rt: CostRuntime;
  keyStore: KeyStore;
  bodyLimit: number;
  /** The audit log (`ctx.audit`): each create, revoke and rotate is recorded with who asked and from where. */
  audit?: Audit;
  /** Told about a stored key it lists with an impossible date. */
  logger?: Pick<AppContext['logger'], 'warn'>;
}

const listSchema = z.object({
  include_revoked: z.enum(['true', 'false', '1', '0']).optional(),
});

export function registerKeyRoutes(api: Router, d: KeyRouteDeps): void {
  const { rt, keyStore } = d;
  const now = (): number => rt.clock.now();
  const audit = (http: HttpContext, action: string, target: string, detail?: Record<string, unknown>) =>
    d.audit?.record(http, { action, target: `key:${target}`, detail });

  api.get('/api/keys', async ({ res, url }) => {
    const q = parseQuery(listSchema, url);
    const includeRevoked = q.include_revoked === 'true' || q.include_revoked === '1';
    const t = now();
    const rows = await keyStore.list({ includeRevoked });
    // a row stored with a date no Date can hold (before d67239d refused them) is listed with that date null, not a 500
    for (const k of rows) {
      const bad = badDatesOf(k);
      if (bad.length)
        d.logger?.warn(
          { event: 'key_date_invalid', key_id: k.id, fields: bad },
          `virtual key ${k.id} has a date no Date can hold (${bad.join(', ')}); listed as null: revoke or fix the row`,
        );
    }
    const stored = rows.map((k) => keyView(k, t));
    sendJson(res, 200, { keys: [...stored, ...rt.config.keys.map(configKeyView)] });
  });

  api.post('/api/keys', async (http) => {
    const body = await readJson(http.req, d.bodyLimit);
    const t = now();
    const { key, secret } = await createKey(keyStore, body, {
      now: t,
      by: http.principal?.name ?? null,
      configIds: rt.keys.ids,
    });
    rt.directory.invalidate();
    await audit(http, 'key.create', key.id, { name: key.name, rpm: key.rpm, tpm: key.tpm, models: key.models });
    sendJson(http.res, 201, { ...keyView(key, t), key: secret });
  });

  api.post('/api/keys/:id/revoke', async (http) => {
    // no body is needed: what one sends is dropped after the answer, bounded (src/http's listener)
    const k = await findKey(keyStore, http.params.id as string, rt.keys.ids);
    const t = now();
    const revoked = await revokeKey(keyStore, k, t);
    rt.directory.invalidate();
    await audit(http, 'key.revoke', k.id, { name: k.name });
    sendJson(http.res, 200, keyView(revoked, t));
  });

  api.post('/api/keys/:id/rotate', async (http) => {
    // no body is needed: what one sends is dropped after the answer, bounded (src/http's listener)
    const k = await findKey(keyStore, http.params.id as string, rt.keys.ids);
    const t = now();
    const { key, secret } = await rotateKey(keyStore, k, t);
    rt.directory.invalidate();
    await audit(http, 'key.rotate', k.id, { name: k.name });
    sendJson(http.res, 200, { ...keyView(key, t), key: secret });
  });
}
