// A key stored with a date no Date can hold (before d67239d refused such expiries) made every GET /api/keys a 500
// (RangeError in keyView): it is listed with that date null, the others as they are, and a warning names it.
import { describe, expect, it } from 'vitest';
import { Router } from '../http/index.js';
import { createKey } from './key-admin.js';
import { registerKeyRoutes } from './key-routes.js';
import type { CostRuntime } from './runtime.js';
import { MemoryKeyStore } from './storage/index.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

describe('GET /api/keys with a corrupt stored expiry', () => {
  it('lists every key, the corrupt date as null, and warns', async () => {
    const store = new MemoryKeyStore();
    const { key: good } = await createKey(store, { name: 'good', expires_in: '30d' }, { now: NOW, by: 'admin' });
    const { key: bad } = await createKey(store, { name: 'bad' }, { now: NOW, by: 'admin' });
    await store.insert({ ...bad, id: `${bad.id}x`, name: 'far', hash: `${bad.hash}x`, expiresAt: 9e15 });
    const warnings: unknown[] = [];
    const router = new Router();
    const rt = { clock: { now: () => NOW }, config: { keys: [] } } as unknown as CostRuntime;
    registerKeyRoutes(router, {
      rt,
      keyStore: store,
      bodyLimit: 1 << 20,
      logger: { warn: (o: unknown) => void warnings.push(o) } as never,
    });
    const m = router.match('GET', '/api/keys');
    if (!m || m === 'method') throw new Error('no route');
    let status = 0;
    let body: { keys: { name: string; expires_at: string | null; status: string }[] } = { keys: [] };
    const res = {
      writeHead: (s: number) => {
        status = s;
        return res;
      },
      setHeader: () => res,
      end: (b: string) => {
        body = JSON.parse(b);
      },
    };
    await m.handler({ req: {} as never, res: res as never, url: new URL('http://x/api/keys'), params: {} });
    expect(status).toBe(200);
    const byName = Object.fromEntries(body.keys.map((k) => [k.name, k]));
    expect(byName.good?.expires_at).toBe(new Date(good.expiresAt as number).toISOString());
    expect(byName.far).toMatchObject({ expires_at: null, status: 'active' });
    expect(warnings).toEqual([expect.objectContaining({ event: 'key_date_invalid', fields: ['expires_at'] })]);
  });
});
