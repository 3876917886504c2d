// node bench/workers-recorder.js — CPU per call of the recorder process of `serve --workers`, in-process, for the two
// ways it can get calls from its gateway workers, side by side in one run:
//   raw:      the worker sends the call as it left the gateway; the recorder runs every enricher and sink on it
//             (how serve --workers worked before the per-call work moved into the workers);
//   enriched: the worker ran the per-call work (tokens, redaction, pricing, refusals, text capture, spans, content,
//             its own metrics and request log) and sends the enriched call; the recorder runs only the
//             recorder-side enrichers (budget settle) and the sinks that are one per deployment.
// Real gateway calls are captured first (bench/gateway.js's request, half streamed, through the simulator), then
// cloned to --calls calls with fresh request ids. Each message is the JSON line the IPC channel would carry (a
// batch of 256), built before the clock starts; the recorder's part is JSON.parse, fromWire, the settle hooks and
// record, until every sink lane is empty and quality's evaluations are done. The worker side's CPU (enrichers,
// metrics, log, JSON.stringify) is measured too, separately. Rounds alternate raw/enriched, each in a fresh app on a
// fresh SQLite file, every built-in module, JSON logs to /dev/null. Needs a build (npx tsc -p tsconfig.build.json).
//
// Options: --calls N (default 20000), --rounds N (default 3 per mode; the median is shown), --json.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i === -1 ? dflt : argv[i + 1];
};
const CALLS = Number(opt('--calls', 20_000));
const ROUNDS = Number(opt('--rounds', 3));
const BATCH = 256;
const TEMPLATES = 400;

const { createApp } = await import('../dist/server.js');
const { builtinModules } = await import('../dist/cli/modules.js');
const { loadConfig } = await import('../dist/config/index.js');
const { Recorder } = await import('../dist/calls/index.js');
const { Metrics } = await import('../dist/telemetry/metrics.js');
const { createLogger } = await import('../dist/telemetry/logging.js');
const { toWire, fromWire, settleFor, addCallWork } = await import('../dist/cluster/worker.js');
const { startSimulator } = await import('../dist/simulator/index.js');
const { default: pino } = await import('pino');
const { Registry } = await import('prom-client');
const { Pool } = await import('undici');

/** CPU time of this process's main thread alone, in µs (Linux: /proc/self/task/PID/stat, clock ticks of 10 ms). */
const mainThreadUs = () => {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};
/** CPU µs of each thread of this process, by thread id, with its name. */
const threadsUs = () => {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = f.slice(f.indexOf('(') + 1, f.lastIndexOf(')'));
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { name, us: (Number(fields[11]) + Number(fields[12])) * 10_000 });
    } catch {
      /* the thread ended */
    }
  }
  return out;
};
const devNull = () => pino.destination({ dest: '/dev/null', sync: true });
const sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 16 });

const configFor = (dir) =>
  loadConfig({
    env: { LLMSCOPE_STORAGE_URL: `sqlite:${join(dir, 'bench.db')}` },
    overrides: (raw) => ({
      ...raw,
      server: { ...(raw.server ?? {}), port: 0, host: '127.0.0.1' },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      gpu: { collector: 'none' },
    }),
  });

/** Real gateway calls as the proxy hands them to its recorder (before any enricher). */
async function captureCalls() {
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-bench-wr-'));
  const app = await createApp(configFor(dir), { modules: builtinModules(), logDestination: devNull() });
  const got = [];
  const record = app.ctx.recorder.record.bind(app.ctx.recorder);
  app.ctx.recorder.record = (call) => {
    got.push(structuredClone(call));
    record(call);
  };
  const base = await app.listen();
  const pool = new Pool(base, { connections: 8 });
  for (let i = 0; i < TEMPLATES; i++) {
    const stream = i % 2 === 0;
    const r = await pool.request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Benchmark me.' }], stream }),
    });
    await r.body.text();
  }
  await pool.close();
  await app.close();
  rmSync(dir, { recursive: true, force: true });
  return got;
}

const templates = await captureCalls();
const makeCalls = (prefix) => {
  const out = [];
  for (let k = 0; k < CALLS; k++) {
    const c = structuredClone(templates[k % templates.length]);
    c.requestId = `${prefix}-${k}`;
    out.push(c);
  }
  return out;
};

/** The worker side: the per-call work as src/cluster/worker.ts builds it; returns the IPC lines and its CPU. */
async function workerSide(calls, config, callParts) {
  const registry = new Registry();
  const metrics = new Metrics(registry, {});
  const logger = createLogger({ level: 'warn', destination: devNull() });
  const recorder = new Recorder({ capacity: CALLS + 1 });
  addCallWork(recorder, { config, registry, metrics, logger, clock: { now: () => Date.now() } }, callParts);
  const lines = [];
  recorder.addSink({
    name: 'primary',
    maxBatch: BATCH,
    write: (batch) => {
      lines.push(`${JSON.stringify({ t: 'calls', calls: batch.map(toWire), inflight: 0 })}\n`);
    },
  });
  const cpu0 = process.cpuUsage();
  for (const c of calls) recorder.record(c);
  await recorder.flush(120_000);
  const cpu = process.cpuUsage(cpu0);
  return { lines, us: (cpu.user + cpu.system) / calls.length };
}

/** One round of the recorder side in a fresh app; `mode` raw or enriched. */
async function recorderSide(mode, prefix) {
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-bench-wr-'));
  const config = configFor(dir);
  const app = await createApp(config, {
    modules: builtinModules(),
    logDestination: devNull(),
    recordsForWorkers: true,
  });
  const quality = app.modules.find((m) => m.name === 'quality');
  let workerUs = null;
  let lines;
  const calls = makeCalls(prefix);
  if (mode === 'raw') {
    lines = [];
    for (let i = 0; i < calls.length; i += BATCH)
      lines.push(`${JSON.stringify({ t: 'calls', calls: calls.slice(i, i + BATCH).map(toWire), inflight: 0 })}\n`);
  } else {
    const w = await workerSide(calls, config, app.callParts);
    lines = w.lines;
    workerUs = w.us;
  }
  const bytes = lines.reduce((n, l) => n + l.length, 0) / CALLS;
  const recorder = app.ctx.recorder;
  // --parts: CPU per enricher and per sink write (each write run alone, as bench/recorder.js does)
  const spent = new Map();
  const add = (name, ms) => spent.set(name, (spent.get(name) ?? 0) + ms);
  if (argv.includes('--parts')) {
    for (const e of recorder.enrichers) {
      const enrich = e.enrich.bind(e);
      e.enrich = (call) => {
        const t = performance.now();
        enrich(call);
        add(`enricher: ${e.name}`, performance.now() - t);
      };
    }
    let chain = Promise.resolve();
    for (const lane of recorder.lanes) {
      const sink = lane.sink;
      const write = sink.write.bind(sink);
      lane.sink = {
        ...sink,
        name: sink.name,
        write(batch) {
          const run = chain.then(async () => {
            const t = performance.now();
            try {
              await write(batch);
            } finally {
              add(`sink: ${sink.name}`, performance.now() - t);
            }
          });
          chain = run.catch(() => {});
          return run;
        },
      };
    }
  }
  const take = mode === 'raw' ? (c) => recorder.record(c) : (c) => app.recordFromWorker(c);
  await new Promise((r) => setTimeout(r, 50));
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadUs();
  const threads0 = threadsUs();
  const t0 = performance.now();
  for (const line of lines) {
    const t = performance.now();
    const msg = JSON.parse(line);
    const t1 = performance.now();
    add('ipc: JSON.parse', t1 - t);
    for (const wire of msg.calls) {
      const call = fromWire(wire);
      settleFor(app.hooks, call);
      take(call);
    }
    add('ipc: fromWire, settle, record', performance.now() - t1);
    // the channel delivers one message per event-loop turn at most
    await new Promise((r) => setImmediate(r));
    // and a fleet sends no faster than the recorder's slowest lane keeps up (else its lane drops): wait for room
    while (Math.max(...Object.values(recorder.depths())) > recorder.capacity - 4 * BATCH)
      await new Promise((r) => setTimeout(r, 2));
  }
  await recorder.flush(120_000);
  const cpuSinks = process.cpuUsage(cpu0);
  const mainSinks = mainThreadUs() - main0;
  await quality?.idle(120_000);
  const cpu = process.cpuUsage(cpu0);
  const main = mainThreadUs() - main0;
  // the other threads (V8's GC helpers, libuv's pool, a SQLite writer thread) that ran at least a tick
  const others = {};
  for (const [tid, t] of threadsUs()) {
    if (tid === String(process.pid)) continue;
    const us = t.us - (threads0.get(tid)?.us ?? 0);
    if (us >= 10_000) others[`${t.name} ${tid}`] = +(us / CALLS).toFixed(1);
  }
  const wall = performance.now() - t0;
  const stored = app.ctx.store.backend.db.prepare('SELECT COUNT(*) AS n FROM calls').get().n;
  await app.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    mode,
    recorderUs: (cpu.user + cpu.system) / CALLS,
    recorderUsWithoutEvaluations: (cpuSinks.user + cpuSinks.system) / CALLS,
    mainUs: main / CALLS,
    mainUsWithoutEvaluations: mainSinks / CALLS,
    otherThreads: others,
    workerUs,
    bytesPerCall: bytes,
    parts: Object.fromEntries([...spent].map(([k, ms]) => [k, +((ms * 1000) / CALLS).toFixed(2)])),
    wallMs: wall,
    stored,
  };
}

const results = { raw: [], enriched: [] };
await recorderSide('raw', 'warm-raw');
await recorderSide('enriched', 'warm-enr');
for (let r = 0; r < ROUNDS; r++)
  for (const mode of r % 2 === 0 ? ['raw', 'enriched'] : ['enriched', 'raw']) {
    const x = await recorderSide(mode, `r${r}-${mode}`);
    if (x.stored !== CALLS) throw new Error(`${mode}: stored ${x.stored} of ${CALLS}`);
    results[mode].push(x);
    if (argv.includes('--json')) console.log(JSON.stringify(x));
  }
await sim.close();

const median = (xs, f) => [...xs].map(f).sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const f1 = (v) => (v === null || v === undefined ? '–' : v.toFixed(1));
console.log(
  `\n${CALLS} calls per round (${templates.length} captured gateway calls, half streamed, cloned), batches of ${BATCH}, ${ROUNDS} rounds per mode, median; ${cpus()[0]?.model}, ${cpus().length} cores, Node ${process.version}\n`,
);
console.log(
  '| the worker sends | recorder main thread µs/call | of which until sinks done | recorder process, all threads | worker CPU µs/call | IPC bytes/call |',
);
console.log('|---|---|---|---|---|---|');
for (const mode of ['raw', 'enriched']) {
  const m = (f) => median(results[mode], f);
  const label = mode === 'raw' ? 'the call as it left the gateway (before)' : 'the enriched call (after)';
  console.log(
    `| ${label} | ${f1(m((x) => x.mainUs))} | ${f1(m((x) => x.mainUsWithoutEvaluations))} | ${f1(m((x) => x.recorderUs))} | ${mode === 'raw' ? '–' : f1(m((x) => x.workerUs))} | ${Math.round(m((x) => x.bytesPerCall))} |`,
  );
}
console.log(
  '\nall rounds (recorder main thread µs/call):',
  JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.map((x) => +x.mainUs.toFixed(1))]))),
);
process.exit(0);
