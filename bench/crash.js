// npm run bench:crash [-- --rate R] [--seconds S] [--seed-calls N] [--store postgres] [--only NAME,...] [--no-results]
// What a user loses when llmscope is killed under load, and how long it takes to serve again. The real
// `llmscope serve` (content captured, JSON logs to a separate reader) in front of the simulator, under open-loop
// traffic at R calls/s (default 200; half streamed) plus a 50-call /api/ingest batch every second, for S seconds
// (default 15), then SIGKILLed, in three ways:
//  - serve:    one process (`serve`), SIGKILL; then started again on the same store, as a supervisor would;
//  - recorder: `serve --workers 2`, SIGKILL of the recorder (the process started); then started again at once;
//  - worker:   `serve --workers 2`, SIGKILL of one gateway worker; the recorder starts another, traffic goes on.
// Each call and batch carries its own request id; after a clean stop the store is read, and a call the client saw
// answered 200 (a batch 202) but that is not stored is lost. Reported: calls answered and lost, how long before the
// kill the lost ones were answered, calls cut at the client (connection closed mid-call), calls answered after the
// kill; the store's size (and SQLite's WAL) at the kill; from the restart to `serving on` and to the first 200, and
// for a worker, until /readyz counts 2 serving again. --seed-calls N first fills the store with N seeded calls (a
// large store's restart). Writes the section "Crash: what a kill loses" of bench/RESULTS.md.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { freePort, logShipper, processTree, start, startSimulator } from './processes.js';

const ROOT = new URL('..', import.meta.url).pathname;
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const RATE = Number(arg('rate', 200));
const SECONDS = Number(arg('seconds', 15));
const SEED_CALLS = Number(arg('seed-calls', 0));
const STORE = arg('store', 'sqlite');
const ONLY = arg('only', 'serve,recorder,worker').split(',');
const WRITE_RESULTS = !process.argv.includes('--no-results');

if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  console.error('bench:crash runs the built CLI: run `npm run build` first');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'llmscope-crash-'));
const db = join(dir, 'crash.db');
let cluster = null;
let storageUrl = `sqlite:${db}`;
if (STORE === 'postgres') {
  chmodSync(dir, 0o755); // the cluster runs as the postgres user, in a directory below this one
  const { startCluster } = await import('./pg-cluster.js');
  cluster = await startCluster({ dir: join(dir, 'pg'), database: 'llmscope_crash' });
  storageUrl = cluster.url;
}
const simPort = await freePort();
const sim = await startSimulator(simPort, { ttftMs: 20, tpotMs: 2, outputTokens: 24 });
const shipper = logShipper();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sizeMb = (f) => (existsSync(f) ? +(statSync(f).size / 2 ** 20).toFixed(1) : 0);

async function serve(port, workers) {
  const config = join(dir, `llmscope-${port}.yaml`);
  writeFileSync(
    config,
    [
      `server: { host: 127.0.0.1, port: ${port}${workers ? `, workers: ${workers}` : ''} }`,
      `providers: [{ name: simulator, baseUrl: 'http://127.0.0.1:${simPort}/v1' }]`,
      `storage: { url: '${storageUrl}' }`,
      'telemetry: { captureContent: true }',
    ].join('\n'),
  );
  const t0 = performance.now();
  const proc = await start(['bin/llmscope.js', 'serve', '--config', config], /serving on/, {}, shipper.stdin);
  return { proc, readyMs: performance.now() - t0, t0 };
}

/** Open-loop traffic at RATE calls/s plus a 50-call ingest batch a second, until stop(); every call's fate kept. */
function traffic(base, tag) {
  const agent = new Agent({ connections: 256, pipelining: 1 });
  const calls = []; // { id, sent, done, status, cut }
  const batches = []; // { ids, sent, done, status }
  const inflight = new Set();
  let stopped = false;
  let k = 0;
  const one = async () => {
    const c = { id: `crash-${tag}-${k}`, sent: Date.now(), done: 0, status: 0, cut: false };
    const stream = k++ % 2 === 0;
    calls.push(c);
    try {
      const r = await request(`${base}/v1/chat/completions`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', 'x-request-id': c.id, 'x-llmscope-user': `user-${k % 500}` },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: `question ${k}: what does a crash lose?` }],
          stream,
        }),
      });
      const text = await r.body.text();
      // A streamed answer is whole only with its [DONE].
      c.status = stream && r.statusCode === 200 && !text.includes('[DONE]') ? -1 : r.statusCode;
      c.done = Date.now();
    } catch {
      c.cut = true;
      c.done = Date.now();
    }
  };
  let b = 0;
  const batch = async () => {
    const now = Date.now();
    const ids = Array.from({ length: 50 }, (_, i) => `crash-${tag}-ingest-${b}-${i}`);
    b++;
    const rec = { ids, sent: now, done: 0, status: 0 };
    batches.push(rec);
    try {
      const r = await request(`${base}/api/ingest`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          calls: ids.map((id, i) => ({
            request_id: id,
            started_at: new Date(now - 2_000).toISOString(),
            ended_at: new Date(now - 1_000 + i).toISOString(),
            provider: 'openai',
            model: 'gpt-4o-mini',
            endpoint: 'chat.completions',
            status: 'ok',
            http_status: 200,
            input_tokens: 120,
            output_tokens: 40,
          })),
        }),
      });
      await r.body.text();
      rec.status = r.statusCode;
    } catch {
      rec.status = 0;
    }
    rec.done = Date.now();
  };
  const loop = (async () => {
    const t0 = Date.now();
    let sent = 0;
    let lastBatch = 0;
    while (!stopped) {
      const due = Math.floor(((Date.now() - t0) / 1000) * RATE);
      while (sent < due) {
        sent++;
        const p = one();
        inflight.add(p);
        p.finally(() => inflight.delete(p));
      }
      if (Date.now() - lastBatch >= 1000) {
        lastBatch = Date.now();
        const p = batch();
        inflight.add(p);
        p.finally(() => inflight.delete(p));
      }
      await sleep(5);
    }
  })();
  return {
    calls,
    batches,
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(inflight);
      await agent.close();
    },
  };
}

/** The request ids stored with the given prefix. */
async function storedIds(prefix) {
  if (cluster) {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: cluster.url });
    await c.connect();
    try {
      const { rows } = await c.query('SELECT request_id FROM calls WHERE request_id LIKE $1', [`${prefix}%`]);
      return new Set(rows.map((r) => r.request_id));
    } finally {
      await c.end();
    }
  }
  const sql = new Database(db, { readonly: true });
  try {
    return new Set(
      sql
        .prepare('SELECT request_id FROM calls WHERE request_id >= ? AND request_id < ?')
        .pluck()
        .all(prefix, `${prefix}\uffff`),
    );
  } finally {
    sql.close();
  }
}

const exited = (p) =>
  p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r));
async function stopClean(p) {
  const e = exited(p);
  p.kill('SIGTERM');
  await e;
}

/** Polls `fn` every 20 ms until it is true; ms it took, or null after `limit` ms. */
async function until(fn, limit = 60_000) {
  const t0 = performance.now();
  while (performance.now() - t0 < limit) {
    if (await fn().catch(() => false)) return performance.now() - t0;
    await sleep(20);
  }
  return null;
}
const firstOk = (base) =>
  until(async () => {
    const r = await request(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': `crash-probe-${Math.random()}` },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'up?' }] }),
    });
    await r.body.text();
    return r.statusCode === 200;
  });

async function scenario(name) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const workers = name === 'serve' ? 0 : 2;
  const first = await serve(port, workers);
  const load = traffic(base, name);
  await sleep(SECONDS * 1000);
  const store = { db_mb: sizeMb(db), wal_mb: sizeMb(`${db}-wal`) };
  let victim = first.proc.pid;
  if (name === 'worker') {
    // The recorder's children are its gateway workers (cluster.fork).
    victim = processTree(first.proc.pid)[1];
  }
  const killedAt = Date.now();
  process.kill(victim, 'SIGKILL');
  const out = {
    name,
    killed: name === 'worker' ? 'one of 2 workers' : name === 'serve' ? 'serve' : 'the recorder',
    ...store,
  };
  let again = first.proc;
  if (name === 'worker') {
    // Until the recorder has seen the worker go (fewer than 2 serving), then until 2 serve again.
    const serving = async () => (await (await request(`${base}/readyz`)).body.json()).workers?.serving;
    const gone = await until(async () => (await serving()) < 2, 10_000);
    const back = gone === null ? null : gone + (await until(async () => (await serving()) === 2));
    out.back_ms = back;
    await sleep(2_000);
    await load.stop();
  } else {
    if (name === 'serve') await exited(first.proc);
    // A supervisor starts serve again at once; with workers the port is free at once (the recorder held it).
    const next = await serve(port, workers);
    out.ready_ms = next.readyMs;
    out.first_ok_ms = await firstOk(base);
    out.down_ms = Date.now() - killedAt;
    again = next.proc;
    await load.stop();
  }
  await stopClean(again);
  if (name !== 'worker') await exited(first.proc);
  const stored = await storedIds(`crash-${name}-`);
  const answered = load.calls.filter((c) => c.status === 200);
  const before = answered.filter((c) => c.done <= killedAt);
  const lost = before.filter((c) => !stored.has(c.id));
  const after = answered.filter((c) => c.done > killedAt && c.sent <= killedAt);
  const batchesBefore = load.batches.filter((b) => b.status === 202 && b.done <= killedAt);
  const ingestLost = batchesBefore.flatMap((b) => b.ids.filter((id) => !stored.has(id)).map(() => b.done));
  Object.assign(out, {
    answered_before: before.length,
    lost: lost.length,
    lost_oldest_ms: lost.length ? killedAt - Math.min(...lost.map((c) => c.done)) : null,
    cut: load.calls.filter((c) => c.cut && c.sent <= killedAt).length,
    answered_after: after.length,
    answered_after_lost: after.filter((c) => !stored.has(c.id)).length,
    ingested_before: batchesBefore.length * 50,
    ingested_lost: ingestLost.length,
    ingested_lost_oldest_ms: ingestLost.length ? killedAt - Math.min(...ingestLost) : null,
    refused_after: load.calls.filter((c) => c.sent > killedAt && c.status !== 200).length,
  });
  return out;
}

const rows = [];
try {
  if (SEED_CALLS > 0) {
    const t0 = performance.now();
    await new Promise((resolve, reject) => {
      const p = spawn(
        process.execPath,
        ['scripts/seed.js', '--calls', String(SEED_CALLS), '--days', '7', '--store', storageUrl],
        {
          cwd: ROOT,
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
      p.once('exit', (c) => (c === 0 ? resolve() : reject(new Error(`seed exited ${c}`))));
    });
    process.stderr.write(`seeded ${SEED_CALLS} calls in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  for (const name of ONLY) {
    process.stderr.write(`${name}...\n`);
    const r = await scenario(name);
    process.stderr.write(`${JSON.stringify(r)}\n`);
    rows.push(r);
  }
} finally {
  sim.kill('SIGTERM');
  shipper.kill();
  await cluster?.stop();
  if (!process.env.LLMSCOPE_BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
}

const cpu = cpus();
const f = (v) =>
  v === null || v === undefined ? '–' : typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(0)) : v;
const lines = [
  `### ${STORE === 'postgres' ? 'PostgreSQL' : 'SQLite'}${SEED_CALLS ? `, store seeded with ${SEED_CALLS.toLocaleString('en')} calls first` : ''}`,
  '',
  `\`npm run bench:crash -- --rate ${RATE} --seconds ${SECONDS}${SEED_CALLS ? ` --seed-calls ${SEED_CALLS}` : ''}${STORE === 'postgres' ? ' --store postgres' : ''}\`, ` +
    `${new Date().toISOString().slice(0, 16)}Z, ${cpu.length} × ${cpu[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
    `${platform()} ${release()}, Node ${process.version}; ${RATE} calls/s (half streamed) and a 50-call ingest batch a second for ${SECONDS} s, then the kill.`,
  '',
  '| killed | calls answered 200 before the kill | of them not stored | answered ≤ ms before the kill | cut at the client | answered after the kill (not stored) | ingested 202 before the kill | of them not stored | store at the kill: db / WAL MB | restart to `serving on` ms | kill to first 200 ms | worker back ms |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.killed} | ${r.answered_before} | ${r.lost} | ${f(r.lost_oldest_ms)} | ${r.cut} | ${r.answered_after} (${r.answered_after_lost}) | ${r.ingested_before} | ${r.ingested_lost}${r.ingested_lost ? ` (≤ ${r.ingested_lost_oldest_ms} ms before)` : ''} | ${cluster ? '–' : `${r.db_mb} / ${r.wal_mb}`} | ${f(r.ready_ms)} | ${f(r.down_ms)} | ${f(r.back_ms)} |`,
  ),
  '',
];
console.log(lines.join('\n'));
if (WRITE_RESULTS) {
  const file = join(ROOT, 'bench', 'RESULTS.md');
  const old = readFileSync(file, 'utf8');
  const head = '## Crash: what a kill loses';
  const at = old.indexOf(`${head}\n`);
  const sub = lines[0];
  let text;
  if (at === -1) text = `${old.trimEnd()}\n\n${head}\n\n${lines.join('\n')}`;
  else {
    const end = old.indexOf('\n## ', at + head.length);
    const section = old.slice(at, end === -1 ? undefined : end);
    const re = new RegExp(`${sub.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n[\\s\\S]*?(?=\\n### |$)`);
    const next = re.test(section)
      ? section.replace(re, lines.join('\n'))
      : `${section.trimEnd()}\n\n${lines.join('\n')}`;
    text = old.slice(0, at) + next + (end === -1 ? '\n' : old.slice(end));
  }
  writeFileSync(file, text);
}
