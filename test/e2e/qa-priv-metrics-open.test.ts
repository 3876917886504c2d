// Off loopback, /metrics without server.metricsToken answers whoever reaches the port (docs/deploy.md: open even when
// server.adminToken is set), and it names end users and their spend (llm_user_cost_usd_total{user}). The dashboard
// and /api refuse such a bind without a token; /metrics stays open for existing scrape jobs, and serve says so once
// at start (event metrics_open) unless server.metricsToken is set.
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

describe('/metrics off loopback', () => {
  const stacks: Stack[] = [];
  afterAll(async () => {
    for (const s of stacks) await s.close();
  });
  const start = async (metricsToken?: string) => {
    const s = await startStack({
      config: { server: { host: '0.0.0.0', port: 0, adminToken: 'admin-token-123456', metricsToken } } as never,
    });
    stacks.push(s);
    return s;
  };

  it('warns at start that /metrics is open, and answers it without a token', async () => {
    const s = await start();
    const warned = s.logs.filter((l) => l.event === 'metrics_open');
    expect(warned).toHaveLength(1);
    expect(warned[0]?.level).toBe('warn');
    expect(String(warned[0]?.msg)).toContain('server.metricsToken');
    const port = new URL(s.base).port;
    const r = await request(`http://127.0.0.1:${port}/metrics`);
    expect(r.statusCode).toBe(200);
    await r.body.dump();
  });

  it('says nothing with server.metricsToken set, and then needs it', async () => {
    const s = await start('scrape-token-123456');
    expect(s.logs.filter((l) => l.event === 'metrics_open')).toHaveLength(0);
    const port = new URL(s.base).port;
    const r = await request(`http://127.0.0.1:${port}/metrics`);
    expect(r.statusCode).toBe(401);
    await r.body.dump();
  });
});
