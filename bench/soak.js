import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort, logShipper, processTree, start, startSimulator } from './processes.js';
import { stallReport } from './stall-report.js';

const ROOT = new URL('..', import.meta.url).pathname;
// A run takes ten minutes and rewrites bench/RESULTS.md's Soak section: --help says what it takes and runs nothing
// (`node bench/soak.js --help` used to run the whole soak).
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`usage: node bench/soak.js [options]   (npm run bench:soak -- [options])
  --minutes N        soak for N minutes (default 10)
  --rate R           soak at R calls/s without calibrating first
  --workers N        serve --workers N (does not write RESULTS.md)
  --store postgres   on PostgreSQL (does not write RESULTS.md)
  --history H        seed H hours of calls first (does not write RESULTS.md)
  --trace-stalls     attribute event-loop stalls (does not write RESULTS.md)
  --profile S        a CPU profile of S seconds, starting --profile-at S (default 20) into the soak
  --semi-space MB    serve's V8 semi-space (does not write RESULTS.md)
  --serve-flags 'F'  more node flags for serve (does not write RESULTS.md)
  --no-results       do not write bench/RESULTS.md`);
  process.exit(0);
}
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const flag = (name) => process.argv.includes(`--${name}`);
const MINUTES = arg('minutes', 10);
const TRACE = flag('trace-stalls');
const PROFILE_S = arg('profile', 0);
/** --profile-at S: the profile starts S s into the soak (default 20), e.g. in the slower windows of a long run. */
const PROFILE_AT = arg('profile-at', 20);
const WORKERS = arg('workers', 0);
const HISTORY_H = arg('history', 0);
/** --rate R: soak at R calls/s without calibrating first (runs to compare soak at the same rate). */
const GIVEN_RATE = arg('rate', 0);
/** --semi-space MB: serve's V8 semi-space instead of the bin's --max-semi-space-size (runs comparing GC pauses). */
const SEMI_SPACE_MB = arg('semi-space', 0);
/** --serve-flags 'F ...': more node flags for serve, after the bin's (runs comparing V8 settings). */
const SERVE_FLAGS = process.argv.includes('--serve-flags')
  ? (process.argv[process.argv.indexOf('--serve-flags') + 1] ?? '').split(/\s+/).filter(Boolean)
  : [];
const STORE = process.argv.includes('--store') ? process.argv[process.argv.indexOf('--store') + 1] : 'sqlite';
const WRITE_RESULTS =
  !flag('no-results') &&
  !TRACE &&
  !WORKERS &&
  STORE === 'sqlite' &&
  !arg('history', 0) &&
  !SEMI_SPACE_MB &&
  !SERVE_FLAGS.length;
/** prom-client's event-loop histogram's timer (eventLoopMonitoringPrecision, default 10 ms), included in its values. */
const ELD_RESOLUTION_MS = 10;
const SAMPLE_MS = 10_000;
const USERS = 10_000;
const CONCURRENCY = 64;

if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  console.error('bench:soak runs the built CLI: run `npm run build` first');
  process.exit(1);
}
const [simPort, scopePort] = [await freePort(), await freePort()];
const dir = mkdtempSync(join(tmpdir(), 'llmscope-soak-'));
const db = join(dir, 'soak.db');
let cluster = null;
let storageUrl = `sqlite:${db}`;
if (STORE === 'postgres') {
  chmodSync(dir, 0o755); // the cluster runs as the postgres user, in a directory below this one
  const { startCluster } = await import('./pg-cluster.js');
  cluster = await startCluster({ dir: join(dir, 'pg'), database: 'llmscope_soak' });
  storageUrl = cluster.url;
}
if (HISTORY_H > 0 && !cluster) {
  const { SqliteStore } = await import(join(ROOT, 'dist', 'store', 'index.js'));
  const store = new SqliteStore(db);
  await store.migrate();
  const end = Date.now();
  let batch = [];
  let n = 0;
  for (let m = Math.round(HISTORY_H * 60); m > 0; m--) {
    const t = end - m * 60_000;
    for (const model of ['gpt-4o', 'gpt-4o-mini'])
      for (let team = 0; team < 7; team++)
        for (const feature of ['chat', 'search', 'summarize'])
          for (const status of ['ok', 'upstream_error', 'rate_limited', 'cancelled']) {
            n++;
            batch.push({
              ...{ requestId: `history-${n}`, traceId: null, startedAt: t, endedAt: t + 70, provider: 'simulator' },
              ...{ model, endpoint: 'chat.completions', stream: n % 2 === 0, status, httpStatus: 200 },
              ...{ errorType: null, errorMessage: null, user: `user-${n % USERS}`, team: `team-${team}`, feature },
              ...{ session: null, apiKeyId: null, inputTokens: 40, outputTokens: 24, cachedInputTokens: 0 },
              ...{ cacheWriteInputTokens: 0, reasoningTokens: null, costUsd: 0.0001, latencyMs: 40 + (n % 60) },
              ...{ ttftMs: 20 + (n % 10), tpotMs: 2, refusal: false, metadata: null, source: 'gateway' },
              ...{ tokenSource: 'usage', overheadMs: 1, price: null, finishReason: 'stop', requestBytes: 300 },
              ...{ responseBytes: 900, spans: [], events: [], content: null },
            });
            if (batch.length >= 5000) {
              await store.insertCalls(batch);
              batch = [];
            }
          }
  }
  if (batch.length) await store.insertCalls(batch);
  await store.close();
  process.stderr.write(`history: ${n} calls over the last ${HISTORY_H} h\n`);
}
/** The store's size in bytes: the SQLite file and its WAL, or the PostgreSQL database. */
async function storeBytes() {
  if (!cluster)
    return (existsSync(db) ? statSync(db).size : 0) + (existsSync(`${db}-wal`) ? statSync(`${db}-wal`).size : 0);
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: cluster.url });
  await c.connect();
  try {
    return Number((await c.query('SELECT pg_database_size(current_database()) AS n')).rows[0].n);
  } finally {
    await c.end();
  }
}
writeFileSync(
  join(dir, 'llmscope.yaml'),
  [
    `server: { host: 127.0.0.1, port: ${scopePort}${WORKERS ? `, workers: ${WORKERS}` : ''} }`,
    `providers: [{ name: simulator, baseUrl: 'http://127.0.0.1:${simPort}/v1' }]`,
    `storage: { url: '${storageUrl}' }`,
    'telemetry: { captureContent: true }',
  ].join('\n'),
);
const sim = await startSimulator(simPort, { ttftMs: 20, tpotMs: 2, outputTokens: 24 });
const stamp0 = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const traceDir = join(ROOT, 'bench', 'out', `stalls-${stamp0}`);
const traceEnv = {};
if (TRACE) {
  mkdirSync(traceDir, { recursive: true });
  traceEnv.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${new URL('stall-trace.js', import.meta.url).href}`;
  traceEnv.LLMSCOPE_STALL_TRACE_DIR = traceDir;
  // The profile starts PROFILE_AT s into the soak: serve has been up for about the 20 s of calibration by then.
  if (PROFILE_S > 0) traceEnv.LLMSCOPE_STALL_PROFILE = `${(GIVEN_RATE ? 0 : 20) + PROFILE_AT},${PROFILE_S}`;
}
const shipper = logShipper();
const scope = await start(
  ['bin/llmscope.js', 'serve', '--config', join(dir, 'llmscope.yaml')],
  /serving on/,
  traceEnv,
  shipper.stdin,
  [...(SEMI_SPACE_MB ? [`--max-semi-space-size=${SEMI_SPACE_MB}`] : []), ...SERVE_FLAGS],
);
const base = `http://127.0.0.1:${scopePort}`;
const agent = new Agent({ connections: CONCURRENCY * 2, pipelining: 1 });

// One call of the mix; `k` picks its kind. Returns the request id when the call completed.
let seq = 0;
const counts = { ok: 0, upstream_error: 0, cancelled: 0, failed: 0, feedback: 0, ingested: 0, shed: 0 };
async function call() {
  const k = seq++;
  const id = `soak-${k}`;
  const user = `user-${(k * 7919) % USERS}`;
  const kind = k % 20;
  const stream = kind % 2 === 0;
  const headers = {
    'content-type': 'application/json',
    'x-request-id': id,
    'x-llmscope-user': user,
    'x-llmscope-team': `team-${k % 7}`,
    'x-llmscope-feature': ['chat', 'search', 'summarize'][k % 3],
  };
  if (kind === 5) headers['x-simulator-fault'] = 'server_error';
  if (kind === 15) headers['x-simulator-fault'] = 'rate_limit';
  const ac = new AbortController();
  try {
    const r = await request(`${base}/v1/chat/completions`, {
      method: 'POST',
      dispatcher: agent,
      headers,
      signal: ac.signal,
      body: JSON.stringify({
        model: k % 4 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
        messages: [
          {
            role: 'system',
            content: 'Answer from the context. Context: the soak test keeps llmscope busy for ten minutes.',
          },
          { role: 'user', content: `question ${k}: how long does the soak run?` },
        ],
        stream,
      }),
    });
    if (kind === 10 && stream) {
      // Cancelled: read the first chunk, then hang up.
      for await (const _ of r.body) break;
      ac.abort();
      counts.cancelled++;
      return null;
    }
    await r.body.text();
    if (r.statusCode === 200) counts.ok++;
    else if (r.statusCode === 503) counts.shed++;
    else counts.upstream_error++;
    return r.statusCode === 200 ? id : null;
  } catch {
    if (!ac.signal.aborted) counts.failed++;
    return null;
  }
}

async function feedback(id) {
  const r = await request(`${base}/api/feedback`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request_id: id, rating: seq % 3 === 0 ? 'down' : 'up' }),
  });
  await r.body.text();
  if (r.statusCode < 300) counts.feedback++;
}

let ingestSeq = 0;
async function ingest() {
  const now = Date.now();
  const calls = Array.from({ length: 50 }, (_, i) => ({
    request_id: `soak-ingest-${ingestSeq++}`,
    started_at: new Date(now - 2_000).toISOString(),
    ended_at: new Date(now - 1_000 + i).toISOString(),
    provider: 'openai',
    model: 'gpt-4o-mini',
    endpoint: 'chat.completions',
    status: 'ok',
    http_status: 200,
    user: `user-${(ingestSeq * 31) % USERS}`,
    input_tokens: 120,
    output_tokens: 40,
    latency_ms: 1000,
  }));
  const r = await request(`${base}/api/ingest`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ calls }),
  });
  await r.body.text();
  if (r.statusCode < 300) counts.ingested += calls.length;
}

/** Closed loop at full concurrency for `ms`: the most llmscope serves of this mix on this machine. */
async function calibrate(ms) {
  const until = Date.now() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        await call();
        done++;
      }
    }),
  );
  return done / (ms / 1000);
}

/** Open loop at `rate` calls/s for `ms`, with feedback on 5% of completed calls and a 50-call ingest batch a second. */
async function drive(rate, ms, onTick) {
  const t0 = Date.now();
  const inflight = new Set();
  let sent = 0;
  let answered = 0;
  let lastIngest = t0;
  while (Date.now() - t0 < ms) {
    const due = Math.floor(((Date.now() - t0) / 1000) * rate);
    while (sent < due && inflight.size < CONCURRENCY * 4) {
      ++sent;
      const p = call().then(async (id) => {
        // Thumbs on every 20th answered call (counted apart from the sent ones: every 20th sent call is one kind in call()'s
        // mix, offset by the calibration's count, so at times it was always a cancelled stream and no thumbs were sent), a little after the answer, once the call is in the store (as from a user reading it).
        if (id && ++answered % 20 === 0) {
          await new Promise((r) => setTimeout(r, 1_000));
          await feedback(id);
        }
      });
      inflight.add(p);
      p.finally(() => inflight.delete(p));
    }
    if (Date.now() - lastIngest >= 1000) {
      lastIngest = Date.now();
      const p = ingest().catch(() => {});
      inflight.add(p);
      p.finally(() => inflight.delete(p));
    }
    onTick?.();
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(inflight);
}

const metricLine = (text, name, labels = '') => {
  const re = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : '(\\{[^}]*\\})?'} ([0-9.e+-]+)$`, 'gm');
  let sum = 0;
  let any = false;
  for (const m of text.matchAll(re)) {
    sum += Number(m[2] ?? m[1]);
    any = true;
  }
  return any ? sum : null;
};

async function sample(t0) {
  const r = await request(`${base}/metrics`, { dispatcher: agent });
  const text = await r.body.text();
  // With workers: the recorder and every worker.
  const pids = processTree(scope.pid);
  let rssKb = 0;
  let fds = 0;
  for (const pid of pids) {
    try {
      rssKb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      fds += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      /* a worker that just exited */
    }
  }
  const queue = [...text.matchAll(/^llmscope_recorder_queue_depth\{sink="([^"]+)"\} ([0-9.e+-]+)$/gm)];
  return {
    t_s: Math.round((Date.now() - t0) / 1000),
    rss_mb: +(rssKb / 1024).toFixed(1),
    heap_used_mb: +((metricLine(text, 'nodejs_heap_size_used_bytes') ?? 0) / 2 ** 20).toFixed(1),
    eventloop_p99_ms: +Math.max(
      0,
      (metricLine(text, 'nodejs_eventloop_lag_p99_seconds') ?? 0) * 1000 - ELD_RESOLUTION_MS,
    ).toFixed(2),
    // Open file descriptors of the llmscope process (sockets, files, pipes), as the OS counts them.
    open_fds: fds,
    store_mb: +((await storeBytes()) / 2 ** 20).toFixed(1),
    queue_max: Math.max(0, ...queue.map((m) => Number(m[2]))),
    dropped: metricLine(text, 'llmscope_recorder_dropped_total') ?? 0,
    shed: metricLine(text, 'llmscope_gateway_shed_total') ?? 0,
    calls_ok: counts.ok,
    calls_error: counts.upstream_error,
    calls_cancelled: counts.cancelled,
    client_failures: counts.failed,
  };
}

try {
  if (!GIVEN_RATE) process.stderr.write('calibrating (20 s at full concurrency)...\n');
  const max = GIVEN_RATE ? null : await calibrate(20_000);
  const rate = GIVEN_RATE || Math.round(max * 0.7);
  process.stderr.write(`${max ? `max ${max.toFixed(0)} calls/s; ` : ''}soaking ${MINUTES} min at ${rate} calls/s\n`);
  Object.assign(counts, { ok: 0, upstream_error: 0, cancelled: 0, failed: 0, feedback: 0, ingested: 0, shed: 0 });
  const t0 = Date.now();
  const rows = [];
  let next = t0;
  let busy = false;
  const total = MINUTES * 60_000;
  await drive(rate, total, () => {
    if (busy || Date.now() < next) return;
    busy = true;
    next += SAMPLE_MS;
    sample(t0)
      .then((s) => {
        rows.push(s);
        if (process.stderr.isTTY)
          process.stderr.write(
            `\r${Math.round((100 * (Date.now() - t0)) / total)}%  RSS ${s.rss_mb} MB  heap ${s.heap_used_mb} MB  ELD p99 ${s.eventloop_p99_ms} ms  drops ${s.dropped}   `,
          );
      })
      .catch(() => {})
      .finally(() => {
        busy = false;
      });
  });
  rows.push(await sample(t0));
  if (process.stderr.isTTY) process.stderr.write('\n');

  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
  const cols = Object.keys(rows[0]);
  const csvFile = join(ROOT, 'bench', 'out', `soak-${stamp}.csv`);
  writeFileSync(csvFile, [cols.join(','), ...rows.map((r) => cols.map((c) => r[c]).join(','))].join('\n') + '\n');
  writeFileSync(csvFile.replace(/\.csv$/, '.svg'), plot(rows));

  // Flatness: RSS growth from the first minute on; the event loop's worst p99; what was dropped or shed.
  const afterMinute = rows.filter((r) => r.t_s >= 60);
  const rss0 = afterMinute[0]?.rss_mb ?? rows[0].rss_mb;
  const rssEnd = rows.at(-1).rss_mb;
  const rssMax = Math.max(rss0, ...afterMinute.map((r) => r.rss_mb));
  const growth = ((rssEnd - rss0) / rss0) * 100;
  const eldMax = Math.max(...rows.map((r) => r.eventloop_p99_ms));
  const eldP99s = rows.map((r) => r.eventloop_p99_ms).sort((a, b) => a - b);
  const eldMedian = eldP99s[Math.floor(eldP99s.length / 2)];
  const last = rows.at(-1);
  const achieved = (counts.ok + counts.upstream_error + counts.cancelled) / (total / 1000);
  const ok = (b) => (b ? '✅' : '❌');
  const cpu = cpus();
  const lines = [
    '## Soak',
    '',
    `\`npm run bench:soak -- --minutes ${MINUTES}${HISTORY_H ? ` --history ${HISTORY_H}` : ''}${GIVEN_RATE ? ` --rate ${GIVEN_RATE}` : ''}${WORKERS ? ` --workers ${WORKERS}` : ''}${cluster ? ' --store postgres' : ''}\`, ${new Date().toISOString().slice(0, 16)}Z, ${cpu.length} × ${cpu[0]?.model ?? 'CPU'}, ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB, ${platform()} ${release()}, Node ${process.version}; llmscope, the simulator and this ` +
      'load generator share the machine. Mixed traffic: half streaming, 1 in 20 cancelled after its first chunk, 1 in 10 ' +
      'an upstream error (500 or 429), 10,000 users, 7 teams, feedback on 5% of calls, a 50-call /api/ingest batch every second; ' +
      `${cluster ? 'PostgreSQL' : 'SQLite'} store, every module on, content captured, JSON logs to a separate reader${WORKERS ? `; ${WORKERS} gateway workers (RSS and open files summed over them and the recorder; the event-loop figure is the one /metrics reports for them all; \`--trace-stalls\` gives each process's)` : ''}.`,
    '',
    max
      ? `Calibrated maximum ${max.toFixed(0)} calls/s (20 s at ${CONCURRENCY} concurrent); soaked at ${rate} calls/s ` +
        `(${Math.round((rate / max) * 100)}%), achieved ${achieved.toFixed(0)} calls/s.`
      : `Soaked at ${rate} calls/s (given, not calibrated), achieved ${achieved.toFixed(0)} calls/s.`,
    '',
    '| figure | value | target |',
    '|---|---|---|',
    `| RSS after the first minute → end (max) | ${rss0} → ${rssEnd} MB (${rssMax}) | |`,
    `| RSS growth after the first minute | ${growth.toFixed(1)}% | < 5% ${ok(growth < 5)} |`,
    `| event-loop delay p99 (beyond prom-client's 10 ms timer), per 10 s sample: median / worst | ${eldMedian} / ${eldMax} ms | worst < 20 ms ${ok(eldMax < 20)} |`,
    `| heap used at the end | ${last.heap_used_mb} MB | |`,
    `| open file descriptors at the end (max) | ${last.open_fds} (${Math.max(...rows.map((r) => r.open_fds))}) | |`,
    `| store at the end (db + WAL) | ${last.store_mb} MB | |`,
    `| deepest recorder queue in any sample | ${Math.max(...rows.map((r) => r.queue_max))} | |`,
    `| calls dropped by any sink / shed at the door | ${last.dropped} / ${last.shed} | 0 ${ok(last.dropped === 0 && last.shed === 0)} |`,
    `| client failures (connection errors) | ${counts.failed} | 0 ${ok(counts.failed === 0)} |`,
    `| calls ok / upstream errors / cancelled / feedback / ingested | ${counts.ok} / ${counts.upstream_error} / ${counts.cancelled} / ${counts.feedback} / ${counts.ingested} | |`,
    '',
    `Samples every 10 s: \`bench/out/soak-<time>.csv\` (columns ${cols.join(', ')}) and a plot beside it (not in git).`,
    '',
  ];
  if (WRITE_RESULTS) {
    const file = join(ROOT, 'bench', 'RESULTS.md');
    const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
    const re = /## Soak\n[\s\S]*?(?=\n## |$)/;
    writeFileSync(file, re.test(old) ? old.replace(re, lines.join('\n')) : `${old.trimEnd()}\n\n${lines.join('\n')}`);
  }
  console.log(lines.join('\n'));
  console.log(`samples: ${csvFile}`);
  if (TRACE) {
    // The profile is written when its span ends; give it a moment if the soak ended first.
    await new Promise((r) => setTimeout(r, 2_000));
    console.log(`\nstalls (${traceDir}):\n${stallReport(traceDir)}`);
  }
} finally {
  await agent.close();
  scope.kill('SIGTERM');
  sim.kill('SIGTERM');
  await cluster?.stop();
  await new Promise((r) => scope.once('exit', r));
  shipper.kill();
  if (!process.env.LLMSCOPE_BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
}

/** An SVG of RSS, heap and event-loop p99 over time (two panels), for a look rather than a read. */
function plot(rows) {
  const W = 800;
  const H = 220;
  const pad = 40;
  const tMax = Math.max(1, rows.at(-1).t_s);
  const x = (t) => pad + ((W - 2 * pad) * t) / tMax;
  const panel = (y0, series, unit) => {
    const max = Math.max(1, ...series.flatMap((s) => rows.map((r) => r[s.key])));
    const y = (v) => y0 + H - pad - ((H - 2 * pad) * v) / max;
    const lines = series
      .map(
        (s) =>
          `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${rows.map((r) => `${x(r.t_s).toFixed(1)},${y(r[s.key]).toFixed(1)}`).join(' ')}"/>` +
          `<text x="${W - pad - 150}" y="${y0 + 20 + 14 * series.indexOf(s)}" fill="${s.color}" font-size="12">${s.label}</text>`,
      )
      .join('');
    return (
      `<line x1="${pad}" y1="${y0 + H - pad}" x2="${W - pad}" y2="${y0 + H - pad}" stroke="#999"/>` +
      `<line x1="${pad}" y1="${y0 + pad}" x2="${pad}" y2="${y0 + H - pad}" stroke="#999"/>` +
      `<text x="4" y="${y0 + pad}" font-size="11">${max.toFixed(0)} ${unit}</text>` +
      `<text x="${W - pad - 30}" y="${y0 + H - pad + 14}" font-size="11">${tMax} s</text>${lines}`
    );
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * H}" font-family="sans-serif">${panel(
    0,
    [
      { key: 'rss_mb', label: 'RSS (MB)', color: '#1f77b4' },
      { key: 'heap_used_mb', label: 'heap used (MB)', color: '#2ca02c' },
    ],
    'MB',
  )}${panel(H, [{ key: 'eventloop_p99_ms', label: 'event-loop p99 (ms)', color: '#d62728' }], 'ms')}</svg>\n`;
}
