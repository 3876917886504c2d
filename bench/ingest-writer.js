// bench:ingest --writer: the SQLite writer thread alone, steadier than the HTTP runs on a shared machine. A SqliteStore
// on a file (its writer thread and WAL checkpoint worker, as `llmscope serve` runs them) is handed batches of calls
// shaped as bench/ingest.js's /api/ingest records once priced (5,000 users, 20 teams, 8 features, 4 models, a session
// per 10 calls, one metadata key), each batch with its spend deltas as the cost module writes them, 4 batches in
// flight. Reports CPU per call of this (main) thread, of the writer thread (the busiest other thread) and of the rest
// (the checkpoint worker, GC helpers), read from /proc for the batches after a warm-up quarter.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4-5', 'gemini-2.5-flash'];
const PROVIDERS = ['openai', 'openai', 'anthropic', 'gemini'];
const PRICES = [
  { input: 1.5e-7, cachedInput: 7.5e-8, output: 6e-7 },
  { input: 2.5e-6, cachedInput: 1.25e-6, output: 1e-5 },
  { input: 3e-6, cachedInput: 3e-7, output: 1.5e-5, cacheWrite: 3.75e-6 },
  { input: 3e-7, cachedInput: 7.5e-8, output: 2.5e-6 },
];

/** CPU seconds per thread of this process (Linux /proc: tid → seconds). */
function threads() {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
    out.set(Number(tid), (Number(f[11]) + Number(f[12])) / 100);
  }
  return out;
}

/** The k-th call, as /api/ingest stores bench/ingest.js's k-th record. */
function callOf(k, now) {
  const m = k % 4;
  const startedAt = now - 2000 + (k % 1000);
  const latencyMs = 200 + (k % 700);
  const inputTokens = 100 + (k % 900);
  const outputTokens = 20 + (k % 300);
  const cachedInputTokens = k % 50;
  const p = PRICES[m];
  return {
    requestId: `wb-${k}`,
    traceId: null,
    startedAt,
    endedAt: startedAt + latencyMs,
    provider: PROVIDERS[m],
    model: MODELS[m],
    endpoint: 'chat.completions',
    stream: k % 2 === 0,
    status: 'ok',
    httpStatus: 200,
    errorType: null,
    errorMessage: null,
    user: `user-${k % 5000}`,
    team: `team-${k % 20}`,
    feature: `feature-${k % 8}`,
    session: `s-${Math.floor(k / 10)}`,
    apiKeyId: null,
    inputTokens,
    outputTokens,
    cachedInputTokens,
    cacheWriteInputTokens: null,
    reasoningTokens: null,
    tokenSource: 'usage',
    ttftMs: 30 + (k % 200),
    tpotMs: null,
    latencyMs,
    overheadMs: 0,
    costUsd: (inputTokens - cachedInputTokens) * p.input + cachedInputTokens * p.cachedInput + outputTokens * p.output,
    price: { ...p, source: `${PROVIDERS[m]}/${MODELS[m]}` },
    finishReason: 'stop',
    refusal: false,
    requestBytes: 0,
    responseBytes: 0,
    source: 'ingest',
    spans: [],
    events: [],
    content: null,
    metadata: { tenant: `t-${k % 50}` },
  };
}

/**
 * Runs `batches` batches of `batchSize` calls, `inFlight` at a time (the server's store lane hands over at most 512
 * calls a batch, 2 at a time: `--writer-batch 512 --writer-in-flight 2`); returns µs per call by thread.
 */
export async function writerBench({ batches = 240, batchSize = 1000, inFlight: width = 4 } = {}) {
  const { SqliteStore } = await import(join(ROOT, 'dist', 'store', 'index.js'));
  const { SqliteSpendStore } = await import(join(ROOT, 'dist', 'cost', 'storage', 'sqlite.js'));
  const { deltasOf } = await import(join(ROOT, 'dist', 'cost', 'storage', 'types.js'));
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-bench-writer-'));
  const store = new SqliteStore(join(dir, 'bench.db'));
  await store.migrate();
  const spend = new SqliteSpendStore(store.db, (m) => store.registerMigrations('cost.spend', m), store.backend.write);
  const now = Date.now();
  // built before the clock starts: the bench measures the hand-off and the writes, not making calls up. The clock
  // moves 40 ms every 1,000 calls whatever the batch size (it moved 40 ms a batch: bigger batches then packed more
  // calls into each second, so more pages of the time-ordered indexes to rewrite, and looked dearer than they are)
  const all = Array.from({ length: batches }, (_, b) =>
    Array.from({ length: batchSize }, (_, i) => {
      const k = b * batchSize + i;
      return callOf(k, now + Math.floor(k / 1000) * 40);
    }),
  );
  const warm = Math.floor(batches / 4);
  let before = null;
  let t0 = 0;
  let inFlight = [];
  for (let b = 0; b < batches; b++) {
    if (b === warm) {
      await Promise.all(inFlight);
      inFlight = [];
      before = threads();
      t0 = performance.now();
    }
    const calls = all[b];
    inFlight.push(Promise.all([store.insertCalls(calls), spend.apply(deltasOf(calls, (c) => c.costUsd === null))]));
    if (inFlight.length >= width) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const wall = performance.now() - t0;
  const after = threads();
  const n = (batches - warm) * batchSize;
  let main = 0;
  let top = 0;
  let rest = 0;
  for (const [tid, s] of after) {
    const d = s - (before.get(tid) ?? 0);
    if (tid === process.pid) main = d;
    else if (d > top) {
      rest += top;
      top = d;
    } else rest += d;
  }
  const stored = store.db.prepare('SELECT count(*) AS n FROM calls').get().n;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  const us = (s) => Math.round((s / n) * 1e6 * 10) / 10;
  return {
    calls: n,
    stored,
    mainUs: us(main),
    writerUs: us(top),
    restUs: us(rest),
    wallUs: Math.round((wall * 1000 * 10) / n) / 10,
  };
}
