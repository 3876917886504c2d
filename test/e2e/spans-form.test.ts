// The gateway spans form (src/store/spans-codec.ts) keeps a gateway call's spans as the few values its row lacks and
// rebuilds their attributes from the row when read. Every answer that shows spans must be what it was when the
// spans were stored whole: the same calls made through the gateway (streamed, not, embeddings, upstream failures, a
// cut stream, a cancelled one, a refused request, attribution and a traceparent), each API answer read, then the
// rows' spans column rewritten in the compact form the release before wrote, and every answer read again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSpans } from '../../src/store/spans-codec.js';
import { type Stack, startStack } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'llmscope-spans-form-'));
const dbPath = join(dir, 'calls.db');
let s: Stack;
beforeAll(async () => {
  s = await startStack({ config: { storage: { url: `sqlite:${dbPath}` } } });
});
afterAll(async () => {
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

const chat = (id: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  request(`${s.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': id, ...headers },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], ...body }),
  });

async function getJson(path: string): Promise<unknown> {
  const res = await request(`${s.base}${path}`);
  expect(res.statusCode, path).toBe(200);
  return res.body.json();
}

describe('gateway calls stored in the gateway spans form', () => {
  it('answer every API read exactly as when their spans were stored whole', async () => {
    const ids: string[] = [];
    const send = async (id: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      ids.push(id);
      // a cut upstream stream is cut for the client too
      await (await chat(id, body, headers)).body.text().catch(() => '');
    };
    await send(
      'sf-plain',
      { temperature: 0.3, max_tokens: 64, seed: 7 },
      {
        'x-llmscope-user': 'user-1',
        'x-llmscope-team': 'team-a',
        'x-llmscope-feature': 'search',
        'x-llmscope-session': 'sess-1',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      },
    );
    await send('sf-stream', { stream: true }, { 'x-llmscope-session': 'sess-1', 'x-simulator-cached-tokens': '4' });
    await send('sf-stream-usage', { stream: true, stream_options: { include_usage: true } });
    await send('sf-500', {}, { 'x-simulator-fault': 'server_error' });
    await send('sf-429', { stream: true }, { 'x-simulator-fault': 'rate_limit' });
    await send('sf-cut', { stream: true }, { 'x-simulator-fault': 'cut' });
    await send('sf-refusal', {}, { 'x-simulator-fault': 'refusal' });
    await send('sf-bad', { messages: 'not a list' });
    ids.push('sf-embed');
    await (
      await request(`${s.base}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'sf-embed' },
        body: JSON.stringify({ model: 'text-embedding-3-small', input: 'hello' }),
      })
    ).body.text();
    // a client that leaves mid-stream
    ids.push('sf-cancel');
    const ac = new AbortController();
    const res = await request(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'sf-cancel', 'x-simulator-tpot-ms': '5' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'long' }], stream: true }),
      signal: ac.signal,
    });
    try {
      for await (const chunk of res.body) if (String(chunk).includes('"content":"')) ac.abort();
    } catch {
      /* aborted */
    }

    await s.waitForCalls(ids.length);
    await s.app.ctx.recorder.flush();
    const calls = new Map(s.calls.map((c) => [c.requestId, c]));
    expect([...calls.keys()].sort()).toEqual([...ids].sort());
    expect(calls.get('sf-cancel')?.status).toBe('cancelled');

    const db = new Database(dbPath);
    try {
      const stored = new Map(
        (db.prepare('SELECT request_id, spans FROM calls').all() as { request_id: string; spans: string }[]).map(
          (r) => [r.request_id, r.spans],
        ),
      );
      // every call with spans is in the gateway form, in a fraction of the compact form's bytes
      let gateway = 0;
      let compactBytes = 0;
      let gatewayBytes = 0;
      for (const [id, c] of calls) {
        const text = stored.get(id) as string;
        if (c.spans.length === 0) continue;
        expect(text.slice(0, 3), id).toBe('[1,');
        gateway++;
        gatewayBytes += text.length;
        compactBytes += encodeSpans(c.spans).length;
      }
      expect(gateway).toBeGreaterThanOrEqual(9);
      expect(gatewayBytes).toBeLessThan(compactBytes / 3);

      const traceIds = [...new Set([...calls.values()].map((c) => c.traceId).filter((t) => t !== null))];
      const paths = [
        ...ids.map((id) => `/api/requests/${id}`),
        ...traceIds.map((t) => `/api/traces/${t}`),
        '/api/sessions/sess-1',
        '/api/requests?limit=100',
        '/api/requests?user=user-1&limit=100',
      ];
      const read = async () => Promise.all(paths.map((p) => getJson(p)));
      const now = await read();
      // the same rows with the spans the gateway built, as the compact form (the release before) stored them
      const rewrite = db.prepare('UPDATE calls SET spans = ? WHERE request_id = ?');
      for (const [id, c] of calls) rewrite.run(encodeSpans(c.spans), id);
      expect((db.prepare("SELECT count(*) AS n FROM calls WHERE spans LIKE '[1,%'").get() as { n: number }).n).toBe(0);
      const before = await read();
      for (let i = 0; i < paths.length; i++) expect(now[i], paths[i]).toStrictEqual(before[i]);
      // and the spans answered are the ones the gateway built
      const detail = now[0] as { spans: { attributes: Record<string, unknown> }[] };
      expect(detail.spans[0]?.attributes).toMatchObject({
        'gen_ai.request.temperature': 0.3,
        'gen_ai.request.max_tokens': 64,
        'llmscope.user': 'user-1',
        'llmscope.request_id': 'sf-plain',
      });
    } finally {
      db.close();
    }
  }, 60_000);
});
