// /metrics on a loopback bind without server.metricsToken is open to this machine, like the dashboard. A page on
// another site whose name resolves to 127.0.0.1 (DNS rebinding) could read it too, and it names end users
// (llm_user_cost_usd_total{user}) and what they spent: such a request, with the attacker's name in Host, gets 403
// host_not_allowed, as /api does. Prometheus scraping 127.0.0.1:PORT or localhost:PORT is let in.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

describe('/metrics on the loopback bind', () => {
  let s: Stack;
  let port: string;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 0, tpotMs: 0 } });
    port = new URL(s.base).port;
  });
  afterAll(() => s.close());

  const scrape = async (host: string) => {
    const r = await request(`${s.base}/metrics`, { headers: { host } });
    return { status: r.statusCode, text: await r.body.text() };
  };

  it('refuses a Host that is not a loopback name, and answers Prometheus at 127.0.0.1 or localhost', async () => {
    const evil = await scrape(`rebind.attacker.example:${port}`);
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.text).error.code).toBe('host_not_allowed');
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const ok = await scrape(host);
      expect(ok.status, host).toBe(200);
      expect(ok.text).toContain('llm_requests_total');
    }
  });
});
