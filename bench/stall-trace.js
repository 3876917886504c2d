// Loaded into `llmscope serve` by `bench:soak --trace-stalls` (NODE_OPTIONS=--import this file; the directory in
// LLMSCOPE_STALL_TRACE_DIR): records what the event loop's stalls were made of, in the process's main thread only.
//  - the loop's delay, from a timer every TICK_MS: a tick that comes STALL_MS or more late is a stall, written with
//    how much of it the main thread spent running (CPU), waiting for a core (the kernel's run-queue wait, from
//    /proc/self/task/<pid>/schedstat) and in V8's garbage collector (PerformanceObserver 'gc' entries);
//  - every 10 s a window: perf_hooks' delay histogram at 1 ms resolution (its values are the interval between
//    timer runs, so 1 ms is taken off), GC time by kind, the main thread's CPU and run-queue wait;
//  - optionally (LLMSCOPE_STALL_PROFILE=<start s>,<length s>) a V8 CPU profile of the main thread over that span,
//    sampled every 250 µs, whose timestamps are on the same clock as the stalls' (CLOCK_MONOTONIC, µs), so a stall's
//    samples say which functions ran in it.
// Files: stalls-<pid>.jsonl, windows-<pid>.jsonl, <pid>.cpuprofile. Not part of llmscope: a bench tool.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { constants, monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const DIR = process.env.LLMSCOPE_STALL_TRACE_DIR;
const TICK_MS = 5;
const STALL_MS = 5;
const WINDOW_MS = 10_000;

if (DIR && isMainThread) {
  const pid = process.pid;
  const stallsFile = join(DIR, `stalls-${pid}.jsonl`);
  const windowsFile = join(DIR, `windows-${pid}.jsonl`);
  // µs on CLOCK_MONOTONIC (a V8 profile's clock) at performance.now() = 0.
  const monoUs = () => Number(process.hrtime.bigint() / 1000n);
  const offsetUs = monoUs() - performance.now() * 1000;
  const schedFile = `/proc/self/task/${pid}/schedstat`;
  /** [CPU ns, run-queue wait ns] of the main thread so far, or null off Linux. */
  const sched = () => {
    try {
      const [cpu, wait] = readFileSync(schedFile, 'utf8').split(' ');
      return [Number(cpu), Number(wait)];
    } catch {
      return null;
    }
  };

  // GC entries of the last few seconds (start and end in performance.now() ms), and this window's totals.
  // perf_hooks' kinds (constants.NODE_PERFORMANCE_GC_*): 1 a scavenge of the young generation, 4 a mark-compact.
  const KINDS = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  let gcRecent = [];
  let gcWindow = {};
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = KINDS[e.detail?.kind ?? e.kind] ?? 'other';
      gcRecent.push([e.startTime, e.startTime + e.duration, kind]);
      gcWindow[kind] ??= { n: 0, ms: 0, max_ms: 0 };
      const w = gcWindow[kind];
      w.n++;
      w.ms += e.duration;
      w.max_ms = Math.max(w.max_ms, e.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  const gcIn = (from, to) => {
    let ms = 0;
    const kinds = new Set();
    for (const [s, e, k] of gcRecent) {
      const o = Math.min(e, to) - Math.max(s, from);
      if (o > 0) {
        ms += o;
        kinds.add(k);
      }
    }
    return { ms, kinds: [...kinds] };
  };

  let last = performance.now();
  let lastSched = sched();
  const tick = setInterval(() => {
    const now = performance.now();
    const late = now - last - TICK_MS;
    const s = sched();
    if (late >= STALL_MS) {
      const gc = gcIn(last, now);
      appendFileSync(
        stallsFile,
        `${JSON.stringify({
          // The span between the two ticks, in CPU-profile µs.
          from_us: Math.round(offsetUs + last * 1000),
          to_us: Math.round(offsetUs + now * 1000),
          late_ms: +late.toFixed(2),
          cpu_ms: s && lastSched ? +((s[0] - lastSched[0]) / 1e6).toFixed(2) : null,
          runq_ms: s && lastSched ? +((s[1] - lastSched[1]) / 1e6).toFixed(2) : null,
          gc_ms: +gc.ms.toFixed(2),
          gc_kinds: gc.kinds,
        })}\n`,
      );
    }
    last = now;
    lastSched = s;
    if (gcRecent.length > 256) gcRecent = gcRecent.filter(([, e]) => e > now - 5_000);
  }, TICK_MS);
  tick.unref();

  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  const t0 = performance.now();
  let winSched = sched();
  const window = setInterval(() => {
    const s = sched();
    const q = (p) => Math.max(0, eld.percentile(p) / 1e6 - 1);
    appendFileSync(
      windowsFile,
      `${JSON.stringify({
        t_s: Math.round((performance.now() - t0) / 1000),
        eld_p50_ms: +q(50).toFixed(2),
        eld_p99_ms: +q(99).toFixed(2),
        eld_max_ms: +Math.max(0, eld.max / 1e6 - 1).toFixed(2),
        cpu_ms: s && winSched ? Math.round((s[0] - winSched[0]) / 1e6) : null,
        runq_ms: s && winSched ? Math.round((s[1] - winSched[1]) / 1e6) : null,
        gc: Object.fromEntries(
          Object.entries(gcWindow).map(([k, v]) => [k, { n: v.n, ms: +v.ms.toFixed(1), max_ms: +v.max_ms.toFixed(2) }]),
        ),
      })}\n`,
    );
    eld.reset();
    gcWindow = {};
    winSched = s;
  }, WINDOW_MS);
  window.unref();

  const profile = process.env.LLMSCOPE_STALL_PROFILE;
  if (profile) {
    const [startS, lengthS] = profile.split(',').map(Number);
    const session = new Session();
    session.connect();
    const post = (method, params) =>
      new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
    setTimeout(async () => {
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 250 });
      await post('Profiler.start');
      setTimeout(async () => {
        const { profile: p } = await post('Profiler.stop');
        writeFileSync(join(DIR, `${pid}.cpuprofile`), JSON.stringify(p));
        session.disconnect();
      }, lengthS * 1000).unref();
    }, startS * 1000).unref();
  }
}
