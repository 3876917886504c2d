// npm run bench:gateway — llmscope's added latency and throughput, measured side by side in one run against:
// direct to the simulator (zero delay), a bare reference proxy (bench/bare-proxy.js), and llmscope with full
// recording on (SQLite store, metrics, JSON logs). Targets are interleaved so machine noise hits all of them.
// Writes the figures into bench/RESULTS.md (section "Gateway").
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { oneRequest, percentiles, runLoad } from '../dist/loadgen/index.js';
import { binNodeFlags, cpuSeconds, freePort, logShipper, processTree, start } from './processes.js';

/**
 * CPU seconds of the main threads (event loops) of a process and its children (Linux /proc; null elsewhere): the
 * rest of cpuSeconds is other threads (the SQLite writer thread, V8's GC helpers, libuv's pool), which can run on
 * another core while the event loop, which serves the calls, bounds the throughput of one process.
 */
function mainThreadSeconds(pid) {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const f = readFileSync(`/proc/${p}/task/${p}/stat`, 'utf8');
      const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
      total += (Number(v[11]) + Number(v[12])) / 100;
    } catch {
      if (p === pid) return null;
    }
  }
  return total;
}

const ROOT = new URL('..', import.meta.url).pathname;
// A full run takes minutes and rewrites bench/RESULTS.md's section: --help, or a flag it does not know, says what it
// takes and runs nothing (`node bench/gateway.js --help` used to run the whole benchmark).
const USAGE = `usage: node bench/gateway.js [--quick] [--no-profile] [--compare DIR] [--workers N] [--concurrency C]
       [--load-processes K] [--sim-processes M]
Runs direct, the bare proxy and llmscope side by side (SQLite, metrics, JSON logs), non-streaming and streaming, and
writes the figures into bench/RESULTS.md (section "Gateway", or "Gateway with N workers").
  --quick               fewer requests and shorter rounds
  --no-profile          no V8 CPU profile round (the "Where llmscope's CPU goes" tables, by area)
  --compare DIR         also run the llmscope built in DIR (an earlier commit's checkout), interleaved
  --workers N           llmscope serve --workers N against an N-process bare proxy
  --concurrency C       calls in flight in the throughput rounds (default 32)
  --load-processes K    split the throughput rounds' load over K processes
  --sim-processes M     the simulator as M node:cluster workers
LLMSCOPE_BENCH_KEEP=1 keeps the run's directory (the stores and the .cpuprofile files).
Per-function CPU samples of serve's threads: node bench/cpu-breakdown.js.`;
{
  const flags = new Set(['--quick', '--no-profile']);
  const valued = new Set(['--compare', '--workers', '--concurrency', '--load-processes', '--sim-processes']);
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (valued.has(a)) i++;
    else if (!flags.has(a)) {
      console.error(`unknown option ${a}\n${USAGE}`);
      process.exit(2);
    }
  }
}
const quick = process.argv.includes('--quick');
// --no-profile: no CPU profile round (bench/profile-hook.cjs: SIGWINCH starts and stops it in every llmscope process;
// SIGUSR2 would be serve's rolling restart of its workers).
const noProfile = process.argv.includes('--no-profile');
// --compare DIR: also run the llmscope built in DIR (a checkout of an earlier commit, after `npm run build` there),
// as a fourth target interleaved with the others, so a change's cost is measured side by side in one run.
const compareAt = process.argv.indexOf('--compare');
const compareDir = compareAt === -1 ? null : process.argv[compareAt + 1];
if (compareAt !== -1 && (!compareDir || !existsSync(join(compareDir, 'dist', 'cli', 'main.js')))) {
  console.error('--compare DIR needs a built llmscope checkout in DIR (run `npm run build` there)');
  process.exit(2);
}
// --workers N: llmscope serves with N gateway workers (plus its recorder process) and the bare proxy with N
// processes; CPU per request counts every process of each. The figures go to a section of their own.
const workersAt = process.argv.indexOf('--workers');
const workers = workersAt === -1 ? null : Number(process.argv[workersAt + 1]);
if (workers !== null && !(Number.isInteger(workers) && workers >= 1)) {
  console.error('--workers N needs a whole number of processes, 1 or more');
  process.exit(2);
}
const SEQ = quick ? 200 : 1500;
const ROUNDS = quick ? 1 : 3;
const ROUND_MS = quick ? 1500 : 4000;
/** `--NAME N` as a whole number ≥ 1, or `dflt`. */
function numberFlag(name, dflt) {
  const at = process.argv.indexOf(name);
  if (at === -1) return dflt;
  const v = Number(process.argv[at + 1]);
  if (!(Number.isInteger(v) && v >= 1)) {
    console.error(`${name} N needs a whole number, 1 or more`);
    process.exit(2);
  }
  return v;
}
// On a machine with many cores one load-generating event loop, or one simulator process, caps what N proxy processes
// can pass: --load-processes K splits the throughput rounds' load over K processes (started together), and
// --sim-processes M runs the simulator as M node:cluster workers on one port (default with --workers N ≥ 2: N/2, at
// most 4). --concurrency C is the calls in flight in the throughput rounds, over all load processes (default 32).
const CONCURRENCY = numberFlag('--concurrency', 32);
const LOAD_PROCESSES = numberFlag('--load-processes', 1);
const SIM_PROCESSES = numberFlag(
  '--sim-processes',
  workers >= 2 ? Math.min(4, Math.max(1, Math.floor(workers / 2))) : 1,
);

const [simPort, barePort, scopePort] = [await freePort(), await freePort(), await freePort()];
const dir = mkdtempSync(join(tmpdir(), 'llmscope-bench-'));
const sim = await start(
  [
    ...(SIM_PROCESSES > 1 ? ['bench/cluster.js', String(SIM_PROCESSES)] : []),
    'bin/llmscope.js',
    'simulate',
    '--port',
    String(simPort),
    '--ttft-ms',
    '0',
    '--tpot-ms',
    '0',
    '--output-tokens',
    '16',
  ],
  SIM_PROCESSES > 1 ? /ready/ : /127\.0\.0\.1/,
);
// The bare proxy runs with the node flags llmscope's command starts with (its larger young generation), so the two
// differ only in what they do per call.
const bare = await start(
  [
    ...binNodeFlags(join(ROOT, 'bin', 'llmscope.js')),
    'bench/bare-proxy.js',
    String(barePort),
    `http://127.0.0.1:${simPort}`,
    String(workers ?? 1),
  ],
  /ready/,
);
const PROFILE = join(dir, 'llmscope');
// llmscope's JSON logs go down a pipe to a process of their own that reads and discards them, as a log shipper
// (Docker's log driver, journald, Vector, Fluent Bit) would. Draining the pipe in this process instead would
// charge llmscope's logs to the load generator's event loop and make the pipe back up into llmscope.
const shipper = logShipper();
const scope = await start(
  [
    '--require',
    './bench/profile-hook.cjs',
    'bin/llmscope.js',
    'serve',
    '--port',
    String(scopePort),
    '--upstream',
    `http://127.0.0.1:${simPort}/v1`,
    ...(workers !== null ? ['--workers', String(workers)] : []),
  ],
  /serving on/,
  { LLMSCOPE_STORAGE_URL: `sqlite:${join(dir, 'bench.db')}`, LLMSCOPE_BENCH_PROFILE: PROFILE },
  shipper.stdin,
);

const targets = [
  { name: 'direct', url: `http://127.0.0.1:${simPort}/v1` },
  { name: 'bare proxy', url: `http://127.0.0.1:${barePort}/v1`, proc: bare },
  { name: 'llmscope', url: `http://127.0.0.1:${scopePort}/v1`, proc: scope },
];
let before = null;
let beforeShipper = null;
let beforeCommit = null;
if (compareDir) {
  const port = await freePort();
  beforeShipper = logShipper();
  before = await start(
    [
      join(compareDir, 'bin', 'llmscope.js'),
      'serve',
      '--port',
      String(port),
      '--upstream',
      `http://127.0.0.1:${simPort}/v1`,
      // Like with like: the earlier build with as many workers.
      ...(workers !== null ? ['--workers', String(workers)] : []),
    ],
    /serving on/,
    { LLMSCOPE_STORAGE_URL: `sqlite:${join(dir, 'before.db')}` },
    beforeShipper.stdin,
  );
  try {
    beforeCommit = execFileSync('git', ['-C', compareDir, 'rev-parse', '--short', 'HEAD']).toString().trim();
  } catch {
    beforeCommit = null;
  }
  targets.push({ name: 'llmscope (before)', url: `http://127.0.0.1:${port}/v1`, proc: before });
}

for (const t of targets) t.pool = new Pool(new URL(t.url).origin, { connections: CONCURRENCY, pipelining: 1 });

const body = (stream) =>
  JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Benchmark me.' }],
    stream,
    ...(stream ? {} : {}),
  });
const headers = { 'content-type': 'application/json' };

async function sequential(stream) {
  const lat = Object.fromEntries(targets.map((t) => [t.name, []]));
  const fb = Object.fromEntries(targets.map((t) => [t.name, []]));
  const b = body(stream);
  for (let i = 0; i < SEQ; i++) {
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(i + k) % targets.length];
      const r = await oneRequest(t.pool, '/v1/chat/completions', b, headers, stream);
      if (!r.ok) throw new Error(`${t.name}: ${r.status} ${r.error ?? ''}`);
      lat[t.name].push(r.latencyMs);
      fb[t.name].push(r.firstByteMs ?? r.latencyMs);
    }
  }
  return { lat, fb };
}

/** One throughput round driven by LOAD_PROCESSES processes at once (CONCURRENCY split between them). */
async function loadFromProcesses(url, stream) {
  const startAt = Date.now() + 1500;
  const runs = Array.from({ length: LOAD_PROCESSES }, (_, i) => {
    const concurrency = Math.floor(CONCURRENCY / LOAD_PROCESSES) + (i < CONCURRENCY % LOAD_PROCESSES ? 1 : 0);
    const p = spawn(
      process.execPath,
      [
        join(ROOT, 'bench', 'load-process.js'),
        JSON.stringify({ url, concurrency, durationMs: ROUND_MS, stream, startAt }),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    return new Promise((resolve, reject) =>
      p.once('exit', (code) =>
        code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load process exited ${code}`)),
      ),
    );
  });
  const got = await Promise.all(runs);
  return {
    requests: got.reduce((a, g) => a + g.requests, 0),
    errors: got.reduce((a, g) => a + g.errors, 0),
    durationS: Math.max(...got.map((g) => g.durationS)),
  };
}

async function throughput(stream) {
  const total = Object.fromEntries(targets.map((t) => [t.name, { n: 0, s: 0, errors: 0, cpu: 0, main: 0 }]));
  for (let r = 0; r < ROUNDS; r++)
    for (const t of targets) {
      const c0 = t.proc ? cpuSeconds(t.proc.pid) : null;
      const m0 = t.proc ? mainThreadSeconds(t.proc.pid) : null;
      const summary =
        LOAD_PROCESSES > 1
          ? await loadFromProcesses(t.url, stream)
          : (await runLoad({ url: t.url, pool: t.pool, concurrency: CONCURRENCY, durationMs: ROUND_MS, stream }))
              .summary;
      const c1 = t.proc ? cpuSeconds(t.proc.pid) : null;
      const m1 = t.proc ? mainThreadSeconds(t.proc.pid) : null;
      total[t.name].n += summary.requests;
      total[t.name].s += summary.durationS;
      total[t.name].errors += summary.errors;
      total[t.name].cpu =
        c0 === null || c1 === null || total[t.name].cpu === null ? null : total[t.name].cpu + (c1 - c0);
      total[t.name].main =
        m0 === null || m1 === null || total[t.name].main === null ? null : total[t.name].main + (m1 - m0);
    }
  return Object.fromEntries(
    Object.entries(total).map(([k, v]) => [
      k,
      {
        rps: v.n / v.s,
        errors: v.errors,
        cpuUs: v.cpu === null || v.n === 0 ? null : (v.cpu / v.n) * 1e6,
        mainUs: v.main === null || v.n === 0 ? null : (v.main / v.n) * 1e6,
      },
    ]),
  );
}

// ---- where llmscope's CPU goes: a V8 CPU profile of one more round at c=32 (bench/profile-hook.cjs) ----------
/** The area a profile node's time belongs to: the first frame up its stack that has a script, by path. */
const AREAS = [
  [/\/dist\/(gateway|providers)\//, 'gateway: proxy, relay, SSE metering'],
  [/\/dist\/calls\//, 'recorder: queue, enrichers, tokens'],
  [/\/dist\/store\/|better-sqlite3/, 'store: SQLite calls + rollups'],
  [/\/dist\/quality\//, 'quality: refusals, evaluators, their writes'],
  [/\/dist\/cost\//, 'cost: pricing, spend writes, budgets'],
  [/\/dist\/telemetry\/|prom-client|pino|@opentelemetry|sonic-boom/, 'telemetry: metrics, JSON log, spans'],
  [/\/dist\/cluster\//, 'workers: hand-off to the recorder, admission RPC, relay'],
  [/undici/, 'undici: requests to the upstream'],
  [/gpt-tokenizer/, 'tokenizer'],
  [/^node:/, 'Node: HTTP server, sockets, streams'],
  [/\/dist\//, 'other llmscope code'],
];
let profiles = 0;
async function profileRound(stream) {
  const round = ++profiles;
  // Every llmscope process: with --workers, the recorder and each worker (each writes its own profile).
  const pids = processTree(scope.pid);
  for (const pid of pids) process.kill(pid, 'SIGWINCH');
  await new Promise((r) => setTimeout(r, 100));
  const main0 = mainThreadSeconds(scope.pid);
  const { summary } = await runLoad({
    url: targets[2].url,
    pool: targets[2].pool,
    concurrency: CONCURRENCY,
    durationMs: ROUND_MS,
    stream,
  });
  const main1 = mainThreadSeconds(scope.pid);
  for (const pid of pids) process.kill(pid, 'SIGWINCH');
  const files = pids.map((pid) => `${PROFILE}.${round}.${pid}.cpuprofile`);
  for (let i = 0; i < 200 && !files.every((f) => existsSync(`${f}.done`)); i++)
    await new Promise((r) => setTimeout(r, 50));
  const us = new Map();
  let busy = 0;
  // Busy time per process: with workers, the recorder (the process bench started) apart from the workers.
  const perProcess = [];
  for (const file of files) {
    if (!existsSync(file)) continue;
    const b = chargeProfile(JSON.parse(readFileSync(file, 'utf8')), us);
    perProcess.push(b);
    busy += b;
  }
  if (busy === 0) return null;
  return {
    requests: summary.requests,
    busy,
    mainCpuUs: main0 === null || main1 === null ? null : ((main1 - main0) * 1e6) / summary.requests,
    processes: pids.length,
    perProcess,
    areas: [...us].sort((a, b) => b[1] - a[1]),
  };
}

/** Adds one V8 CPU profile's busy time to `us` by area; returns its busy microseconds. */
function chargeProfile(prof, us) {
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const areaOf = new Map();
  const resolve = (id) => {
    if (areaOf.has(id)) return areaOf.get(id);
    const n = nodes.get(id);
    const fn = n.callFrame.functionName;
    let area;
    if (fn === '(idle)') area = null;
    else if (fn === '(garbage collector)') area = 'garbage collection';
    else if (fn === '(program)') area = 'V8/native, unattributed';
    else if (n.callFrame.url) area = AREAS.find(([re]) => re.test(n.callFrame.url))?.[1] ?? 'other libraries';
    else area = parent.has(id) ? resolve(parent.get(id)) : 'V8/native, unattributed';
    areaOf.set(id, area);
    return area;
  };
  let busy = 0;
  prof.samples.forEach((id, i) => {
    const area = resolve(id);
    const d = prof.timeDeltas[i] ?? 0;
    if (area === null) return;
    busy += d;
    us.set(area, (us.get(area) ?? 0) + d);
  });
  return busy;
}

const f = (x) => x.toFixed(3);
const report = [];
let pass = true;
try {
  process.stderr.write('warming up...\n');
  for (const t of targets) await runLoad({ url: t.url, pool: t.pool, concurrency: 8, requests: 400 });
  for (const stream of [false, true]) {
    const kind = stream ? 'streaming' : 'non-streaming';
    process.stderr.write(`${kind}: ${SEQ} sequential requests per target...\n`);
    const { lat, fb } = await sequential(stream);
    const p = Object.fromEntries(targets.map((t) => [t.name, percentiles(lat[t.name])]));
    const pf = Object.fromEntries(targets.map((t) => [t.name, percentiles(fb[t.name])]));
    process.stderr.write(`${kind}: throughput at concurrency ${CONCURRENCY}...\n`);
    const tp = await throughput(stream);
    const addBare = { p50: p['bare proxy'].p50 - p.direct.p50, p99: p['bare proxy'].p99 - p.direct.p99 };
    const addScope = { p50: p.llmscope.p50 - p.direct.p50, p99: p.llmscope.p99 - p.direct.p99 };
    const fbDelta = pf.llmscope.p50 - pf['bare proxy'].p50;
    const keptBare = tp['bare proxy'].rps / tp.direct.rps;
    const keptScope = tp.llmscope.rps / tp.direct.rps;
    const vsBare = tp.llmscope.rps / tp['bare proxy'].rps;
    const errors = Object.values(tp).reduce((a, v) => a + v.errors, 0);
    const checks = [
      [
        `added p50 ≤ 1.5× bare proxy's (${f(addScope.p50)} vs ${f(addBare.p50)} ms)`,
        addScope.p50 <= 1.5 * Math.max(addBare.p50, 0.001),
      ],
      [`added p99 ≤ 2 ms (${f(addScope.p99)} ms)`, addScope.p99 <= 2],
      ...(stream ? [[`first byte within 0.5 ms of the bare proxy's (${f(fbDelta)} ms)`, fbDelta <= 0.5]] : []),
      [`throughput ≥ 85% of the bare proxy's (${(vsBare * 100).toFixed(1)}%)`, vsBare >= 0.85],
      ...(tp.llmscope.cpuUs !== null && tp['bare proxy'].cpuUs !== null
        ? [
            [
              `CPU per request ≤ 1.5× the bare proxy's (${tp.llmscope.cpuUs.toFixed(0)} vs ${tp['bare proxy'].cpuUs.toFixed(0)} µs: ${(tp.llmscope.cpuUs / tp['bare proxy'].cpuUs).toFixed(2)}×)`,
              tp.llmscope.cpuUs <= 1.5 * tp['bare proxy'].cpuUs,
            ],
          ]
        : []),
      [`no errors (${errors})`, errors === 0],
    ];
    for (const [, ok] of checks) pass &&= ok;
    report.push(
      `### ${kind}`,
      '',
      `| target | latency p50 ms | p99 ms | first byte p50 ms | added p50 ms | added p99 ms | req/s at c=${CONCURRENCY} | kept of direct | proxy CPU µs/req at c=${CONCURRENCY} | of it main threads |`,
      '|---|---|---|---|---|---|---|---|---|---|',
      ...targets.map((t) => {
        const add =
          t.name === 'direct' ? ['–', '–'] : [f(p[t.name].p50 - p.direct.p50), f(p[t.name].p99 - p.direct.p99)];
        const cpu = tp[t.name].cpuUs === null ? '–' : tp[t.name].cpuUs.toFixed(0);
        const main = tp[t.name].mainUs === null ? '–' : tp[t.name].mainUs.toFixed(0);
        return `| ${t.name} | ${f(p[t.name].p50)} | ${f(p[t.name].p99)} | ${f(pf[t.name].p50)} | ${add[0]} | ${add[1]} | ${tp[t.name].rps.toFixed(0)} | ${((tp[t.name].rps / tp.direct.rps) * 100).toFixed(1)}% | ${cpu} | ${main} |`;
      }),
      '',
      ...checks.map(([label, ok]) => `- ${ok ? '✅' : '❌'} ${label}`),
      ...(before
        ? [
            `- llmscope now vs before (${beforeCommit ?? compareDir}): added p50 ${f(addScope.p50)} vs ${f(p['llmscope (before)'].p50 - p.direct.p50)} ms, ` +
              `throughput ${((tp.llmscope.rps / tp['llmscope (before)'].rps) * 100).toFixed(1)}% of before's, ` +
              `CPU ${tp.llmscope.cpuUs?.toFixed(0) ?? '–'} vs ${tp['llmscope (before)'].cpuUs?.toFixed(0) ?? '–'} µs per request`,
          ]
        : []),
      `- bare proxy keeps ${(keptBare * 100).toFixed(1)}% of direct throughput; llmscope ${(keptScope * 100).toFixed(1)}%`,
      '',
    );
    process.stderr.write(`${kind}: CPU profile of llmscope at concurrency ${CONCURRENCY}...\n`);
    const prof = noProfile ? null : await profileRound(stream);
    if (prof && prof.requests > 0)
      report.push(
        `Where llmscope's CPU goes (${kind}): a V8 CPU profile of one more ${ROUND_MS / 1000} s round at c=${CONCURRENCY} (${prof.requests} calls; ${prof.processes > 1 ? `${prof.processes} processes' profiles added up; ` : ''}each sample charged to the first llmscope or library frame on its stack). The bare proxy needs ${tp['bare proxy'].cpuUs?.toFixed(0) ?? '–'} µs per request in all.`,
        '',
        '| area | share of busy CPU | µs per request |',
        '|---|---|---|',
        ...prof.areas.map(
          ([area, t]) => `| ${area} | ${((t / prof.busy) * 100).toFixed(1)}% | ${(t / prof.requests).toFixed(1)} |`,
        ),
        `| **total** | 100% | ${(prof.busy / prof.requests).toFixed(1)} |`,
        '',
        ...(prof.mainCpuUs !== null
          ? [
              `The profile's samples are wall-clock: a sample taken while the event loop is in a system call but not on a CPU (waiting for a core, or preempted by the process its write woke, on a machine with more runnable threads than cores) is charged to that call, mostly \`writev\` under "Node: HTTP server, sockets, streams". The main threads' own CPU in the same round, from /proc, was ${prof.mainCpuUs.toFixed(1)} µs per call against the profile's ${(prof.busy / prof.requests).toFixed(1)} µs, so read the areas as shares, not as CPU.`,
              '',
            ]
          : []),
        ...(prof.perProcess.length > 1
          ? [
              `By process: the recorder was busy ${((prof.perProcess[0] / (ROUND_MS * 1000)) * 100).toFixed(0)}% of the round (${(prof.perProcess[0] / prof.requests).toFixed(1)} µs per call); the ${prof.perProcess.length - 1} workers ${prof.perProcess
                .slice(1)
                .map((b) => `${((b / (ROUND_MS * 1000)) * 100).toFixed(0)}%`)
                .join(
                  ', ',
                )} (${(prof.perProcess.slice(1).reduce((a, b) => a + b, 0) / prof.requests).toFixed(1)} µs per call together).`,
              '',
            ]
          : []),
      );
  }
} finally {
  for (const t of targets) await t.pool.close();
  for (const p of [scope, bare, sim, shipper, before, beforeShipper]) p?.kill('SIGTERM');
  if (before && before.exitCode === null && before.signalCode === null)
    await new Promise((r) => before.once('exit', r));
  // The store holds every call of the run (hundreds of MB): remove it once llmscope has shut down, unless
  // LLMSCOPE_BENCH_KEEP is set (to look into the store or the CPU profiles).
  if (scope.exitCode === null && scope.signalCode === null) await new Promise((r) => scope.once('exit', r));
  if (process.env.LLMSCOPE_BENCH_KEEP) process.stderr.write(`kept ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${release()}, Node ${process.version}`;
const heading = workers === null ? '## Gateway' : `## Gateway with ${workers} worker${workers === 1 ? '' : 's'}`;
const load =
  LOAD_PROCESSES > 1 || SIM_PROCESSES > 1
    ? ` Load from ${LOAD_PROCESSES} process${LOAD_PROCESSES === 1 ? '' : 'es'}; simulator as ${SIM_PROCESSES} process${SIM_PROCESSES === 1 ? '' : 'es'}.`
    : '';
const processes =
  workers === null
    ? ''
    : workers >= 2
      ? ` \`serve --workers ${workers}\`: ${workers} gateway workers and the recorder process; the bare proxy as ${workers} node:cluster workers and their primary; CPU per request counts every process of each.`
      : ' `serve --workers 1`: one process, as without the flag; the bare proxy one process.';
const section = [
  heading,
  '',
  `Run ${new Date().toISOString()} on ${machine}${quick ? ' (--quick)' : ''}.${processes}${load} Simulator with zero delay, 16 output tokens; ${SEQ} sequential requests per target (interleaved), then ${ROUNDS}×${ROUND_MS / 1000} s per target at concurrency ${CONCURRENCY} (interleaved rounds). llmscope with full recording: SQLite store, metrics, JSON logs to a pipe read by a separate process (\`cat > /dev/null\`, standing in for a log shipper).`,
  '',
  ...report,
].join('\n');
process.stdout.write(`${section}\n`);
const file = join(ROOT, 'bench', 'RESULTS.md');
let doc = existsSync(file)
  ? readFileSync(file, 'utf8')
  : '# Benchmark results\n\nEach section is written by its benchmark (`npm run bench:*`).\n';
const re = new RegExp(`${heading.replace(/[()]/g, '\\$&')}\n[\\s\\S]*?(?=\n## |$)`);
doc = re.test(doc) ? doc.replace(re, section) : `${doc.trimEnd()}\n\n${section}\n`;
writeFileSync(file, doc);
process.exitCode = pass ? 0 : 1;
