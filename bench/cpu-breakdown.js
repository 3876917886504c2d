// node bench/cpu-breakdown.js [--root DIR] [--seconds N] [--stream] [--concurrency N] [--output-tokens N] [--keep FILE]
// — where `serve`'s CPU per call goes, by thread and, on the event loop, by what the work is for (serving the call or
// recording it), measured with CPU samples rather than V8's profiler.
//
// Why: V8's CPU profiler (bench:gateway's profile round) samples on a wall-clock timer, so on a busy machine the time
// a thread spends descheduled is charged to whatever it ran last — typically a call that woke another thread:
// `postMessage` to the SQLite writer thread showed 17–29 µs a call there and sonic-boom's `fs.write` 30, against
// about 4.7 and 2 of CPU (below). Here `perf record -e cpu-clock` samples only while a thread runs, every thread of
// the process, with call stacks (V8's `--perf-basic-prof` names the JavaScript frames).
//
// What it does: a simulator (zero delay, 16 tokens an answer as bench:gateway's, or --output-tokens N; until session 29
// it said 16 but ran the simulator's default of 64, five sentences that quality's evaluators read in full where
// bench:gateway's one sentence lets them out early) and `serve` from DIR (default: this checkout; built) on a fresh
// SQLite file with its request log piped to `cat > /dev/null`; 3,000 calls at concurrency 8 and 2 s at 32 to warm up;
// then SECONDS (default 8) at concurrency 32 while perf records. Prints (markdown):
//  - each thread's CPU per call from /proc (exact; the threads named by what their samples run);
//  - the event loop's samples by category: each sample goes to the outermost frame that matches a category (the
//    recorder's enrichers, its sinks' writes, quality's evaluation jobs, posts to and replies from the writer thread,
//    the request log's write callbacks, GC), else to "serving"; shares scaled to the thread's /proc CPU;
//  - the writer thread's samples by code (kernel, V8/Node, SQLite, libc, JIT-compiled JavaScript) and by work (the
//    innermost frame that names it: the calls' INSERTs, BEGIN/COMMIT, the write jobs, receiving messages).
// Needs Linux with `perf` (and permission to record the process: perf_event_paranoid <= 1, or root).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { freePort, logShipper, start, startSimulator } from './processes.js';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i === -1 ? dflt : argv[i + 1];
};
const ROOT = resolve(opt('--root', new URL('..', import.meta.url).pathname));
const SECONDS = Number(opt('--seconds', 8));
const CONCURRENCY = Number(opt('--concurrency', 32));
const STREAM = argv.includes('--stream');
const OUTPUT_TOKENS = Number(opt('--output-tokens', 16));
const HZ = 4000;

const { runLoad } = await import(pathToFileURL(join(ROOT, 'dist', 'loadgen', 'index.js')).href);
const dir = mkdtempSync(join(tmpdir(), 'llmscope-cpu-breakdown-'));
const simPort = await freePort();
const port = await freePort();
const sim = await startSimulator(simPort, { outputTokens: OUTPUT_TOKENS, root: ROOT });
const shipper = logShipper();
const serve = await start(
  [
    '--perf-basic-prof',
    '--interpreted-frames-native-stack',
    join(ROOT, 'bin', 'llmscope.js'),
    'serve',
    '--port',
    String(port),
    '--upstream',
    `http://127.0.0.1:${simPort}/v1`,
  ],
  /serving on/,
  { LLMSCOPE_STORAGE_URL: `sqlite:${join(dir, 'calls.db')}` },
  shipper.stdin,
);
const url = `http://127.0.0.1:${port}/v1`;
const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY, pipelining: 1 });

/** Each thread's user + system CPU seconds (Linux /proc). */
function threads(pid) {
  const out = new Map();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
      out.set(Number(t), (Number(v[11]) + Number(v[12])) / 100);
    } catch {
      /* gone */
    }
  }
  return out;
}

await runLoad({ url, pool, concurrency: 8, requests: 3000, stream: STREAM });
await runLoad({ url, pool, concurrency: CONCURRENCY, durationMs: 2000, stream: STREAM });
const data = join(dir, 'perf.data');
const perf = spawn(
  'perf',
  [
    'record',
    '-q',
    '-e',
    'cpu-clock',
    '-F',
    String(HZ),
    '-g',
    '-p',
    String(serve.pid),
    '-o',
    data,
    '--',
    'sleep',
    String(SECONDS),
  ],
  { stdio: 'inherit' },
);
const perfDone = new Promise((r) => perf.once('exit', r));
await new Promise((r) => setTimeout(r, 200));
const before = threads(serve.pid);
const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const { summary } = await runLoad({
  url,
  pool,
  concurrency: CONCURRENCY,
  durationMs: (SECONDS - 0.5) * 1000,
  stream: STREAM,
});
const after = threads(serve.pid);
const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
await perfDone;
const calls = summary.requests;

// perf's samples: thread id and frames (leaf first)
const script = execFileSync('perf', ['script', '-i', data, '-F', 'tid,ip,sym,dso'], {
  maxBuffer: 1 << 30,
  stdio: ['ignore', 'pipe', 'ignore'],
}).toString();
// --keep FILE: perf's samples as text, for a closer look (perf script -F tid,ip,sym,dso)
const keep = opt('--keep', null);
if (keep) writeFileSync(keep, script);
const samples = [];
for (const block of script.split('\n\n')) {
  const lines = block.split('\n').filter((l) => l.trim());
  if (lines.length < 2) continue;
  const tid = Number(lines[0].trim().split(/\s+/)[0]);
  const frames = lines.slice(1).map((l) => {
    const m = /^\s*[0-9a-f]+\s+(.*?)(?:\+0x[0-9a-f]+)?\s+\((.*)\)\s*$/.exec(l);
    return m ? { sym: m[1], dso: m[2] } : { sym: l.trim(), dso: '' };
  });
  samples.push({ tid, frames });
}
const byTid = new Map();
for (const s of samples) byTid.set(s.tid, [...(byTid.get(s.tid) ?? []), s]);

/** A thread's name from what its samples run. */
function nameOf(tid, ss) {
  if (tid === serve.pid) return 'main (event loop)';
  const has = (re) => ss.filter((s) => s.frames.some((f) => re.test(f.sym))).length;
  const kinds = [
    ['SQLite writer thread', has(/writer-thread\.js|call-writer\.js|sqlite-write-job|sqlite-spend-job/)],
    ['WAL checkpoint thread', has(/walCheckpoint|sqlite3WalCheckpoint|checkpoint/i)],
    ['V8 compiler/GC helper', has(/compiler::|Scavenger|Marking|Sweep|Concurrent|Compile/)],
    ['libuv pool (fs writes)', has(/uv__fs_|uv__work|worker \(/)],
  ].sort((a, b) => b[1] - a[1]);
  return kinds[0][1] > 0 ? kinds[0][0] : 'other';
}

const perCall = (sec) => ((sec * 1e6) / calls).toFixed(1);
let total = 0;
const rows = [];
for (const [tid, cpu] of after) {
  const d = cpu - (before.get(tid) ?? 0);
  if (d <= 0) continue;
  total += d;
  rows.push([nameOf(tid, byTid.get(tid) ?? []), d]);
}
const grouped = new Map();
for (const [name, d] of rows) grouped.set(name, [...(grouped.get(name) ?? []), d]);
console.log(
  `\n${calls} ${STREAM ? 'streamed' : 'non-streamed'} calls of ${OUTPUT_TOKENS} tokens in ${SECONDS - 0.5} s at concurrency ${CONCURRENCY} (${summary.errors} errors), ` +
    `load average ${load0} -> ${load1}; ${ROOT}\n`,
);
console.log('| thread | CPU µs per call (/proc) |\n|---|---:|');
for (const [name, ds] of grouped)
  console.log(`| ${name}${ds.length > 1 ? ` (${ds.length})` : ''} | ${ds.map(perCall).join(' + ')} |`);
console.log(`| **process** | **${perCall(total)}** |`);

const CATEGORIES = [
  ['recorder: enrichers and queueing (dispatch)', /dispatch .*dist\/calls\/recorder\.js/],
  [
    'recorder: sinks’ writes (store hand-off, logs, metrics, cost, quality counts, alerts)',
    /(drain|write|start) .*dist\/calls\/recorder\.js/,
  ],
  ['quality: evaluation jobs (evaluators, storing results)', /dist\/quality\/(runner|service)\.js/],
  ['write jobs posted to the SQLite writer thread', /dist\/store\/sqlite\/writer\.js/],
  ['replies from the writer thread (and what they resume)', /MessagePort::OnMessage/],
  ['request log: sonic-boom’s write callbacks', /sonic-boom/],
  ['GC', /Heap::CollectGarbage|Scavenger|MinorGCJob|MarkCompact|Heap::PerformGarbageCollection/],
];
const main = byTid.get(serve.pid) ?? [];
const mainCpu = (after.get(serve.pid) ?? 0) - (before.get(serve.pid) ?? 0);
const cat = new Map();
for (const s of main) {
  let c = 'serving (HTTP, undici, the gateway, everything else)';
  outer: for (let i = s.frames.length - 1; i >= 0; i--)
    for (const [name, re] of CATEGORIES)
      if (re.test(s.frames[i].sym)) {
        c = name;
        break outer;
      }
  cat.set(c, (cat.get(c) ?? 0) + 1);
}
console.log(`\n| event loop, by category (${main.length} samples) | share | µs per call |\n|---|---:|---:|`);
for (const [c, n] of [...cat].sort((a, b) => b[1] - a[1]))
  console.log(`| ${c} | ${((100 * n) / main.length).toFixed(1)}% | ${perCall((mainCpu * n) / main.length)} |`);

const writer = [...byTid].find(([tid, ss]) => nameOf(tid, ss) === 'SQLite writer thread');
if (writer) {
  const [wtid, ws] = writer;
  const wCpu = (after.get(wtid) ?? 0) - (before.get(wtid) ?? 0);
  const code = new Map();
  for (const s of ws) {
    const dso = s.frames[0]?.dso ?? '';
    const k = /kernel/.test(dso)
      ? 'kernel (WAL pwrite, page faults, wake-ups)'
      : /better_sqlite3/.test(dso)
        ? 'SQLite (better-sqlite3)'
        : /libc/.test(dso)
          ? 'libc (malloc, memmove)'
          : /perf-\d+\.map/.test(dso)
            ? 'JIT-compiled JavaScript'
            : 'V8 and Node (builtins, interpreter, messages)';
    code.set(k, (code.get(k) ?? 0) + 1);
  }
  console.log(`\n| SQLite writer thread, by code (${ws.length} samples) | share | µs per call |\n|---|---:|---:|`);
  for (const [k, n] of [...code].sort((a, b) => b[1] - a[1]))
    console.log(`| ${k} | ${((100 * n) / ws.length).toFixed(1)}% | ${perCall((wCpu * n) / ws.length)} |`);
}

if (writer) {
  // what the writer's samples were doing: the innermost frame that names the work (leaf first)
  const WORK = [
    ['deserializing the messages', /Message::Deserialize|ValueDeserializer/],
    [
      'waking for messages and dispatching them (epoll, MessagePort, events)',
      /MessagePort::OnMessage|event_target|messageport|epoll|uv__io_poll|uv__async/,
    ],
    ['answering (serializing the replies)', /Message::Serialize|postMessage/],
    ['calls: INSERTs and rollups', /insertBatch|fold|FoldRow|mergeEncoded|addRow|take /],
    ['spend upserts (write job)', /sqlite-spend-job/],
    ['quality writes (write job)', /sqlite-write-job/],
    ['BEGIN / COMMIT (the WAL write)', /writeGroup|CallWriter\.tx|sqliteTransaction/],
  ];
  const [wtid, ws] = writer;
  const wCpu = (after.get(wtid) ?? 0) - (before.get(wtid) ?? 0);
  const work = new Map();
  for (const s of ws) {
    let k = 'other';
    outer: for (const f of s.frames)
      for (const [name, re] of WORK)
        if (re.test(f.sym)) {
          k = name;
          break outer;
        }
    work.set(k, (work.get(k) ?? 0) + 1);
  }
  console.log(`\n| SQLite writer thread, by work | share | µs per call |\n|---|---:|---:|`);
  for (const [k, n] of [...work].sort((a, b) => b[1] - a[1]))
    console.log(`| ${k} | ${((100 * n) / ws.length).toFixed(1)}% | ${perCall((wCpu * n) / ws.length)} |`);
}

serve.kill();
sim.kill();
shipper.kill();
await pool.close();
rmSync(dir, { recursive: true, force: true });
for (const f of readdirSync('/tmp')) if (f === `perf-${serve.pid}.map`) rmSync(join('/tmp', f), { force: true });
process.exit(0);
