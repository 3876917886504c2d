// Under `llmscope serve --workers 2` (the built CLI as a real process tree; needs `npm run build`), a call refused
// for want of a live virtual key is recorded without the team, user, feature, session and metadata its client claimed
// (QA36): the workers' hook cannot tell whether keys exist, so the recorder process, which holds them, drops the
// claims of a call marked unvouched. A live key's own refusal keeps the key's attribution. The worker's own request log
// line is as clean: the recorder's heartbeat tells the workers that keys exist.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysCreate } from '../../src/cli/keys.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type ServeProcess, startServeProcess, until } from './helpers.js';

let sim: Simulator;
let serve: ServeProcess;
let key: string;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-qa36-workers-'));
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', workers: 2 },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, 'calls.db')}` },
      telemetry: { logLevel: 'info' },
      gpu: { collector: 'none' },
    }),
  );
  const out: string[] = [];
  await keysCreate(
    'red',
    { config: file, team: 'red', user: 'carol', models: 'gpt-4o-mini', json: true },
    { out: (s) => void out.push(s), err: () => {}, env: {} },
  );
  key = (JSON.parse(out.join('')) as { key: string }).key;
  serve = await startServeProcess({}, ['-c', file]);
}, 60_000);
afterAll(async () => {
  serve?.proc.kill('SIGTERM');
  await new Promise((r) => serve?.proc.once('exit', r));
  await sim?.close();
});

const CLAIMS = {
  'x-llmscope-team': 'blue',
  'x-llmscope-user': 'bob@blue.example',
  'x-llmscope-feature': 'blue-search',
  'x-llmscope-session': 'blue-session',
  'x-llmscope-meta-ticket': 'T-1',
};

async function call(auth: string | null, body: string) {
  const r = await fetch(`${serve.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...CLAIMS },
    body,
  });
  await r.text();
  const id = r.headers.get('x-request-id') as string;
  const c = await until(async () => {
    const g = await fetch(`${serve.base}/api/requests/${id}`);
    return g.status === 200 ? ((await g.json()) as Record<string, unknown>) : null;
  });
  // Its request_completed line, from the worker that served it.
  const line = await until(async () =>
    serve.stdout
      .join('')
      .split('\n')
      .filter((l) => l.includes('"request_completed"') && l.includes(`"request_id":"${id}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find(() => true),
  );
  return {
    status: r.status,
    logged: { team: line.team ?? null, user: line.user ?? null, feature: line.feature ?? null },
    who: { team: c.team, user: c.user, feature: c.feature, session: c.session, metadata: c.metadata },
  };
}
const chat = (model = 'gpt-4o-mini') => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });
const NOBODY = { team: null, user: null, feature: null, session: null, metadata: {} };
const UNLOGGED = { team: null, user: null, feature: null };

describe('serve --workers 2: calls refused for want of a live key', () => {
  it('keep none of what their client claimed; a live key refusing a model keeps the key attribution', async () => {
    // several of each, so both workers answer some (the kernel spreads connections)
    for (let i = 0; i < 4; i++) {
      // Before the fix: team blue, user bob@blue.example, its feature, session and metadata (recorded, and in the
      // worker's log line until its heartbeat carried the keys' state).
      const refusals = [
        { status: 401, got: await call(null, chat()) },
        { status: 401, got: await call('lsk_notakeyatallnotakeyatallnotakeyatall00', chat()) },
        { status: 400, got: await call(null, '{"model":"gpt-4o-mini","messages":[') },
      ];
      for (const r of refusals) expect(r.got).toEqual({ status: r.status, who: NOBODY, logged: UNLOGGED });
    }
    const refused = await call(key, chat('gpt-4o'));
    expect(refused.status).toBe(403);
    expect(refused.who).toMatchObject({ team: 'red', user: 'carol' });
    const ok = await call(key, chat());
    expect(ok).toMatchObject({
      status: 200,
      who: { team: 'red', user: 'carol' },
      logged: { team: 'red', user: 'carol' },
    });
    const blue = await fetch(`${serve.base}/api/requests?team=blue&limit=100`);
    expect(((await blue.json()) as { data: unknown[] }).data).toEqual([]);
  });
});
