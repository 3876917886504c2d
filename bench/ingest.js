import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { freePort, logShipper, start } from './processes.js';

const ROOT = new URL('..', import.meta.url).pathname;
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};
const quick = process.argv.includes('--quick');
const BATCH = arg('--batch', 1000);
const CONCURRENCY = arg('--concurrency', 4);
const SECONDS = arg('--seconds', quick ? 4 : 10);
const WRITE = !process.argv.includes('--no-write');
const PROFILE = process.argv.includes('--profile') ? process.argv[process.argv.indexOf('--profile') + 1] : null;
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
if (ONLY !== null && ONLY !== 'ingest' && ONLY !== 'otlp') {
  console.error('--only ingest|otlp');
  process.exit(2);
}
const STORE = process.argv.includes('--store') ? process.argv[process.argv.indexOf('--store') + 1] : 'sqlite';
if (STORE !== 'sqlite' && STORE !== 'postgres') {
  console.error('--store sqlite|postgres');
  process.exit(2);
}

if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  console.error('build first: npm run build');
  process.exit(2);
}

if (process.argv.includes('--writer')) {
  const { writerBench } = await import('./ingest-writer.js');
  const rounds = Number(process.argv[process.argv.indexOf('--writer') + 1]) || 3;
  for (let r = 0; r < rounds; r++)
    console.log(
      JSON.stringify({
        round: r + 1,
        ...(await writerBench({
          // the same calls whatever the batch size: 80,000 (quick) or 240,000
          batches: Math.round(((quick ? 80 : 240) * 1000) / arg('--writer-batch', 1000)),
          batchSize: arg('--writer-batch', 1000),
          inFlight: arg('--writer-in-flight', 4),
        })),
        load: loadavg()[0],
      }),
    );
  process.exit(0);
}

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'llmscope-bench-ingest-'));
const dbPath = join(dir, 'bench.db');
let cluster = null;
if (STORE === 'postgres') {
  const { startCluster } = await import('./pg-cluster.js');
  chmodSync(dir, 0o755); // the cluster runs as the postgres user, in a directory below this one
  cluster = await startCluster({ dir: join(dir, 'pg'), database: 'llmscope_ingest' });
}
const storageUrl = cluster ? cluster.url : `sqlite:${dbPath}`;
// Logs go to a process of their own that discards them, as a log shipper would (see bench/gateway.js).
const shipper = logShipper();
const server = await start(
  [
    ...(PROFILE ? ['--cpu-prof', '--cpu-prof-dir', PROFILE] : []),
    'bin/llmscope.js',
    'serve',
    '--port',
    String(port),
    '--upstream',
    'http://127.0.0.1:9/v1',
  ],
  /serving on/,
  { LLMSCOPE_STORAGE_URL: storageUrl },
  shipper.stdin,
);
const base = `http://127.0.0.1:${port}`;
const pool = new Pool(base, { connections: CONCURRENCY, pipelining: 1 });

/** CPU seconds (user + system) the server process has used so far, from /proc. */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds each thread of the server has used so far (Linux /proc: tid → seconds). */
function threadCpu(pid) {
  const out = new Map();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) / 100);
    }
  } catch {
    /* not Linux */
  }
  return out;
}

/**
 * µs per call of the main thread, of the busiest other thread (under this bench, the SQLite writer thread: it
 * writes every call) and of all the rest together, between two threadCpu() readings.
 */
function threadSplit(pid, before, after, calls) {
  const us = (s) => Math.round((s / calls) * 1e6 * 10) / 10;
  let main = 0;
  let top = 0;
  let rest = 0;
  for (const [tid, s] of after) {
    const d = s - (before.get(tid) ?? 0);
    if (tid === pid) main = d;
    else if (d > top) {
      rest += top;
      top = d;
    } else rest += d;
  }
  return { mainUs: us(main), writerUs: us(top), restUs: us(rest) };
}

/** A counter's value per label set (`{sink="store"}` → n), from /metrics. */
async function metric(name) {
  const { body } = await pool.request({ path: '/metrics', method: 'GET' });
  const text = await body.text();
  const out = {};
  for (const line of text.split('\n'))
    if (line.startsWith(name)) {
      const labels = line.slice(name.length, line.lastIndexOf(' ')) || '{}';
      out[labels] = (out[labels] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  return out;
}

/** What grew between two metric() readings, as `label=n` text ('0' when nothing did). */
function grew(before, after) {
  const parts = [];
  for (const [k, v] of Object.entries(after)) if (v > (before[k] ?? 0)) parts.push(`${k} ${v - (before[k] ?? 0)}`);
  return parts.length ? parts.join(', ') : '0';
}

const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4-5', 'gemini-2.5-flash'];
const PROVIDERS = ['openai', 'openai', 'anthropic', 'gemini'];

/** One /api/ingest body of BATCH records with ids `${prefix}-${n}…`: built as text, cheaply, so the sender stays light. */
function ingestBody(prefix, n, now) {
  const parts = [];
  for (let i = 0; i < BATCH; i++) {
    const k = n + i;
    const m = k % 4;
    parts.push(
      `{"request_id":"${prefix}${k}","started_at":${now - 2000 + (k % 1000)},"latency_ms":${200 + (k % 700)},` +
        `"provider":"${PROVIDERS[m]}","model":"${MODELS[m]}","endpoint":"chat.completions","stream":${k % 2 === 0},` +
        `"input_tokens":${100 + (k % 900)},"output_tokens":${20 + (k % 300)},"cached_input_tokens":${k % 50},` +
        `"ttft_ms":${30 + (k % 200)},"user":"user-${k % 5000}","team":"team-${k % 20}","feature":"feature-${k % 8}",` +
        `"session":"s-${Math.floor(k / 10)}","finish_reason":"stop","metadata":{"tenant":"t-${k % 50}"}}`,
    );
  }
  return `{"calls":[${parts.join(',')}]}`;
}

/** Sends batches from CONCURRENCY loops for SECONDS; returns what was accepted and how long sending took. */
async function drive(path, contentType, makeBody, countOf, seconds = SECONDS) {
  let n = 0;
  let accepted = 0;
  let failed = 0;
  let requests = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const loop = async () => {
    while (performance.now() < until) {
      const first = n;
      n += BATCH;
      const body = makeBody(first);
      const r = await pool.request({ path, method: 'POST', headers: { 'content-type': contentType }, body });
      const text = await r.body.text();
      requests++;
      if (r.statusCode >= 300) {
        failed++;
        if (failed <= 3) console.error(`${path}: ${r.statusCode} ${text.slice(0, 300)}`);
        continue;
      }
      accepted += countOf(text);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  return { accepted, failed, requests, sendSeconds: (performance.now() - t0) / 1000, t0 };
}

/**
 * How many calls the store holds whose `column` (request_id, or trace_id: both indexed) starts with `prefix` (read by
 * the bench itself, not llmscope).
 */
let pgClient = null;
async function rowsLike([column, prefix]) {
  const sql = `SELECT count(*) AS n FROM calls WHERE ${column} >= $1 AND ${column} < $2`;
  if (cluster) {
    if (!pgClient) {
      const { default: pg } = await import('pg');
      pgClient = new pg.Client({ connectionString: cluster.url });
      await pgClient.connect();
    }
    return Number((await pgClient.query(sql, [prefix, `${prefix}\uffff`])).rows[0].n);
  }
  const d = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return d.prepare(sql.replace(/\$\d/g, '?')).get(prefix, `${prefix}\uffff`).n;
  } finally {
    d.close();
  }
}

/** Waits until the store holds `want` rows with the [column, prefix] (or stops growing for 5 s); returns when that was. */
async function stored(rows, want) {
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    const n = await rowsLike(rows);
    const at = performance.now();
    if (n >= want) return { rows: n, at };
    if (n !== last) {
      last = n;
      lastChange = at;
    } else if (at - lastChange > 5000) return { rows: n, at: lastChange };
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Warms up, sends for SECONDS, then waits until every accepted call is a row; `rowsOf(run)`: its [column, prefix]. */
async function measure(name, path, contentType, run, makeBody, countOf, rowsOf) {
  // warm-up (JIT, prepared statements, first WAL pages) under a run of its own
  await drive(path, contentType, makeBody(`warm-${run}`), countOf, quick ? 1 : 2);
  const droppedBefore = await metric('llmscope_recorder_dropped_total');
  const cpu0 = cpuSeconds(server.pid);
  const threads0 = threadCpu(server.pid);
  const load0 = loadavg()[0];
  const self0 = process.cpuUsage();
  const sent = await drive(path, contentType, makeBody(run), countOf);
  const selfCpu = process.cpuUsage(self0);
  const done = await stored(rowsOf(run), sent.accepted);
  const cpu = cpuSeconds(server.pid) - cpu0;
  const split = threadSplit(server.pid, threads0, threadCpu(server.pid), Math.max(1, done.rows));
  const seconds = (done.at - sent.t0) / 1000;
  const dropped = grew(droppedBefore, await metric('llmscope_recorder_dropped_total'));
  const r = {
    name,
    batch: BATCH,
    concurrency: CONCURRENCY,
    requests: sent.requests,
    failed: sent.failed,
    accepted: sent.accepted,
    stored: done.rows,
    lost: sent.accepted - done.rows,
    dropped,
    acceptedPerSecond: Math.round(sent.accepted / sent.sendSeconds),
    storedPerSecond: Math.round(done.rows / seconds),
    serverCpuUsPerCall: done.rows > 0 ? Math.round((cpu / done.rows) * 1e6 * 10) / 10 : null,
    ...split,
    // the sender (this process: building bodies, HTTP) shares the cores with the server
    senderUs: sent.accepted > 0 ? Math.round(((selfCpu.user + selfCpu.system) / sent.accepted) * 10) / 10 : null,
    load: `${load0.toFixed(1)}–${loadavg()[0].toFixed(1)}`,
  };
  console.log(JSON.stringify(r));
  return r;
}

const now = Date.now();
const results = [];
if (ONLY !== 'otlp')
  results.push(
    await measure(
      '/api/ingest (JSON)',
      '/api/ingest',
      'application/json',
      `ingest-${now}`,
      (run) => (first) => ingestBody(`${run}-`, first, Date.now()),
      (text) => JSON.parse(text).accepted,
      (run) => ['request_id', `${run}-`],
    ),
  );

// OTLP/HTTP protobuf, when this build has the receiver: spans with GenAI attributes, each an LLM call.
const otlp = ONLY === 'ingest' ? null : await import('./ingest-otlp.js').catch(() => null);
if (otlp && existsSync(join(ROOT, 'dist', 'otlp'))) {
  const spans = otlp.spanEncoder(BATCH);
  // the sender's own encoder must write exactly what protobufjs writes from message objects
  const probe = Date.now();
  const [mine, ref] = [spans.encode('check', 12_345, probe), spans.reference('check', 12_345, probe)];
  if (Buffer.compare(Buffer.from(mine), Buffer.from(ref)) !== 0) {
    console.error("bench/ingest-otlp.js: encode() differs from protobufjs's encoding of the same export");
    process.exit(1);
  }
  results.push(
    await measure(
      'POST /v1/traces (OTLP protobuf)',
      '/v1/traces',
      'application/x-protobuf',
      `otlp-${now}`,
      (run) => (first) => spans.encode(run, first, Date.now()),
      () => BATCH,
      (run) => ['trace_id', spans.tracePrefix(run)],
    ),
  );
}

await pool.close();
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
shipper.stdin.end();
await pgClient?.end();
await cluster?.stop();
rmSync(dir, { recursive: true, force: true });

const machine = `${STORE === 'postgres' ? 'PostgreSQL (a local scratch cluster on the same cores)' : 'SQLite file'} store; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${platform()} ${release()}, Node ${process.version}`;
const table = [
  '| path | batch × in flight | requests | accepted/s | stored/s | lost | dropped | server CPU µs/call | main thread | writer thread | other threads | sender µs/call | load average |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.name} | ${r.batch} × ${r.concurrency} | ${r.requests}${r.failed ? ` (${r.failed} failed)` : ''} | ${r.acceptedPerSecond.toLocaleString('en')} | **${r.storedPerSecond.toLocaleString('en')}** | ${r.lost} | ${r.dropped} | ${r.serverCpuUsPerCall} | ${r.mainUs} | ${r.writerUs} | ${r.restUs} | ${r.senderUs} | ${r.load} |`,
  ),
].join('\n');
console.log(`\n${machine}\n${table}`);

if (WRITE && !quick && ONLY === null) {
  const file = join(ROOT, 'bench', 'RESULTS.md');
  const text = readFileSync(file, 'utf8');
  const title = STORE === 'postgres' ? 'Ingest on PostgreSQL' : 'Ingest';
  const section = `## ${title}\n\n\`npm run bench:ingest\` (${new Date().toISOString().slice(0, 10)}): ${machine}. One \`llmscope serve\` (default modules, logs piped to a discarding process) and the sender on the same machine (its CPU per call in "sender µs/call"); ${SECONDS} s of sending per path after a warm-up; "stored/s" is the run's rows counted in the store by the bench itself divided by the time from the first request until the last accepted call was on disk.\n\n${table}\n`;
  const re = new RegExp(`## ${title}\\n[\\s\\S]*?(?=\\n## |$)`);
  writeFileSync(file, re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}`);
}
