// A real `llmscope serve` process told to stop while streams run longer than `server.shutdownGrace`: the streams
// still running at the grace's end are cut, and each cut call is still recorded (status cancelled, with the tokens it
// had passed and their cost) in the store, the spend aggregates and the request log (written by the same recorder
// as /metrics' counters), as a call whose client went away is; calls that completed, before the signal or during
// the grace, are all stored as ok; the process exits 0. SIGHUP (a terminal closing, to the whole process group, or a
// supervisor's HUP) does the same, in one process and with workers; during the drain a second SIGTERM ends the process
// at once (as a second Ctrl-C does), while a second SIGHUP (a closing terminal can send two) is ignored.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { startServeProcess, streamedText } from './helpers.js';

/** `llmscope serve -c FILE` in a process group of its own, as a shell gives a command started in a terminal. */
const startServe = (file: string) => startServeProcess({}, ['-c', file], { detached: true });

let sim: Simulator;

beforeAll(async () => {
  // 60 tokens, one per 100 ms: 6 s a stream, far past the 1 s grace (a call capped by max_tokens ends sooner).
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 100, outputTokens: 60 });
});
afterAll(() => sim?.close());

interface Row {
  request_id: string;
  status: string;
  output_tokens: number;
  cost_usd: number;
}

/** Reads a streamed answer to its end, or to where it was cut. */
async function stream(base: string, id: string, maxTokens?: number): Promise<string> {
  return streamedText(() =>
    fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id },
      body: JSON.stringify({
        model: 'long-model',
        messages: [{ role: 'user', content: id }],
        stream: true,
        ...(maxTokens ? { max_tokens: maxTokens } : {}),
      }),
    }),
  );
}

/** A config for serve against the simulator, on a new SQLite file. */
function configFile(workers: number, shutdownGrace: string): { db: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-grace-'));
  const db = join(dir, 'calls.db');
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0, shutdownGrace, workers },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${db}` },
      pricing: { models: [{ model: 'long-model', input: 0, output: 1 }] },
    }),
  );
  return { db, file };
}

/**
 * Streams cut at the grace's end by `signal`, sent to serve's process alone (a supervisor, `kill`) or to its whole
 * process group (`group`: a terminal's Ctrl-C, or its SIGHUP when it closes, reaches every gateway worker too).
 */
async function cutAtGrace(signal: NodeJS.Signals, workers: number, group = false): Promise<void> {
  const { db, file } = configFile(workers, '1s');
  const serve = await startServe(file);
  try {
    // 'close', not 'exit': the request log lines it wrote last (read below) may still be in the pipe at 'exit'.
    const exited = new Promise<number | string | null>((r) => serve.proc.once('close', (code, sig) => r(code ?? sig)));
    // Completed before the signal.
    const before = await Promise.all(Array.from({ length: 3 }, (_, i) => stream(serve.base, `done-${i}`, 2)));
    for (const t of before) expect(t).toContain('[DONE]');
    const sentBefore = sim.stats.requests;
    // Cut at the grace's end (6 s each), and short ones that end within it (0.3 s each).
    const N = 4;
    const long = Array.from({ length: N }, (_, i) => stream(serve.base, `cut-${i}`));
    const short = Array.from({ length: 2 }, (_, i) => stream(serve.base, `grace-${i}`, 3));
    // Every stream reached the upstream (so serve has it in flight) before the signal.
    for (let i = 0; i < 400 && sim.stats.requests - sentBefore < N + 2; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(sim.stats.requests - sentBefore).toBe(N + 2);
    process.kill(group ? -(serve.proc.pid as number) : (serve.proc.pid as number), signal);
    const cut = await Promise.all(long);
    const graced = await Promise.all(short);
    expect(await exited).toBe(0);
    for (const t of cut) {
      expect(t).toContain('"content"');
      expect(t).not.toContain('[DONE]');
    }

    const sql = new Database(db, { readonly: true, fileMustExist: true });
    let rows: Row[];
    let spend: { cost_usd: number; requests: number; output_tokens: number } | undefined;
    try {
      rows = sql.prepare('SELECT request_id, status, output_tokens, cost_usd FROM calls').all() as Row[];
      spend = sql
        .prepare(
          "SELECT SUM(cost_usd) AS cost_usd, SUM(requests) AS requests, SUM(output_tokens) AS output_tokens FROM spend_daily WHERE dimension = 'all'",
        )
        .get() as typeof spend;
    } finally {
      sql.close();
    }
    const byId = new Map(rows.map((r) => [r.request_id, r]));
    expect([...byId.keys()].sort()).toEqual(
      [
        ...before.map((_, i) => `done-${i}`),
        ...cut.map((_, i) => `cut-${i}`),
        ...graced.map((_, i) => `grace-${i}`),
      ].sort(),
    );
    for (let i = 0; i < before.length; i++)
      expect(byId.get(`done-${i}`)).toMatchObject({ status: 'ok', output_tokens: 2, cost_usd: 2 / 1e6 });
    // A short stream the client read to its end is stored as ok (one a loaded machine cut is cancelled, as below).
    graced.forEach((t, i) => {
      if (t.includes('[DONE]'))
        expect(byId.get(`grace-${i}`)).toMatchObject({ status: 'ok', output_tokens: 3, cost_usd: 3 / 1e6 });
      else expect(byId.get(`grace-${i}`)?.status).toBe('cancelled');
    });
    for (let i = 0; i < N; i++) {
      const r = byId.get(`cut-${i}`) as Row;
      expect(r.status).toBe('cancelled');
      expect(r.output_tokens).toBeGreaterThan(0);
      expect(r.output_tokens).toBeLessThan(60);
      expect(r.cost_usd).toBeCloseTo(r.output_tokens / 1e6, 12);
    }
    // Spend (what /api/cost reads) has every call and its cost, the cut ones included.
    expect(spend?.requests).toBe(rows.length);
    expect(spend?.output_tokens).toBe(rows.reduce((s, r) => s + r.output_tokens, 0));
    expect(spend?.cost_usd).toBeCloseTo(
      rows.reduce((s, r) => s + r.cost_usd, 0),
      12,
    );
    // The request log (a sink of the same recorder as /metrics' counters) has each call once, with its status.
    const logged = serve.stdout
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; request_id?: string; status?: string; output_tokens?: number })
      .filter((l) => l.event === 'request_completed');
    expect(logged.map((l) => l.request_id).sort()).toEqual([...byId.keys()].sort());
    for (const l of logged) {
      const r = byId.get(l.request_id as string) as Row;
      expect({ status: l.status, output_tokens: l.output_tokens }).toEqual({
        status: r.status,
        output_tokens: r.output_tokens,
      });
    }
  } finally {
    if (serve.proc.exitCode === null && serve.proc.signalCode === null)
      process.kill(-(serve.proc.pid as number), 'SIGKILL');
  }
}

describe('serve (one process): a stream still running at server.shutdownGrace', () => {
  it('SIGTERM cuts it and records it as cancelled with its tokens and cost; nothing completed is lost', async () => {
    await cutAtGrace('SIGTERM', 1);
  }, 60_000);
});

describe("SIGHUP (a terminal closed, a supervisor's HUP) drains as SIGTERM does", () => {
  it("one process: the terminal's SIGHUP to the process group", async () => {
    await cutAtGrace('SIGHUP', 1, true);
  }, 60_000);

  it("serve --workers 2: the terminal's SIGHUP to the process group (the recorder drains its workers)", async () => {
    await cutAtGrace('SIGHUP', 2, true);
  }, 60_000);

  it('serve --workers 2: SIGHUP to the recorder process alone', async () => {
    await cutAtGrace('SIGHUP', 2);
  }, 60_000);
});

describe('a second signal while serve drains (one process)', () => {
  /** Starts serve with a 30 s grace and one 6 s stream in flight, sends `first`, then `second` once serve says it drains. */
  async function twoSignals(
    first: NodeJS.Signals,
    second: NodeJS.Signals,
  ): Promise<{ exit: number | string | null; text: string; stdout: () => string }> {
    const serve = await startServe(configFile(1, '30s').file);
    try {
      const exited = new Promise<number | string | null>((r) => serve.proc.once('exit', (code, sig) => r(code ?? sig)));
      const sentBefore = sim.stats.requests;
      const text = stream(serve.base, `twice-${first}-${second}`);
      for (let i = 0; i < 400 && sim.stats.requests === sentBefore; i++) await new Promise((r) => setTimeout(r, 25));
      expect(sim.stats.requests - sentBefore).toBe(1);
      process.kill(serve.proc.pid as number, first);
      for (let i = 0; i < 400 && !serve.stdout.join('').includes('"event":"shutdown"'); i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(serve.stdout.join('')).toContain(`"event":"shutdown","signal":"${first}"`);
      process.kill(serve.proc.pid as number, second);
      return { exit: await exited, text: await text, stdout: () => serve.stdout.join('') };
    } finally {
      if (serve.proc.exitCode === null && serve.proc.signalCode === null)
        process.kill(-(serve.proc.pid as number), 'SIGKILL');
    }
  }

  it('SIGTERM then SIGTERM ends it at once; SIGHUP then SIGHUP is ignored: the stream completes and serve exits 0', async () => {
    const forced = await twoSignals('SIGTERM', 'SIGTERM');
    expect(forced.exit).toBe('SIGTERM');
    expect(forced.text).not.toContain('[DONE]');
    // said before it ends (QA25: it ended by the signal without a line saying why the drain did not finish)
    for (let i = 0; i < 100 && !forced.stdout().includes('shutdown_forced'); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(forced.stdout()).toContain('"event":"shutdown_forced","signal":"SIGTERM"');
    const hup = await twoSignals('SIGHUP', 'SIGHUP');
    expect(hup.exit).toBe(0);
    expect(hup.text).toContain('[DONE]');
  }, 60_000);

  it('SIGHUP after SIGTERM is ignored, as SIGINT after SIGTERM is: the stream completes and serve exits 0', async () => {
    for (const [a, b] of [
      ['SIGTERM', 'SIGHUP'],
      ['SIGTERM', 'SIGINT'],
    ] as const) {
      const r = await twoSignals(a, b);
      expect(r.exit).toBe(0);
      expect(r.text).toContain('[DONE]');
    }
  }, 60_000);
});
