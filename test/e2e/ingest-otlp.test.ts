// The other ways in and out: POST /api/ingest records calls made outside the gateway; spans leave over
// OTLP/HTTP to a collector; the dashboard and /api need the admin token off loopback.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, parseMetrics, type Stack, startStack } from './helpers.js';

describe('POST /api/ingest', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 0, tpotMs: 0 } });
  });
  afterAll(() => s.close());

  const ingest = async (body: unknown) => {
    const r = await request(`${s.base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.statusCode, json: (await r.body.json()) as Record<string, unknown> };
  };

  it('records calls made elsewhere into the ledger, rollups and metrics', async () => {
    const started = Date.now() - 5_000;
    const r = await ingest({
      calls: [
        {
          request_id: 'ext-1',
          started_at: new Date(started).toISOString(),
          latency_ms: 850,
          provider: 'anthropic',
          model: 'claude-sonnet-4',
          stream: true,
          ttft_ms: 320,
          input_tokens: 1200,
          output_tokens: 300,
          user: 'bob',
          feature: 'batch-summaries',
        },
        { request_id: 'ext-2', started_at: started, provider: 'anthropic', model: 'claude-sonnet-4', http_status: 529 },
      ],
    });
    expect(r).toEqual({ status: 202, json: { accepted: 2, request_ids: ['ext-1', 'ext-2'], duplicates: [] } });
    await s.app.ctx.recorder.flush();
    const one = (await (await request(`${s.base}/api/requests/ext-1`)).body.json()) as Record<string, unknown>;
    expect(one).toMatchObject({
      request_id: 'ext-1',
      provider: 'anthropic',
      ttft_ms: 320,
      latency_ms: 850,
      output_tokens: 300,
      token_source: 'usage',
      source: 'ingest',
      status: 'ok',
    });
    const two = (await (await request(`${s.base}/api/requests/ext-2`)).body.json()) as Record<string, unknown>;
    expect(two.status).toBe('upstream_error');
    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    expect(metricValue(m, 'llm_requests_total', { provider: 'anthropic' })).toBe(2);
    const sum = (await (
      await request(`${s.base}/api/stats/summary?from=${started - 60_000}&to=${Date.now() + 1}&provider=anthropic`)
    ).body.json()) as { requests: number; errors: number };
    expect(sum).toMatchObject({ requests: 2, errors: 1 });
  });

  it('rejects bad records with every problem and its path, storing nothing', async () => {
    const r = await ingest([{ started_at: 'yesterday', provider: '', model: 'm', input_tokens: -1 }]);
    expect(r.status).toBe(400);
    const msg = (r.json.error as { message: string }).message;
    expect(msg).toContain('0.started_at');
    expect(msg).toContain('0.provider');
    expect(msg).toContain('0.input_tokens');
  });
});

describe('OTLP/HTTP trace export', () => {
  let collector: Server;
  const received: { path: string; body: string }[] = [];
  let endpoint = '';
  beforeAll(async () => {
    collector = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push({ path: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => collector.close(() => r())));

  it('sends each call’s spans to the configured collector', async () => {
    const s = await startStack({ config: { telemetry: { otlpEndpoint: endpoint } }, sim: { ttftMs: 0, tpotMs: 0 } });
    try {
      const r = await request(`${s.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'otlp-1' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true }),
      });
      await r.body.text();
      await s.waitForCalls(1);
      await s.app.ctx.recorder.flush();
      const call = s.calls.find((c) => c.requestId === 'otlp-1');
      expect(received.length).toBeGreaterThan(0);
      const all = received.map((x) => x.body).join('\n');
      expect(received[0]?.path).toBe('/v1/traces');
      expect(all).toContain('chat gpt-4o-mini');
      expect(all).toContain('gen_ai.usage.output_tokens');
      // OTLP/JSON carries ids as hex strings.
      expect(all).toContain(call?.traceId as string);
    } finally {
      await s.close();
    }
  });
});

describe('admin token off loopback', () => {
  it('answers 401 without the token and serves with it', async () => {
    const s = await startStack({
      config: { server: { host: '0.0.0.0', port: 0, adminToken: 'correct-horse-battery' } },
      sim: { ttftMs: 0, tpotMs: 0 },
    });
    try {
      const port = new URL(s.base).port;
      const base = `http://127.0.0.1:${port}`;
      const no = await request(`${base}/api/requests`);
      expect(no.statusCode).toBe(401);
      expect(((await no.body.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      const page = await request(`${base}/`);
      expect(page.statusCode).toBe(401);
      await page.body.text();
      const yes = await request(`${base}/api/requests`, { headers: { authorization: 'Bearer correct-horse-battery' } });
      expect(yes.statusCode).toBe(200);
      await yes.body.json();
      // The gateway itself is for clients, not admins: it does not need the admin token.
      const call = await request(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(call.statusCode).toBe(200);
      await call.body.json();
    } finally {
      await s.close();
    }
  });
});
