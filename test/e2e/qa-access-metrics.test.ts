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

  // A reverse proxy on this host (nginx in front for TLS) connects from 127.0.0.1 and may address llmscope as
  // 127.0.0.1:PORT: only the address it forwards for tells its visitors from Prometheus on this machine.
  it('refuses a scrape a proxy forwards for a remote client, and lets in one forwarded for this machine', async () => {
    for (const headers of [
      { 'x-forwarded-for': '203.0.113.9' },
      { 'x-real-ip': '203.0.113.9' },
      { forwarded: 'for=203.0.113.9;proto=https' },
    ]) {
      const r = await request(`${s.base}/metrics`, { headers: { host: `127.0.0.1:${port}`, ...headers } });
      const body = JSON.parse(await r.body.text());
      expect(r.statusCode, JSON.stringify(headers)).toBe(403);
      expect(body.error.code).toBe('host_not_allowed');
      expect(body.error.message).toContain('server.metricsToken');
    }
    const local = await request(`${s.base}/metrics`, {
      headers: { host: `127.0.0.1:${port}`, 'x-forwarded-for': '127.0.0.1' },
    });
    expect(local.statusCode).toBe(200);
    await local.body.text();
  });
});
