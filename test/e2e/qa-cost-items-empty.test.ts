// POST /api/cost/items with an empty body (curl -d @missing-file sends one, with only a warning) answered
// 201 {"imported": 0}, as if a file had been imported; it is now 400 invalid_body saying what to send.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type App, createApp } from '../../src/server.js';
import { configOf } from './helpers.js';

describe('POST /api/cost/items', () => {
  let app: App;
  let base: string;
  beforeAll(async () => {
    app = await createApp(
      configOf({
        server: { host: '127.0.0.1', port: 0 },
        storage: { url: 'sqlite::memory:' },
        telemetry: { logLevel: 'silent' },
        gpu: { collector: 'none' },
      }),
      { modules: [createCostModule] },
    );
    base = await app.listen();
  });
  afterAll(() => app.close());

  const post = async (body: string) => {
    const r = await request(`${base}/api/cost/items`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/csv' },
    });
    const j = (await r.body.json()) as { imported?: number; error?: { code: string; message: string } };
    return [r.statusCode, j.imported ?? j.error?.code];
  };

  it('refuses an empty body, and still imports a file', async () => {
    expect(await post('')).toEqual([400, 'invalid_body']);
    expect(await post(' \n')).toEqual([400, 'invalid_body']);
    expect(await post('date,name,amount_usd\n2026-01-05,vector-db,120\n')).toEqual([201, 1]);
  });
});
