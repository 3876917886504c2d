// Privacy on every path: personal data and secrets planted in prompts and answers never reach the store, the logs,
// the spans sent over OTLP (captured by a test receiver), the LLM judge's requests, or what the API hands out (the
// request detail, the review queue); each kind is redacted and counted in llmscope_redactions_total{kind}.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModules } from '../../src/cli/modules.js';
import { metricValue, parseMetrics, type Stack, startStack } from './helpers.js';

const PII = {
  email: 'jane.doe@example.org',
  card: '4111 1111 1111 1111',
  phone: '+1 (415) 555-0132',
  iban: 'GB82 WEST 1234 5698 7654 32',
  national_id: '123-45-6789',
  ip: '203.0.113.77',
  secret: 'sk-live-abcdefghijklmnopqrstuv',
};
const planted = Object.values(PII).join(', ');
/** Distinct fragments of each planted value: none may appear anywhere. */
const LEAKS = ['jane.doe', '4111 1111', '555-0132', 'WEST 1234', '123-45-6789', '203.0.113', 'sk-live-abc'];

/** A server that keeps every request body it gets and answers with `reply`. */
async function capture(reply: (path: string) => string): Promise<{ server: Server; url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(parts).toString('latin1'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(reply(req.url ?? '/'));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

describe('privacy on every path', () => {
  let s: Stack;
  let judge: Awaited<ReturnType<typeof capture>>;
  let otlp: Awaited<ReturnType<typeof capture>>;
  beforeAll(async () => {
    judge = await capture(() =>
      JSON.stringify({
        id: 'j',
        object: 'chat.completion',
        model: 'judge-model',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: '{"verdict":"fail","score":0.8,"reason":"unsupported"}' },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      }),
    );
    otlp = await capture(() => '{}');
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0, outputTokens: 8 },
      config: {
        telemetry: { logLevel: 'debug', captureContent: true, otlpEndpoint: otlp.url },
        quality: {
          reviewRate: 1,
          sampling: { judge: 1 },
          judge: { baseUrl: `${judge.url}/v1`, model: 'judge-model' },
        },
      } as never,
      app: { modules: builtinModules() },
    });
  });
  afterAll(async () => {
    await s?.close();
    for (const c of [judge, otlp]) await new Promise((r) => c?.server.close(r));
  });

  it('redacts planted PII in prompts and answers everywhere, and counts each kind', async () => {
    const ids = ['pii-1', 'pii-2'];
    for (const [k, id] of ids.entries()) {
      const r = await request(`${s.base}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-request-id': id,
          'x-simulator-reply': `Sure. I have noted ${planted}.`,
        },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          stream: k === 1,
          messages: [
            { role: 'system', content: `Context: the customer's details are ${planted}.` },
            { role: 'user', content: `Please remember ${planted} for me.` },
          ],
        }),
      });
      // The client itself gets the upstream's answer untouched: redaction is about what llmscope keeps and sends on.
      const body = await r.body.text();
      if (k === 0) expect(body).toContain('jane.doe');
    }
    await s.waitForCalls(2);
    for (let i = 0; i < 100 && judge.bodies.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    await s.app.ctx.recorder.flush();
    await new Promise((r) => setTimeout(r, 500));
    await s.app.ctx.recorder.flush();

    const places: Record<string, string> = {
      store: JSON.stringify(await Promise.all(ids.map((id) => s.app.ctx.store.getCall(id)))),
      logs: JSON.stringify(s.logs),
      otlp: otlp.bodies.join('\n'),
      judge: judge.bodies.join('\n'),
      detail: (
        await Promise.all(ids.map(async (id) => (await request(`${s.base}/api/requests/${id}`)).body.text()))
      ).join(),
      list: await (await request(`${s.base}/api/requests?limit=10`)).body.text(),
      review: await (await request(`${s.base}/api/quality/review?limit=50`)).body.text(),
    };
    // The paths were really taken: content stored, spans exported, the judge asked, the calls in review.
    expect(places.store).toContain('[redacted-email]');
    expect(places.judge).toContain('[redacted-card]');
    expect(otlp.bodies.length).toBeGreaterThan(0);
    expect(places.review).toContain('pii-');
    for (const [where, text] of Object.entries(places))
      for (const leak of LEAKS) expect(text, `${leak} in ${where}`).not.toContain(leak);

    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    // Each call: 2 in the prompt (system + user) and 1 in the answer, for each kind.
    for (const kind of Object.keys(PII))
      expect(metricValue(m, 'llmscope_redactions_total', { kind }), kind).toBeGreaterThanOrEqual(6);
  }, 60_000);
});
