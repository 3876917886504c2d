// Each call's log lines kept with it (GET /api/requests/:id `logs`, decision 60), as an on-call engineer opening a
// call sees them: through the real `serve` (bin/llmscope.js) and the official openai client, the detail holds the
// very lines stdout got for that request id (same fields, same trace id), in time order — the request_completed line
// of a successful call, the upstream_error record of a failed one, the upstream_cut warning of a cut stream, the
// budget_blocked line of a 429 — `[]` (never missing) for a call without any, at most telemetry.callLogLines with
// the rest counted in logs_dropped, and gone with the call when its user's data is erased. On SQLite, under
// `serve --workers 2` (worker lines reach the recorder process), and on PostgreSQL with two replicas on one database.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { createStore } from '../../src/store/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { killServe, type ServeRun, startServeWithConfig, until } from './helpers.js';

type Line = Record<string, unknown>;
interface Detail {
  request_id: string;
  status: string;
  logs: Line[];
  logs_dropped: number;
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = `00-${TRACE}-00f067aa0ba902b7-01`;

/** The JSON lines `run` wrote to stdout with this request id, in the order written. */
function stdoutLines(run: ServeRun, id: string): Line[] {
  return run.stdout
    .join('')
    .split('\n')
    .flatMap((l) => {
      try {
        const o = JSON.parse(l) as Line;
        return o.request_id === id ? [o] : [];
      } catch {
        return []; // the last line, still being written
      }
    });
}

async function detail(base: string, id: string): Promise<{ status: number; body: Detail }> {
  const r = await fetch(`${base}/api/requests/${encodeURIComponent(id)}`);
  return { status: r.status, body: (await r.json()) as Detail };
}

/**
 * The detail once it shows `lines` log lines (the stored ones lag the call by a batch; the request_completed line is
 * shown from the record at once).
 */
async function detailWithLines(base: string, id: string, lines = 1): Promise<Detail> {
  return until(async () => {
    const d = await detail(base, id);
    return d.status === 200 && d.body.logs.length >= lines ? d.body : null;
  }, 30_000);
}

const sameTime = (a: Line, b: Line) => String(a.time).localeCompare(String(b.time));

/**
 * Lines as the detail shows them: the request_completed line is rebuilt from the record (not stored twice), timed at
 * the call's end (stdout's is written within the log sink's linger after it) and without the writing worker's
 * binding; every other line is stdout's own. Checks the rebuilt line's time, then compares the rest field for field.
 */
function asShown(shown: Line[], written: Line[]): [Line[], Line[]] {
  const strip = (ls: Line[]) =>
    ls.map((l) => {
      if (l.event !== 'request_completed') return l;
      const { time: _t, worker: _w, ...rest } = l;
      return rest;
    });
  const a = shown.find((l) => l.event === 'request_completed');
  const b = written.find((l) => l.event === 'request_completed');
  if (a && b) {
    const lag = Date.parse(String(b.time)) - Date.parse(String(a.time));
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(5_000);
  }
  return [strip(shown), strip(written)];
}

/** Sends the calls every case looks at, each with its own request id under `prefix`. */
async function sendCalls(base: string, prefix: string): Promise<void> {
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  const messages = [{ role: 'user' as const, content: 'Hello' }];
  await client.chat.completions.create(
    { model: 'gpt-4o-mini', messages },
    { headers: { 'x-request-id': `${prefix}-ok`, traceparent } },
  );
  await expect(
    client.chat.completions.create(
      { model: 'gpt-4o-mini', messages },
      { headers: { 'x-request-id': `${prefix}-500`, 'x-simulator-fault': 'server_error' } },
    ),
  ).rejects.toMatchObject({ status: 500 });
  await expect(
    (async () => {
      const stream = await client.chat.completions.create(
        { model: 'gpt-4o-mini', messages, stream: true },
        { headers: { 'x-request-id': `${prefix}-cut`, 'x-simulator-fault': 'cut' } },
      );
      for await (const _ of stream) {
        // drain until the cut
      }
    })(),
  ).rejects.toThrow();
  await expect(
    client.chat.completions.create(
      { model: 'gpt-4o-mini', messages },
      { headers: { 'x-request-id': `${prefix}-429`, 'x-llmscope-team': 'broke' } },
    ),
  ).rejects.toMatchObject({ status: 429 });
  // the erased call is a cut stream: it has a stored line (its warning) besides the record's own
  await expect(
    (async () => {
      const stream = await client.chat.completions.create(
        { model: 'gpt-4o-mini', messages, stream: true },
        {
          headers: {
            'x-request-id': `${prefix}-erase`,
            'x-llmscope-user': `${prefix}-user`,
            'x-simulator-fault': 'cut',
          },
        },
      );
      for await (const _ of stream) {
        // drain until the cut
      }
    })(),
  ).rejects.toThrow();
  const ingest = await fetch(`${base}/api/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      request_id: `${prefix}-ingested`,
      started_at: new Date().toISOString(),
      provider: 'openai',
      model: 'gpt-4o-mini',
      input_tokens: 10,
      output_tokens: 5,
    }),
  });
  expect(ingest.status).toBeLessThan(300);
}

const sim = { current: undefined as Simulator | undefined };
const config = (storage: string, extra: Record<string, unknown> = {}) => ({
  providers: [{ name: 'openai-sim', baseUrl: sim.current?.url }],
  storage: { url: storage },
  gpu: { collector: 'none' },
  budgets: [{ name: 'broke', scope: 'team', match: 'broke', period: 'day', limit: 0 }],
  ...extra,
});

beforeAll(async () => {
  sim.current = await startSimulator({ port: 0, seed: 1, ttftMs: 1, tpotMs: 1, outputTokens: 6 });
});
afterAll(async () => {
  await sim.current?.close();
});

/** Checks what every case sends; `reader` is the replica whose /api is read (another one on PostgreSQL). */
async function checkCalls(writer: ServeRun, readerBase: string, prefix: string): Promise<void> {
  const ok = await detailWithLines(readerBase, `${prefix}-ok`);
  // the very line stdout got, field for field: same request id, trace id (the client's traceparent), span id
  const completed = stdoutLines(writer, `${prefix}-ok`).filter((l) => l.event === 'request_completed');
  expect(completed).toHaveLength(1);
  const [shown, written] = asShown(ok.logs, completed);
  expect(shown).toEqual(written);
  expect(ok.logs[0]).toMatchObject({ request_id: `${prefix}-ok`, trace_id: TRACE, level: 'info' });
  expect(ok.logs_dropped).toBe(0);

  const failed = await detailWithLines(readerBase, `${prefix}-500`);
  const [failedShown, failedWritten] = asShown(failed.logs, stdoutLines(writer, `${prefix}-500`));
  expect(failedShown).toEqual(failedWritten);
  expect(failed.logs.at(-1)).toMatchObject({
    level: 'warn',
    status: 'upstream_error',
    http_status: 500,
    error_type: 'server_error',
  });

  const cut = await detailWithLines(readerBase, `${prefix}-cut`, 2);
  expect(cut.logs.map((l) => [l.level, l.event])).toEqual([
    ['warn', 'upstream_cut'],
    // a failed call's line is a warning, so a search of warn lines finds it
    ['warn', 'request_completed'],
  ]);
  const [cutShown, cutWritten] = asShown(cut.logs, stdoutLines(writer, `${prefix}-cut`).sort(sameTime));
  expect(cutShown).toEqual(cutWritten);

  const blocked = await detailWithLines(readerBase, `${prefix}-429`, 2);
  expect(blocked.logs.map((l) => l.event)).toEqual(['budget_blocked', 'request_completed']);
  expect(blocked.logs[0]).toMatchObject({ budget: 'broke', request_id: `${prefix}-429`, msg: expect.any(String) });
  const [blockedShown, blockedWritten] = asShown(blocked.logs, stdoutLines(writer, `${prefix}-429`).sort(sameTime));
  expect(blockedShown).toEqual(blockedWritten);

  // an ingested record has the line stdout has for it (its request_completed line, none from the gateway)
  const ingested = await detailWithLines(readerBase, `${prefix}-ingested`);
  expect(ingested.logs.map((l) => l.event)).toEqual(['request_completed']);
  expect(ingested.logs_dropped).toBe(0);
}

/** Erases the user of the `-erase` call and checks that its lines left the store with it. */
async function checkErase(base: string, storeUrl: string, prefix: string): Promise<void> {
  const before = await detailWithLines(base, `${prefix}-erase`, 2);
  expect(before.logs.map((l) => l.event)).toEqual(['upstream_cut', 'request_completed']);
  const r = await fetch(`${base}/api/users/${prefix}-user/data`, { method: 'DELETE' });
  expect(r.status).toBe(200);
  expect((await detail(base, `${prefix}-erase`)).status).toBe(404);
  const store = createStore(storeUrl, { writerThread: false });
  try {
    if (store.kind === 'postgres') await store.migrate();
    expect(await store.callLogs(`${prefix}-erase`, 50)).toEqual({ lines: [], dropped: 0 });
    // the other calls keep theirs (the cut stream's warning; request_completed lines are not stored)
    expect((await store.callLogs(`${prefix}-cut`, 50)).lines).toHaveLength(1);
    expect((await store.callLogs(`${prefix}-ok`, 50)).lines).toHaveLength(0);
  } finally {
    await store.close();
  }
}

describe("a call's log lines in GET /api/requests/:id (SQLite, one process)", () => {
  let run: ServeRun | undefined;
  let url = '';
  beforeAll(async () => {
    run = await startServeWithConfig({
      prefix: 'call-logs-sqlite-',
      config: (dir) => {
        url = `sqlite:${dir}/calls.db`;
        return config(url);
      },
    });
  }, 90_000);
  afterAll(() => killServe(run?.proc));

  it('holds the lines stdout got for each call, and an erase removes them', async () => {
    const r = run as ServeRun;
    await sendCalls(r.base, 'sq');
    await checkCalls(r, r.base, 'sq');
    await checkErase(r.base, url, 'sq');
  }, 60_000);
});

describe("a call's log lines under serve --workers 2 (SQLite)", () => {
  let run: ServeRun | undefined;
  let url = '';
  beforeAll(async () => {
    run = await startServeWithConfig({
      prefix: 'call-logs-workers-',
      workers: 2,
      config: (dir) => {
        url = `sqlite:${dir}/calls.db`;
        return config(url);
      },
    });
  }, 90_000);
  afterAll(() => killServe(run?.proc));

  it("holds the workers' lines and the recorder's, and an erase removes them", async () => {
    const r = run as ServeRun;
    await sendCalls(r.base, 'wk');
    await checkCalls(r, r.base, 'wk');
    // the request line was written by a gateway worker (stdout's has its binding), the budget line by the recorder
    const blocked = await detailWithLines(r.base, 'wk-429', 2);
    expect(stdoutLines(r, 'wk-429').find((l) => l.event === 'request_completed')).toHaveProperty('worker');
    expect(blocked.logs[0]).not.toHaveProperty('worker');
    await checkErase(r.base, url, 'wk');
  }, 90_000);
});

describe("a call's log lines on PostgreSQL, two replicas on one database", () => {
  let pg: TestPostgres | undefined;
  let a: ServeRun | undefined;
  let b: ServeRun | undefined;
  let url = '';
  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.freshSchemaUrl();
    a = await startServeWithConfig({ prefix: 'call-logs-pg-a-', config: config(url) });
    b = await startServeWithConfig({ prefix: 'call-logs-pg-b-', config: config(url) });
  }, 120_000);
  afterAll(async () => {
    killServe(a?.proc);
    killServe(b?.proc);
    await pg?.stop();
  });

  it('one replica reads the lines the other wrote, and an erase removes them', async () => {
    const ra = a as ServeRun;
    const rb = b as ServeRun;
    await sendCalls(ra.base, 'pg');
    await checkCalls(ra, rb.base, 'pg');
    await checkErase(rb.base, url, 'pg');
  }, 90_000);
});

describe('telemetry.callLogLines: 0', () => {
  let run: ServeRun | undefined;
  beforeAll(async () => {
    run = await startServeWithConfig({
      prefix: 'call-logs-off-',
      config: (dir) => config(`sqlite:${dir}/calls.db`, { telemetry: { callLogLines: 0 } }),
    });
  }, 90_000);
  afterAll(() => killServe(run?.proc));

  it('keeps and shows no lines, while stdout still gets them', async () => {
    const r = run as ServeRun;
    const client = new OpenAI({ baseURL: `${r.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    await expect(
      client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] },
        { headers: { 'x-request-id': 'off-429', 'x-llmscope-team': 'broke' } },
      ),
    ).rejects.toMatchObject({ status: 429 });
    await until(() => stdoutLines(r, 'off-429').length === 2);
    const d = await until(async () => {
      const x = await detail(r.base, 'off-429');
      return x.status === 200 ? x.body : null;
    }, 30_000);
    expect(d.logs).toEqual([]);
    expect(d.logs_dropped).toBe(0);
  }, 60_000);
});
