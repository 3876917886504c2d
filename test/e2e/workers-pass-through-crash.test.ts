// A pass-through request with a virtual key (a file list, a batch's poll) under `serve --workers 2`: its key is checked
// in the recorder process, which kept that check as an admission awaiting its call, as for a call; but a pass-through
// is never recorded, so the admission stayed open. When the worker then died, the recorder recorded each such request
// as a call the worker cut (502, worker_exited) and counted it in llmscope_worker_lost_calls_total: 5 file lists
// became 5 failed calls. Now a pass-through's key check opens no admission. (Calls that spend, recorded since
// decision 108, still do.) The built CLI (needs `npm run build`).
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/alerts/testing.js';
import { hashKey } from '../../src/cost/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { childrenOf, getJson, killServe, type ServeRun, startServeWithConfig, until } from './helpers.js';

const KEY = `lsk_${'p'.repeat(40)}`;
let sim: Simulator;
let run: ServeRun;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
  const port = await freePort();
  run = await startServeWithConfig({
    prefix: 'workers-pass-through-crash-',
    config: (dir) => ({
      // A fixed port: workers started after every worker died would listen on a new random one.
      server: { host: '127.0.0.1', port, shutdownGrace: '1s', workers: 2 },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${dir}/llmscope.db` },
      telemetry: { logLevel: 'warn' },
      gpu: { collector: 'none' },
      keys: [{ id: 'files-key', hash: hashKey(KEY), user: 'files-user' }],
    }),
  });
}, 90_000);
afterAll(async () => {
  killServe(run?.proc);
  await sim?.close();
});

const lostCalls = async (): Promise<number> => {
  const m = await (await fetch(`${run.base}/metrics`)).text();
  return Number(/^llmscope_worker_lost_calls_total (\d+)/m.exec(m)?.[1] ?? '0');
};

describe('serve --workers 2: keyed pass-throughs, then the workers die', () => {
  it('records no call and counts no lost call for them', async () => {
    const openai = new OpenAI({ baseURL: `${run.base}/v1`, apiKey: KEY, maxRetries: 0 });
    for (let i = 0; i < 5; i++) expect((await openai.files.list()).data).toEqual([]);
    const primary = run.proc.pid as number;
    const before = await until(() => {
      const w = childrenOf(primary);
      return w.length === 2 ? w : null;
    });
    const lost = await lostCalls();
    for (const pid of before) process.kill(pid, 'SIGKILL');
    await until(() => {
      const now = childrenOf(primary);
      return now.length === 2 && now.every((p) => !before.includes(p));
    });
    await until(() =>
      fetch(`${run.base}/healthz`).then(
        (r) => r.ok,
        () => false,
      ),
    );
    // A call made after the restart is recorded: once it is, anything the crash recorded would be too.
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const rows = await until(async () => {
      const r = await getJson<{ data: { endpoint: string; status: string; error_type: string | null }[] }>(
        `${run.base}/api/requests?limit=100`,
      );
      return r.data.some((c) => c.status === 'ok') ? r.data : null;
    });
    expect(rows.map((c) => `${c.endpoint} ${c.status} ${c.error_type}`)).toEqual(['chat.completions ok null']);
    expect((await lostCalls()) - lost).toBe(0);
  }, 90_000);
});
