// npm run bench:recorder — main-thread CPU per recorded call, per enricher and per sink, in-process.
// Builds the app as `llmscope serve` does (createApp with every built-in module, a SQLite file store, JSON logs to
// /dev/null, asynchronously as on stdout), then pushes N ingest-shaped calls (varied provider/model/team/feature/user, as bench/ingest.js sends)
// through its Recorder in bursts of 1000 (one /api/ingest request's worth) and reports, per enricher and per sink,
// the µs of CPU each call cost there (process.cpuUsage, read per batch: each enricher runs over a whole batch in
// turn; each sink's write is run one at a time, a lane waiting while another lane writes, and read start to settled).
// The calls are built before the clock starts; "total" is the process's CPU (user + system) from the first record()
// until every lane is empty, so it includes the recorder itself and garbage collection, which the rows do not.
//
// --gateway: gateway-shaped calls instead (source gateway, the prompt and answer text and timing marks still on
// them, usage reported), so text work (redaction, refusal detection, spans) shows; evaluators sampled at 0.
// --evaluators (with --gateway): the quality evaluators at their default sampling (1.0) too, and the figures run until
// their evaluations are stored ("sink: quality" is then the sink's write only; the evaluations are the rest).
//
// --child --root DIR --dump FILE [--gateway]: one round of DIR's build on a fixed clock, writing every llm_* metric
// series, the spend rows and quality's counts to FILE, so two builds can be checked to leave the same results.
//
// --check --compare DIR [--gateway]: both builds record the same calls that way; exits 1 unless every metric line
// and quality count is identical and the spend rows equal (costs within 1e-12, see below).
//
// Options: --calls N (default 40000), --rounds N (default 3; each row is its median over the rounds), --root DIR (a built llmscope
// checkout to measure instead of this one), --compare DIR (also measure the llmscope built in DIR, e.g. an earlier
// commit: `git archive <commit> | tar -x -C DIR`, symlink node_modules, `npx tsc -p tsconfig.build.json` there;
// the two run alternately, each round in a fresh process), --json (one JSON line per round, for scripts).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const HERE = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i === -1 ? dflt : argv[i + 1];
};
const CALLS = Number(opt('--calls', 40_000));
const ROUNDS = Number(opt('--rounds', 3));
const ROOT = resolve(opt('--root', HERE));
const COMPARE = opt('--compare', null);
const BURST = 1000;
const GATEWAY = argv.includes('--gateway');
const EVALUATORS = argv.includes('--evaluators');
const DUMP = opt('--dump', null);

const built = (dir) => existsSync(join(dir, 'dist', 'server.js'));

if (argv.includes('--child')) {
  const r = await measure(ROOT);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}

if (argv.includes('--check')) {
  // Same results as COMPARE's build? Each build records the same calls on a fixed clock and dumps what they left.
  if (!COMPARE) {
    console.error('--check needs --compare DIR');
    process.exit(2);
  }
  const dumps = [COMPARE, ROOT].map((dir, i) => {
    const file = join(tmpdir(), `llmscope-bench-recorder-dump-${process.pid}-${i}.json`);
    const child = spawnSync(
      process.execPath,
      [
        new URL(import.meta.url).pathname,
        ...['--child', '--root', dir, '--calls', String(CALLS), '--dump', file],
        ...(GATEWAY ? ['--gateway'] : []),
        ...(EVALUATORS ? ['--evaluators'] : []),
      ],
      { encoding: 'utf8' },
    );
    if (child.status !== 0) {
      console.error(child.stderr || child.stdout);
      process.exit(1);
    }
    const d = JSON.parse(readFileSync(file, 'utf8'));
    rmSync(file);
    return d;
  });
  const [a, b] = dumps;
  let ok = true;
  for (const k of Object.keys(a)) {
    if (k === 'spendMinute' || k === 'spendDaily') {
      // A spend row's cost is a sum of fractions whose grouping follows the sink's batches, which follow timing:
      // two runs of one build differ in the last bits. Everything else in the row must be equal.
      let worst = 0;
      const same =
        a[k].length === b[k].length &&
        a[k].every((x, i) => {
          const y = b[k][i];
          worst = Math.max(worst, Math.abs(x.cost_usd - y.cost_usd) / Math.max(Math.abs(x.cost_usd), 1e-300));
          return JSON.stringify({ ...x, cost_usd: 0 }) === JSON.stringify({ ...y, cost_usd: 0 });
        });
      ok &&= same && worst < 1e-12;
      console.log(
        `${k}: ${a[k].length} rows, ${same ? 'equal' : 'DIFFERENT'}; cost_usd within ${worst.toExponential(1)}`,
      );
    } else {
      const same = JSON.stringify(a[k]) === JSON.stringify(b[k]);
      ok &&= same;
      console.log(`${k}: ${a[k].length} lines, ${same ? 'identical' : 'DIFFERENT'}`);
    }
  }
  console.log(ok ? 'same results' : 'RESULTS DIFFER');
  process.exit(ok ? 0 : 1);
}

for (const dir of [ROOT, COMPARE].filter(Boolean))
  if (!built(dir)) {
    console.error(`${dir}: build first (npx tsc -p tsconfig.build.json there)`);
    process.exit(2);
  }

const label = (dir) => {
  try {
    const head = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    return dir === HERE ? `this tree (${head}+)` : `${dir} (${head})`;
  } catch {
    return dir;
  }
};

const targets = COMPARE ? [COMPARE, ROOT] : [ROOT];
const results = new Map(targets.map((t) => [t, []]));
for (let round = 0; round < ROUNDS; round++)
  for (const dir of round % 2 === 0 ? targets : [...targets].reverse()) {
    const child = spawnSync(
      process.execPath,
      [
        new URL(import.meta.url).pathname,
        '--child',
        '--root',
        dir,
        '--calls',
        String(CALLS),
        ...(GATEWAY ? ['--gateway'] : []),
        ...(EVALUATORS ? ['--evaluators'] : []),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    if (child.status !== 0) {
      console.error(child.stderr || child.stdout);
      process.exit(1);
    }
    const r = JSON.parse(child.stdout.trim().split('\n').pop());
    results.get(dir).push(r);
    if (argv.includes('--json')) console.log(JSON.stringify({ target: dir, round, ...r }));
  }

/** Each row's median over the rounds (a shared machine's noise hits rounds unevenly). */
const med = (xs) => {
  const v = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  return v.length === 0
    ? undefined
    : v.length % 2
      ? v[(v.length - 1) / 2]
      : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const names = [];
for (const rs of results.values())
  for (const r of rs) for (const n of Object.keys(r.parts)) if (!names.includes(n)) names.push(n);
const cols = targets.map((t) => {
  const rs = results.get(t);
  const parts = Object.fromEntries(names.map((n) => [n, med(rs.map((r) => r.parts[n]))]));
  return {
    t,
    parts,
    sum: Object.values(parts).reduce((a, b) => a + (b ?? 0), 0),
    total: med(rs.map((r) => r.totalUs)),
    process: med(rs.map((r) => r.processUs)),
  };
});
const f = (v) => (v === undefined ? '–' : v.toFixed(2));
console.log(
  `\n${CALLS} ${GATEWAY ? 'gateway-shaped' : 'ingest-shaped'} calls, bursts of ${BURST}, ${ROUNDS} rounds each (medians); ${cpus()[0]?.model}, Node ${process.version}\n`,
);
const head = cols.map(({ t }) => label(t));
console.log(`| µs of main-thread CPU per call | ${head.join(' | ')} |`);
console.log(`|---|${head.map(() => '---:|').join('')}`);
for (const n of names) console.log(`| ${n} | ${cols.map((c) => f(c.parts[n])).join(' | ')} |`);
console.log(`| rest of the main thread (GC, timers, promises) | ${cols.map((c) => f(c.total - c.sum)).join(' | ')} |`);
console.log(`| **main thread, all of it** | ${cols.map((c) => `**${f(c.total)}**`).join(' | ')} |`);
console.log(`| process, every thread | ${cols.map((c) => f(c.process)).join(' | ')} |`);
console.log(
  '\n(main thread µs per call, every round:',
  JSON.stringify([...results].map(([t, rs]) => [label(t), rs.map((r) => r.totalUs.toFixed(1))])),
  ')',
);

/** One round in this process: builds the app from `root`'s dist, records CALLS calls, returns µs per call per part. */
async function measure(root) {
  const dist = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
  const { createApp } = await dist('server.js');
  const { builtinModules } = await dist('cli/modules.js');
  const { loadConfig } = await dist('config/index.js');
  const { ingestRecordSchema, recordToCall } = await dist('api/ingest.js');
  const { default: pino } = await import(pathToFileURL(join(root, 'node_modules', 'pino', 'pino.js')).href);

  const dir = mkdtempSync(join(tmpdir(), 'llmscope-bench-recorder-'));
  const config = loadConfig({
    env: { LLMSCOPE_STORAGE_URL: `sqlite:${join(dir, 'bench.db')}` },
    overrides: (raw) => ({
      ...raw,
      server: { ...(raw.server ?? {}), port: 0 },
      providers: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9/v1' }],
      // --gateway: the recording path only; the evaluators (quality.sampling, default 1) are bench:quality's
      ...(GATEWAY && !EVALUATORS
        ? { quality: { sampling: { grounding: 0, consistency: 0, attribution: 0, nli: 0, judge: 0 } } }
        : {}),
    }),
  });
  const app = await createApp(config, {
    modules: builtinModules(),
    // as serve's stdout destination (asynchronous sonic-boom, 16 MiB bound), on /dev/null
    logDestination: pino.destination({ dest: openSync('/dev/null', 'w'), sync: false, maxLength: 16 * 1024 * 1024 }),
  });
  const recorder = app.ctx.recorder;

  // Accounting in this (the main) thread's CPU time, from /proc/thread-self/schedstat (ns on a CPU): a machine
  // shared with other work stretches wall time, not this, and the store's writer thread, libuv's pool and V8's
  // helper threads are not counted (they are the process CPU's rest, shown apart).
  // Enrichers: the recorder's dispatch is replaced by one running each enricher over the whole batch in turn
  // (each call still sees the enrichers in their order), so one reading per enricher per batch suffices.
  // Sinks: every write is serialised (a lane waits while another writes) and read from start to settled, less
  // what ran meanwhile and is counted elsewhere (the recorder's dispatch, the bench's record() bursts).
  const cpuMs = () => Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6;
  const spent = new Map();
  let elsewhere = 0;
  const add = (name, ms) => spent.set(name, (spent.get(name) ?? 0) + ms);
  const enrichers = recorder.enrichers;
  const dispatch = recorder.dispatch;
  recorder.dispatch = () => {
    const start = cpuMs();
    const batch = recorder.pending.slice();
    const saved = recorder.enrichers;
    recorder.enrichers = [];
    for (const e of enrichers) {
      const t0 = cpuMs();
      for (const call of batch)
        try {
          e.enrich(call);
        } catch (err) {
          recorder.opts.onEnricherError?.(e.name, err);
        }
      add(`enricher: ${e.name}`, cpuMs() - t0);
    }
    const t0 = cpuMs();
    dispatch(); // queues the (now enriched) batch on every lane, with no enrichers left to run
    const end = cpuMs();
    add('recorder: queueing', end - t0);
    recorder.enrichers = saved;
    elsewhere += end - start;
  };
  let chain = Promise.resolve();
  for (const lane of recorder.lanes) {
    const sink = lane.sink;
    const write = sink.write.bind(sink);
    lane.sink = {
      ...sink,
      name: sink.name,
      write(batch) {
        const run = chain.then(async () => {
          const t0 = cpuMs();
          const e0 = elsewhere;
          try {
            await write(batch);
          } finally {
            add(`sink: ${sink.name}`, cpuMs() - t0 - (elsewhere - e0));
          }
        });
        chain = run.catch(() => {});
        return run;
      },
    };
  }

  const PROMPTS = [
    'You are a helpful assistant.\nWhat is the capital of France, and what is it known for?',
    'Summarise the following support ticket in two sentences: the customer cannot log in after resetting their password and the reset email arrives late.',
    'Write a haiku about autumn leaves.',
    'Explain the difference between a process and a thread, with an example in Node.js.',
  ];
  const ANSWERS = [
    'The capital of France is Paris. It is known for the Eiffel Tower, the Louvre, its cafés and its cuisine, and it has been the country’s political and cultural centre for centuries.',
    'The customer is locked out after a password reset. The reset email is delayed, so they cannot complete the reset in time; we should check the mail queue and extend the link’s validity.',
    'Crimson leaves drifting\nsoft on the cold morning wind\nthe year exhales slow',
    'A process has its own memory; threads share their process’s memory. In Node.js, `child_process.fork()` starts a process, while `new Worker()` from worker_threads starts a thread:\n\n```js\nconst { Worker } = require("node:worker_threads");\nnew Worker("./task.js");\n```\n\nUse threads for CPU-bound work that shares data, processes for isolation.',
    'Here are three ideas for a weekend project: 1. Build a birdhouse from scrap wood. 2. Start a small herb garden on a windowsill. 3. Write a short story and share it with friends.',
    'Sure! To reverse a string in Python, use slicing: `s[::-1]`. For example, `"hello"[::-1]` gives `"olleh"`. This works because slicing with a step of -1 walks the string backwards.',
    'The mitochondria is the powerhouse of the cell: it turns nutrients into ATP, the energy currency cells use for almost everything they do.',
    'Note that this approach does not handle time zones: convert both dates to UTC first, then subtract them to get the difference in milliseconds.',
    "I'm sorry, but I can't help with that request.",
    'To install the package, run `npm install left-pad`, then import it with `import leftPad from "left-pad"` and call `leftPad("5", 3, "0")` to get "005".',
  ];
  const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4-5', 'gemini-2.5-flash'];
  const PROVIDERS = ['openai', 'openai', 'anthropic', 'gemini'];
  // --dump: a fixed clock, so two builds' results can be compared byte for byte
  const now = DUMP ? Date.parse('2026-12-04T12:00:30.000Z') : Date.now();
  const makeCalls = (prefix, n) => {
    const out = [];
    for (let k = 0; k < n; k++) {
      const m = k % 4;
      const rec = ingestRecordSchema.parse({
        request_id: `${prefix}${k}`,
        started_at: now - 2000 + (k % 1000),
        latency_ms: 200 + (k % 700),
        provider: PROVIDERS[m],
        model: MODELS[m],
        endpoint: 'chat.completions',
        stream: k % 2 === 0,
        input_tokens: 100 + (k % 900),
        output_tokens: 20 + (k % 300),
        cached_input_tokens: k % 50,
        ttft_ms: 30 + (k % 200),
        user: `user-${k % 5000}`,
        team: `team-${k % 20}`,
        feature: `feature-${k % 8}`,
        session: `s-${Math.floor(k / 10)}`,
        finish_reason: 'stop',
        metadata: { tenant: `t-${k % 50}` },
      });
      const call = recordToCall(rec);
      if (GATEWAY) {
        // as the gateway hands a finished call over: its text and timing marks still on it (usage was reported)
        const t = call.startedAt;
        call.source = 'gateway';
        call.overheadMs = 0.2 + (k % 10) / 50;
        call.traceId = (k + 1).toString(16).padStart(32, '0');
        call.internal = {
          arrivalAt: t,
          routedAt: t + 0.05,
          upstreamStartAt: t + 0.1,
          upstreamHeadersAt: t + 20,
          firstContentAt: t + call.ttftMs,
          lastContentAt: t + call.latencyMs - 1,
          upstreamEndAt: t + call.latencyMs - 0.5,
          spanId: (k + 1).toString(16).padStart(16, '0'),
          upstreamSpanId: (k + 2).toString(16).padStart(16, '0'),
          parentSpanId: null,
          params: { max_tokens: 512, temperature: 0.7 },
          serverAddress: 'api.example.com',
          serverPort: 443,
          responseModel: call.model,
          responseId: `resp-${k}`,
          promptText: PROMPTS[k % PROMPTS.length],
          assistantRanges: null,
          outputText: ANSWERS[k % ANSWERS.length],
        };
      }
      out.push(call);
    }
    return out;
  };
  const drive = async (calls) => {
    for (let i = 0; i < calls.length; i += BURST) {
      const t0 = cpuMs();
      for (let j = i; j < Math.min(calls.length, i + BURST); j++) recorder.record(calls[j]);
      const t1 = cpuMs();
      add('recorder: record()', t1 - t0);
      elsewhere += t1 - t0;
      await new Promise((r) => setImmediate(r));
      // /api/ingest waits for room in the store's lane; so does this
      while (Math.max(...Object.values(recorder.depths())) > recorder.capacity - 2 * BURST)
        await new Promise((r) => setTimeout(r, 2));
    }
    await recorder.flush(60_000);
    // --evaluators: until the evaluations are done and stored
    if (EVALUATORS) for (const m of app.modules) if (m.name === 'quality') await m.idle(60_000);
  };

  // warm-up (JIT, prepared statements), then the measured run
  await drive(makeCalls('warm-', Math.min(CALLS, 10_000)));
  const calls = makeCalls('run-', CALLS);
  spent.clear();
  const cpu0 = process.cpuUsage();
  const main0 = cpuMs();
  await drive(calls);
  const mainMs = cpuMs() - main0;
  const cpu = process.cpuUsage(cpu0);
  const parts = {};
  for (const [name, ms] of spent) parts[name] = (ms * 1000) / CALLS;
  const dropped = (await app.ctx.registry.getSingleMetric('llmscope_recorder_dropped_total').get()).values;
  await app.close();
  if (DUMP) {
    // What the calls left behind, for comparing builds: every llm_* series, the spend rows, quality's counts.
    const text = await app.ctx.registry.metrics();
    const { default: Database } = await import(
      pathToFileURL(join(root, 'node_modules', 'better-sqlite3', 'lib', 'index.js')).href
    );
    const db = new Database(join(dir, 'bench.db'), { readonly: true });
    const rows = (sql) => db.prepare(sql).all();
    writeFileSync(
      DUMP,
      `${JSON.stringify(
        {
          metrics: text.split('\n').filter((l) => l.startsWith('llm_') || l.startsWith('llmscope_label_overflow')),
          spendMinute: rows('SELECT * FROM spend_minute ORDER BY minute, dimension, value'),
          spendDaily: rows('SELECT * FROM spend_daily ORDER BY day, dimension, value'),
          qualityCounts: rows('SELECT * FROM quality_rollup_minute ORDER BY 1, 2, 3'),
          calls: rows('SELECT count(*) AS n, sum(cost_usd) AS cost, sum(refusal) AS refusals FROM calls'),
        },
        null,
        1,
      )}\n`,
    );
    db.close();
  }
  rmSync(dir, { recursive: true, force: true });
  return {
    parts,
    totalUs: (mainMs * 1000) / CALLS,
    processUs: (cpu.user + cpu.system) / CALLS,
    dropped: dropped.reduce((n, v) => n + v.value, 0),
  };
}
