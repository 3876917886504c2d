// A client's x-request-id that names a call the gateway process has not seen itself: one stored before a restart, one
// ingested through /api/ingest, one another worker of `serve --workers` was sent. Each is a new call that reached the
// upstream, so it is stored under an id of its own (the client's, `.`, a UUIDv7), said in the response's
// x-request-id, and the call already stored under the client's id keeps its own data. Before, the process took the
// client's id as the new call's: the store kept the first call and silently dropped the new one (its tokens and
// cost), while its log lines were shown on the stored call, whichever team's it was.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { getJson, jsonCall, type ServeRun, startServeWithConfig, until } from './helpers.js';

interface Row {
  request_id: string;
  user: string | null;
  team: string | null;
  output_tokens: number | null;
}

let sim: Simulator;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 20, tpotMs: 1, outputTokens: 4 });
  dir = mkdtempSync(join(tmpdir(), 'llmscope-id-taken-'));
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const config = (workers = 1) => ({
  server: { host: '127.0.0.1', port: 0, workers },
  providers: [{ name: 'sim', baseUrl: sim.url }],
  storage: { url: `sqlite:${join(dir, `calls-${workers}.db`)}` },
  gpu: { collector: 'none' },
});

const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };

/** One call through `serve` with the official client, as `team`, under the client's id; the id it was answered under. */
async function call(serve: ServeRun, id: string, team: string): Promise<string> {
  const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${serve.base}/v1`, maxRetries: 0 });
  const { response } = await client.chat.completions
    .create(body, { headers: { 'x-request-id': id, 'x-llmscope-team': team, 'x-llmscope-user': `user-${team}` } })
    .withResponse();
  return response.headers.get('x-request-id') as string;
}

/** The stored calls of `team` once there are `n`. */
const stored = (serve: ServeRun, team: string, n: number): Promise<Row[]> =>
  until(async () => {
    const r = await getJson<{ data: Row[] }>(`${serve.base}/api/requests?team=${team}&limit=100`);
    return r.data.length >= n ? r.data : null;
  });

describe('a client x-request-id the gateway process has not seen, but the store or another worker has', () => {
  it('after a restart, and after /api/ingest: the new call is stored under an id of its own; the stored one is kept', async () => {
    let serve = await startServeWithConfig({ config: config(), prefix: 'llmscope-id-taken-a-' });
    try {
      expect(await call(serve, 'app-req-1', 'red')).toBe('app-req-1');
      const ingested = await jsonCall(serve.base, 'POST', '/api/ingest', {
        request_id: 'ext-req-1',
        started_at: new Date().toISOString(),
        provider: 'openai',
        model: 'gpt-4o-mini',
        team: 'red',
        input_tokens: 10,
        output_tokens: 5,
      });
      expect(ingested.status).toBe(202);
      await stored(serve, 'red', 2);
      // The ingested id, sent on a gateway call by another team: the store has it, this process never saw it.
      const again = await call(serve, 'ext-req-1', 'blue');
      expect(again).toMatch(/^ext-req-1\.[0-9a-f-]{36}$/);
      expect((await serve.stop()) ?? 0).toBe(0);

      serve = await startServeWithConfig({ config: config(), prefix: 'llmscope-id-taken-b-' });
      // The id of a call stored before the restart, sent again by another team.
      const after = await call(serve, 'app-req-1', 'blue');
      expect(after).toMatch(/^app-req-1\.[0-9a-f-]{36}$/);
      // ... and a new id is still the client's own.
      expect(await call(serve, 'app-req-2', 'blue')).toBe('app-req-2');

      const blue = await stored(serve, 'blue', 3);
      expect(blue.map((c) => c.request_id).sort()).toEqual([again, after, 'app-req-2'].sort());
      for (const c of blue) expect(c.output_tokens).toBe(4);
      // The calls stored under the clients' ids are still red's, unchanged.
      const first = await getJson<Row>(`${serve.base}/api/requests/app-req-1`);
      expect([first.team, first.user, first.output_tokens]).toEqual(['red', 'user-red', 4]);
      const ext = await getJson<Row>(`${serve.base}/api/requests/ext-req-1`);
      expect([ext.team, ext.output_tokens]).toEqual(['red', 5]);
      // The call's own request line carries the id it is stored under.
      const lines = serve.stdout
        .join('')
        .split('\n')
        .filter((l) => l.includes('"request_completed"'))
        .map((l) => JSON.parse(l) as { request_id: string; team?: string });
      expect(lines.map((l) => l.request_id)).toContain(after);
      expect(lines.map((l) => l.request_id)).not.toContain('app-req-1');
    } finally {
      await serve.stop();
    }
  }, 60_000);

  it('under serve --workers 2: calls sent at once with one id reach both workers and are each stored', async () => {
    const serve = await startServeWithConfig({ config: config(2), prefix: 'llmscope-id-taken-w-' });
    try {
      // At once from one client: each on a connection of its own, handed to the workers in turn.
      const ids = await Promise.all(Array.from({ length: 8 }, () => call(serve, 'shared-req', 'green')));
      expect(new Set(ids).size).toBe(8);
      expect(ids.filter((id) => id === 'shared-req')).toHaveLength(1);
      const green = await stored(serve, 'green', 8);
      expect(green.map((c) => c.request_id).sort()).toEqual([...ids].sort());
      // The fleet's /metrics counted the 8 calls too.
      const metrics = await (await fetch(`${serve.base}/metrics`)).text();
      const counted = metrics
        .split('\n')
        .filter((l) => l.startsWith('llm_requests_total{') && l.includes('status="ok"'))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
      expect(counted).toBe(8);
    } finally {
      await serve.stop();
    }
  }, 60_000);
});
