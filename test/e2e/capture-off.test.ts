// With content capture off (telemetry.captureContent: false, the default), no text of a prompt or an answer is kept
// anywhere: not in any row of any table (calls, evaluations, review queue, ...), not in the logs, not in the spans
// exported over OTLP, not in what the API hands out (request detail, trace, review queue, quality detail).
// Evaluations still run on the text and keep their verdicts, scores, ids and counts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModules } from '../../src/cli/modules.js';
import { type Stack, startStack } from './helpers.js';

// Words that appear only in the prompt and the answer.
const PROMPT_WORDS = ['Zorvath', 'quillmoss', 'Tessaridge'];
const ANSWER_WORDS = ['Brontevale', 'marrowlight'];
const CONTEXT =
  'The Zorvath bridge over the quillmoss river in Tessaridge was completed in 1907 by the harbour authority. It is ' +
  '412 metres long, built of riveted steel, and carries two railway tracks and a footpath used by many commuters.';
const REPLY = 'The Zorvath bridge was completed in 1907. It was painted by Brontevale in marrowlight colours.';

async function otlpCapture(): Promise<{ server: Server; url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(parts).toString('latin1'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

describe('content capture off', () => {
  let s: Stack;
  let otlp: Awaited<ReturnType<typeof otlpCapture>>;
  beforeAll(async () => {
    otlp = await otlpCapture();
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0, outputTokens: 8 },
      config: {
        storage: { url: 'sqlite::memory:' },
        telemetry: { logLevel: 'debug', captureContent: false, otlpEndpoint: otlp.url },
        quality: { reviewRate: 1 },
      } as never,
      app: { modules: builtinModules() },
    });
  });
  afterAll(async () => {
    await s?.close();
    await new Promise((r) => otlp?.server.close(r));
  });

  it('keeps no word of the prompt or the answer anywhere, while evaluations keep verdicts, scores and counts', async () => {
    const ids = ['off-1', 'off-2'];
    for (const [k, id] of ids.entries()) {
      const r = await request(`${s.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': id, 'x-simulator-reply': REPLY },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          stream: k === 1,
          messages: [
            { role: 'system', content: `Answer from this context: ${CONTEXT}` },
            { role: 'user', content: 'When was the Zorvath bridge completed, and who painted it?' },
          ],
        }),
      });
      expect(r.statusCode).toBe(200);
      await r.body.dump();
    }
    await s.waitForCalls(2);
    await s.app.ctx.recorder.flush();
    const detail = async (id: string) =>
      (await (await request(`${s.base}/api/requests/${id}`)).body.json()) as Record<string, unknown> & {
        evaluations: { evaluator: string; verdict: string; score: number; claims?: unknown[] }[];
      };
    for (let i = 0; i < 100; i++) {
      const ready = await Promise.all(ids.map(async (id) => ((await detail(id)).evaluations?.length ?? 0) > 0));
      if (ready.every(Boolean)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await s.app.ctx.recorder.flush();
    await new Promise((r) => setTimeout(r, 300));
    await s.app.ctx.recorder.flush();

    const b = s.app.ctx.store.backend;
    if (b.kind !== 'sqlite') throw new Error('sqlite');
    const tables = (b.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[])
      .map(({ name }) => `${name}: ${JSON.stringify(b.db.prepare(`SELECT * FROM "${name}"`).all())}`)
      .join('\n');
    const text = async (path: string) => (await request(`${s.base}${path}`)).body.text();
    const first = await detail('off-1');
    const places: Record<string, string> = {
      tables,
      logs: JSON.stringify(s.logs),
      otlp: otlp.bodies.join('\n'),
      detail: JSON.stringify(await Promise.all(ids.map(detail))),
      trace: await text(`/api/traces/${first['trace_id']}`),
      review: await text('/api/quality/review?limit=50&status=all'),
      quality: (await Promise.all(ids.map((id) => text(`/api/quality/requests/${id}`)))).join(),
    };
    // The paths were taken: evaluated, queued for review, spans exported.
    expect(places.review).toContain('off-1');
    expect(otlp.bodies.length).toBeGreaterThan(0);
    const grounding = first.evaluations.find((e) => e.evaluator === 'grounding');
    expect(grounding, JSON.stringify(first.evaluations)).toBeDefined();
    expect(typeof grounding?.score).toBe('number');
    expect(grounding?.claims?.length).toBeGreaterThan(0);
    expect(first['content']).toBeUndefined();
    for (const [where, t] of Object.entries(places))
      for (const w of [...PROMPT_WORDS, ...ANSWER_WORDS]) expect(t, `${w} in ${where}`).not.toContain(w);
  }, 60_000);
});

describe('content capture off: an upstream error that quotes the prompt', () => {
  let s: Stack;
  let upstream: Server;
  beforeAll(async () => {
    // An upstream whose 400 quotes the prompt, as content-policy and invalid-value errors do.
    upstream = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c) => parts.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { messages: { content: string }[] };
        const quoted = body.messages.at(-1)?.content ?? '';
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              message: `Your request was rejected by the safety system. Flagged text: ${quoted} (also '${quoted.slice(0, 30)}')`,
              type: 'invalid_request_error',
              code: 'content_policy_violation',
            },
          }),
        );
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    s = await startStack({
      config: {
        providers: [{ name: 'quoting', baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` }],
        storage: { url: 'sqlite::memory:' },
        telemetry: { logLevel: 'debug', captureContent: false },
      } as never,
    });
  });
  afterAll(async () => {
    await s?.close();
    await new Promise((r) => upstream?.close(r));
  });

  it('keeps the error’s own words, none of the prompt’s, in the store, the API and the logs', async () => {
    const r = await request(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'quoted-1' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: CONTEXT }] }),
    });
    expect(r.statusCode).toBe(400);
    // The client itself gets the upstream's answer unchanged.
    expect(await r.body.text()).toContain('Zorvath');
    await s.waitForCalls(1);
    await s.app.ctx.recorder.flush();
    const detail = (await (await request(`${s.base}/api/requests/quoted-1`)).body.json()) as Record<string, unknown>;
    const message = String(detail.error_message);
    expect(message).toBe('Your request was rejected by the safety system. Flagged text: The …. (also "…")');
    expect(message).toContain('"…"');
    expect(message.length).toBeLessThanOrEqual(256);
    const places = {
      api: JSON.stringify(detail),
      logs: JSON.stringify(s.logs),
      stored: JSON.stringify((await s.app.ctx.store.listCalls({})).items),
    };
    for (const [where, t] of Object.entries(places))
      for (const w of [...PROMPT_WORDS, 'riveted', 'commuters']) expect(t, `${w} in ${where}`).not.toContain(w);
  });
});
