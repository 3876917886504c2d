// npm run bench:ui [-- --calls N --days D --store PATH --reseed --quick]
// The dashboard at scale: a SQLite store seeded with N calls over D days (default 10 million over 30 days; reused
// between runs, --reseed to rebuild), served by `llmscope serve` in its own process. Measures, over HTTP, each API
// call the overview makes (24-hour default, 1 h, 7 d and the 30-day view), the requests search, and, in headless
// Chromium, the time from navigation until the overview is interactive (data rendered, every chart drawn).
// Targets (issue 6): overview API p95 < 150 ms, overview interactive < 1 s, requests search < 200 ms.
// Writes the figures into bench/RESULTS.md (section "Dashboard").
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt;
};
const quick = flag('quick');
const CALLS = Number(opt('calls', quick ? 300_000 : 10_000_000));
const DAYS = Number(opt('days', 30));
const STORE = opt('store', join(tmpdir(), 'llmscope-bench-ui', `calls-${CALLS}-days-${DAYS}.db`));
const RUNS = quick ? 10 : 30;
const PAGE_LOADS = quick ? 5 : 10;
const CHROMIUM = '/usr/bin/chromium';
const DAY = 86_400_000;

for (const f of ['dist/seed/index.js', 'dist/ui/index.html', 'dist/api/overview.js'])
  if (!existsSync(join(ROOT, f))) {
    process.stderr.write(`bench:ui needs the build (${f} is missing): run \`npm run build\` first\n`);
    process.exit(1);
  }
const { seedStore } = await import('../dist/seed/index.js');
const { SqliteStore } = await import('../dist/store/index.js');
const { OverviewSeries } = await import('../dist/api/overview.js');

const log = (s) => process.stderr.write(`${s}\n`);
const pctl = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))];
};
const f1 = (x) => (x === undefined ? '–' : x.toFixed(1));
const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;

// ---- 1. the store -------------------------------------------------------------------------------------------
const costs = [];
mkdirSync(join(STORE, '..'), { recursive: true });
if (flag('reseed') || !existsSync(STORE)) {
  for (const suffix of ['', '-wal', '-shm']) rmSync(STORE + suffix, { force: true });
  log(`seeding ${CALLS} calls over ${DAYS} days into ${STORE} ...`);
  const store = new SqliteStore(STORE);
  await store.migrate();
  let last = 0;
  const r = await seedStore(store, {
    calls: CALLS,
    days: DAYS,
    end: Date.now(),
    seed: 1,
    users: 500,
    onProgress(done, total) {
      if (done - last >= total / 20 || done === total) {
        last = done;
        log(`  ${done}/${total}`);
      }
    },
  });
  await store.close();
  writeFileSync(
    `${STORE}.seed.json`,
    JSON.stringify({ calls: r.calls, seconds: r.seconds, at: new Date().toISOString() }),
  );
}
{
  const seeded = existsSync(`${STORE}.seed.json`) ? JSON.parse(readFileSync(`${STORE}.seed.json`, 'utf8')) : null;
  const rate = seeded ? Math.round(seeded.calls / seeded.seconds).toLocaleString('en-US') : '';
  costs.push(
    seeded
      ? `seeding ${seeded.calls.toLocaleString('en-US')} calls (\`npm run seed\`: Store.insertCalls in batches of 5,000, plus spend aggregates) took ${seeded.seconds.toFixed(0)} s (${rate} calls/s)${flag('reseed') ? '' : `, at ${seeded.at} (store reused; \`--reseed\` rebuilds it)`}`
      : 'store reused from an earlier run (`--reseed` rebuilds it)',
  );
}

// Catch up as a running server would have: retention (raw 30 d, minute rollups 7 d) and the overview's compaction.
let storeStats;
{
  const store = new SqliteStore(STORE);
  await store.migrate();
  const now = Date.now();
  let t = performance.now();
  const ret = await store.applyRetention({
    rawBefore: now - 30 * DAY,
    minuteBefore: now - 7 * DAY,
    hourBefore: now - 400 * DAY,
  });
  const retS = (performance.now() - t) / 1000;
  // Cold compaction, as on a store that never ran this llmscope: the last day of minutes, then the hours.
  const db = store.db;
  const ov = new OverviewSeries(store, () => now);
  db.exec('DELETE FROM overview_minute; DELETE FROM overview_hour; DELETE FROM overview_coverage;');
  t = performance.now();
  await ov.ensure('minute', now - DAY, now);
  const coldDay = performance.now() - t;
  t = performance.now();
  await ov.ensure('hour', now - DAYS * DAY, now);
  const coldHours = performance.now() - t;
  t = performance.now();
  await ov.ensure('minute', now - 2 * DAY, now);
  const catchUp = performance.now() - t;
  const count = (sql) => db.prepare(sql).pluck().get();
  const stats = {
    calls: count('SELECT count(*) FROM calls'),
    minute: count('SELECT count(*) FROM calls_rollup_minute'),
    hour: count('SELECT count(*) FROM calls_rollup_hour'),
    ovMinute: count('SELECT count(*) FROM overview_minute'),
    ovHour: count('SELECT count(*) FROM overview_hour'),
  };
  let ovBytes = null;
  try {
    ovBytes = count("SELECT sum(pgsize) FROM dbstat WHERE name IN ('overview_minute', 'overview_hour')");
  } catch {
    // dbstat is not compiled in every SQLite
  }
  await store.close();
  storeStats = stats;
  costs.push(
    `retention before the run removed ${ret.deletedCalls} calls and ${ret.deletedRollups} rollup rows (${retS.toFixed(1)} s)`,
    `compacting the overview's series from scratch: the last 24 h of minutes ${(coldDay / 1000).toFixed(1)} s, ${DAYS} days of hours ${(coldHours / 1000).toFixed(1)} s, the day before ${(catchUp / 1000).toFixed(1)} s; paid once per store (in the background a second after the server starts, and by the seed), never by a view of a compacted range`,
    `store: ${stats.calls.toLocaleString('en-US')} raw calls, ${stats.minute.toLocaleString('en-US')} minute and ${stats.hour.toLocaleString('en-US')} hour rollup rows; file ${mib(statSync(STORE).size)}`,
    `the overview's compacted series: ${stats.ovMinute.toLocaleString('en-US')} minute + ${stats.ovHour.toLocaleString('en-US')} hour rows${ovBytes ? ` (${mib(ovBytes)})` : ''}`,
  );
}

// ---- 2. the server ------------------------------------------------------------------------------------------
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const port = await freePort();
const server = spawn(
  process.execPath,
  ['bin/llmscope.js', 'serve', '--port', String(port), '--upstream', 'http://127.0.0.1:9/v1'],
  {
    cwd: ROOT,
    env: { ...process.env, LLMSCOPE_STORAGE_URL: `sqlite:${STORE}`, LLMSCOPE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
server.stdout.resume();
await new Promise((resolve, reject) => {
  let out = '';
  const on = (d) => {
    out += d.toString();
    if (/serving on/.test(out)) resolve();
  };
  server.stderr.on('data', on);
  server.stdout.on('data', on);
  server.once('exit', (c) => reject(new Error(`serve exited ${c}: ${out.slice(-2000)}`)));
});
const base = `http://127.0.0.1:${port}`;
await new Promise((r) => setTimeout(r, 3000)); // the server's own warm-up (compaction check, retention) settles

async function timeGet(path) {
  const t = performance.now();
  const r = await fetch(base + path);
  const body = await r.arrayBuffer();
  return { ms: performance.now() - t, status: r.status, bytes: body.byteLength };
}

async function measure(path, runs = RUNS) {
  const first = await timeGet(path);
  const ts = [];
  let status = first.status;
  for (let i = 0; i < runs; i++) {
    const r = await timeGet(path);
    ts.push(r.ms);
    if (r.status !== 200) status = r.status;
  }
  return { first: first.ms, p50: pctl(ts, 0.5), p95: pctl(ts, 0.95), max: Math.max(...ts), status, bytes: first.bytes };
}

const q = (o) => `?${new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)]))}`;
const now = Date.now();
const dayStart = Math.floor(now / DAY) * DAY;
const win = (ms) => ({ from: now - ms, to: now });
const overviewCalls = [
  ['overview, 24 h (default)', `/api/overview${q(win(DAY))}`],
  ['overview, 1 h', `/api/overview${q(win(3_600_000))}`],
  ['overview, 7 d', `/api/overview${q(win(7 * DAY))}`],
  ['overview, 30 d', `/api/overview${q(win(30 * DAY))}`],
  ['spend today + month to date (cost summary)', `/api/cost/summary${q({ from: dayStart, to: now })}`],
  ['budgets', '/api/cost/budgets'],
  ['quality summary, 24 h', `/api/quality/summary${q(win(DAY))}`],
  ['quality summary, 30 d', `/api/quality/summary${q(win(30 * DAY))}`],
  ['GPUs, last hour', `/api/gpu${q(win(3_600_000))}`],
  ['alerts', '/api/alerts'],
];
const otherCalls = [
  ['overview, 24 h, model filter (not compacted)', `/api/overview${q({ ...win(DAY), model: 'gpt-4o' })}`],
  ['overview, 30 d, team filter (not compacted)', `/api/overview${q({ ...win(30 * DAY), team: 'search' })}`],
  ['stats summary, 24 h (/api/stats, uncompacted)', `/api/stats/summary${q(win(DAY))}`],
];
log('measuring the overview API ...');
const apiRows = [];
let apiPass = true;
for (const [name, path] of overviewCalls) {
  const m = await measure(path);
  const ok = m.status === 200 && m.p95 < 150;
  apiPass &&= ok;
  apiRows.push({ name, path, ...m, ok, target: true });
  log(`  ${name}: p95 ${f1(m.p95)} ms`);
}
for (const [name, path] of otherCalls) {
  const m = await measure(path, Math.min(RUNS, 10));
  apiRows.push({ name, path, ...m, ok: null, target: false });
  log(`  ${name}: p95 ${f1(m.p95)} ms`);
}

// ---- 3. requests search -------------------------------------------------------------------------------------
log('measuring the requests search ...');
const latest = await (await fetch(`${base}/api/requests?limit=200`)).json();
const someId = latest.data[0].request_id;
const someTrace = latest.data[0].trace_id;
const someSession = latest.data.find((c) => c.session)?.session ?? 'sess-';
const searches = [
  ['latest 50 (24 h)', { ...win(DAY), limit: 50 }],
  ['model, 24 h', { ...win(DAY), model: 'claude-sonnet-4', limit: 50 }],
  ['user, 24 h', { ...win(DAY), user: 'user-0321', limit: 50 }],
  ['status=timeout, 24 h', { ...win(DAY), status: 'timeout', limit: 50 }],
  ['team + feature, 24 h', { ...win(DAY), team: 'search', feature: 'summarize', limit: 50 }],
  ['user, 30 d', { ...win(30 * DAY), user: 'user-0321', limit: 50 }],
  ['model + status, 30 d', { ...win(30 * DAY), model: 'gpt-4o', status: 'upstream_error', limit: 50 }],
  ['exact request id (request page)', null],
  ['id prefix (q=): request id, first 8 chars, 24 h', { ...win(DAY), q: someId.slice(0, 8), limit: 50 }],
  ['id prefix (q=): trace id, first 8 chars, 30 d', { ...win(30 * DAY), q: someTrace.slice(0, 8), limit: 50 }],
  ['id prefix (q=): session id, 30 d', { ...win(30 * DAY), q: someSession, limit: 50 }],
  ['id prefix (q=): "sess-" (most calls match), 30 d', { ...win(30 * DAY), q: 'sess-', limit: 50 }],
  ['id prefix (q=): "0" (a sixteenth of traces), 24 h + model', { ...win(DAY), q: '0', model: 'gpt-4o', limit: 50 }],
];
const searchRows = [];
let searchPass = true;
for (const [name, params] of searches) {
  const path = params ? `/api/requests${q(params)}` : `/api/requests/${someId}`;
  const m = await measure(path, Math.min(RUNS, 10));
  const ok = m.status === 200 && m.p95 < 200;
  searchPass &&= ok;
  searchRows.push({ name, ...m, ok });
  log(`  ${name}: p95 ${f1(m.p95)} ms`);
}

// ---- 4. the overview in Chromium ----------------------------------------------------------------------------
log('measuring the overview in Chromium ...');
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
async function interactive(hash) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${base}/${hash}`);
  // Interactive: the page's data is rendered and every chart that has data is drawn.
  await page.waitForFunction(
    () => {
      if (!document.getElementById('view')?.dataset.ready) return false;
      const figs = [...document.querySelectorAll('#charts figure.chart')];
      return figs.length > 0 && figs.every((f) => f.dataset.points === '0' || f.querySelector('.plot[data-drawn]'));
    },
    null,
    { timeout: 30_000, polling: 'raf' },
  );
  const t = await page.evaluate(() => performance.now());
  await page.close();
  return t;
}
const uiRows = [];
let uiPass = true;
for (const [name, hash] of [
  ['overview, 24 h (default)', '#/overview'],
  ['overview, 30 d', '#/overview?range=30d'],
]) {
  await interactive(hash); // warm-up
  const ts = [];
  for (let i = 0; i < PAGE_LOADS; i++) ts.push(await interactive(hash));
  const row = { name, p50: pctl(ts, 0.5), p95: pctl(ts, 0.95), max: Math.max(...ts) };
  row.ok = row.p95 < 1000;
  uiPass &&= row.ok;
  uiRows.push(row);
  log(`  ${name}: p95 ${f1(row.p95)} ms`);
}
await browser.close();
const rss = (() => {
  try {
    return Number(readFileSync(`/proc/${server.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1]) * 1024;
  } catch {
    return null;
  }
})();
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
if (rss) costs.push(`server resident memory after the run: ${mib(rss)}`);

// ---- 5. report ----------------------------------------------------------------------------------------------
const cpu = cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? 'unknown CPU';
const machine = `${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ${platform()} ${release()}, Node ${process.version}`;
const mark = (ok) => (ok === null ? '' : ok ? '✅' : '❌');
const report = [
  '## Dashboard',
  '',
  `Run ${new Date().toISOString()} on ${machine}${quick ? ' (--quick)' : ''}. SQLite store with ${storeStats.calls.toLocaleString('en-US')} seeded calls over ${DAYS} days (\`npm run seed\`: 5 models, 500 users, 5 teams, 6 features, daily/weekly rhythm, incidents). \`llmscope serve\` in its own process with every capability module and the default alert rules running; requests over HTTP on loopback, one at a time; ${RUNS} timed runs per API call after one untimed (the "first" column). The machine is shared, so other work adds noise.`,
  '',
  '### API calls behind the overview (target p95 < 150 ms)',
  '',
  '| call | first ms | p50 ms | p95 ms | max ms | bytes | |',
  '|---|---|---|---|---|---|---|',
  ...apiRows.map(
    (r) =>
      `| ${r.name} | ${f1(r.first)} | ${f1(r.p50)} | ${f1(r.p95)} | ${f1(r.max)} | ${r.bytes} | ${r.status === 200 ? mark(r.ok) : `HTTP ${r.status}`} |`,
  ),
  '',
  "Rows without a mark are not overview calls: a filtered view reads the store's rollups directly (only unfiltered buckets are compacted), and `/api/stats/summary` is the older uncompacted path, shown for comparison.",
  '',
  '### Requests search (target p95 < 200 ms)',
  '',
  '| search | first ms | p50 ms | p95 ms | max ms | |',
  '|---|---|---|---|---|---|',
  ...searchRows.map(
    (r) => `| ${r.name} | ${f1(r.first)} | ${f1(r.p50)} | ${f1(r.p95)} | ${f1(r.max)} | ${mark(r.ok)} |`,
  ),
  '',
  '`q=` is the start of a request, trace or session id. When few calls match (up to 2,000, counted on the three id indexes), the page is drawn from them; when many do, the time index is walked and the prefix tested, and the page fills at once (store/sqlite/sqlite-store.ts). A pasted full request id opens its page directly (a primary-key lookup).',
  '',
  `### Overview in headless Chromium (target p95 < 1 s; ${PAGE_LOADS} fresh page loads after one warm-up)`,
  '',
  'Time from navigation start until the data is rendered and every chart is drawn.',
  '',
  '| view | p50 ms | p95 ms | max ms | |',
  '|---|---|---|---|---|',
  ...uiRows.map((r) => `| ${r.name} | ${f1(r.p50)} | ${f1(r.p95)} | ${f1(r.max)} | ${mark(r.ok)} |`),
  '',
  '### What it costs',
  '',
  ...costs.map((c) => `- ${c}`),
  "- how: the store's rollups keep one row per (minute, provider, model, endpoint, feature, team) — a busy day is tens of thousands of rows whose histograms SQL merges one JS call at a time (the `/api/stats/summary` row above). `/api/overview` compacts every sealed bucket (10 minutes after it ends) once into one all-dimension row per minute and per hour (its own tables, `overview_*`), re-checks the last 3–6 hours against the store's counts for calls recorded late, and merges histograms in dense arrays. Filtered views are not compacted.",
  '',
  `- ${apiPass ? '✅' : '❌'} every overview API call p95 < 150 ms`,
  `- ${searchPass ? '✅' : '❌'} requests search p95 < 200 ms (filters, exact id, id prefixes)`,
  `- ${uiPass ? '✅' : '❌'} overview interactive in Chromium p95 < 1 s`,
].join('\n');
process.stdout.write(`${report}\n`);
const file = join(ROOT, 'bench', 'RESULTS.md');
let doc = existsSync(file)
  ? readFileSync(file, 'utf8')
  : '# Benchmark results\n\nEach section is written by its benchmark (`npm run bench:*`).\n';
const re = /## Dashboard\n[\s\S]*?(?=\n## |$)/;
doc = re.test(doc) ? doc.replace(re, report) : `${doc.trimEnd()}\n\n${report}\n`;
writeFileSync(file, doc);
process.exitCode = apiPass && searchPass && uiPass ? 0 : 1;
