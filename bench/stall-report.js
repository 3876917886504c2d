// What the event loop's stalls were made of, from the files bench/stall-trace.js wrote into a directory (one set per
// llmscope process): `node bench/stall-report.js DIR [--top N]`, or stallReport(dir) from bench:soak --trace-stalls.
// For each process: the stalls by length, how much of them the main thread spent running, waiting for a core (run
// queue), neither (asleep in a system call: a lock, a busy handler's sleep, I/O), and in GC (the kernel's figures
// move at its tick, a few ms, so a single stall's split is rough and a band's is not); and, where a CPU profile
// covers them, the functions that ran inside stalls of 10 ms or more (self time, and the nearest llmscope frame of
// each sample), so a stall is attributed from what ran, not guessed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const readJsonl = (f) =>
  existsSync(f)
    ? readFileSync(f, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];

const pct = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0;
const r1 = (v) => Math.round(v * 10) / 10;

/** Where a frame comes from: llmscope's own code, a dependency, Node, or V8's pseudo-frames. */
function origin(frame) {
  const url = frame.url ?? '';
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.includes('/node_modules/'))
    return `dep:${url
      .split('/node_modules/')
      .at(-1)
      .split('/')
      .slice(0, url.includes('/node_modules/@') ? 2 : 1)
      .join('/')}`;
  if (url.startsWith('node:')) return 'node';
  return 'llmscope';
}
const where = (f) =>
  `${f.functionName || '(anonymous)'} ${(f.url ?? '').replace(/^.*\/(dist|src|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;

/** Per-sample time inside [from, to] µs, with each sample credited at most `cap` µs (the rest: unsampled). */
function profileIn(profile, spans, cap = 500) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const ours = new Map();
  const origins = new Map();
  let sampled = 0;
  let t = profile.startTime;
  let prev = t;
  let si = 0;
  const sorted = [...spans].sort((a, b) => a.from_us - b.from_us);
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    while (si < sorted.length && sorted[si].to_us < t) si++;
    const span = sorted[si];
    if (span && t >= span.from_us && t <= span.to_us) {
      const us = Math.min(cap, t - Math.max(prev, span.from_us));
      sampled += us;
      const node = byId.get(profile.samples[i]);
      const f = node.callFrame;
      const key = where(f);
      self.set(key, (self.get(key) ?? 0) + us);
      const o = origin(f);
      origins.set(o, (origins.get(o) ?? 0) + us);
      // The nearest llmscope frame up the stack: which of our code this time was spent for.
      let id = node.id;
      let mine = null;
      while (id !== undefined) {
        const fr = byId.get(id).callFrame;
        if (origin(fr) === 'llmscope') {
          mine = where(fr);
          break;
        }
        id = parent.get(id);
      }
      const k = mine ?? `(no llmscope frame: ${o})`;
      ours.set(k, (ours.get(k) ?? 0) + us);
    }
    prev = t;
  }
  return { self, ours, origins, sampled };
}

export function stallReport(dir, top = 12) {
  const out = [];
  const pids = readdirSync(dir)
    .map((f) => /^stalls-(\d+)\.jsonl$|^windows-(\d+)\.jsonl$/.exec(f))
    .filter(Boolean)
    .map((m) => m[1] ?? m[2]);
  for (const pid of [...new Set(pids)]) {
    const stalls = readJsonl(join(dir, `stalls-${pid}.jsonl`));
    const windows = readJsonl(join(dir, `windows-${pid}.jsonl`));
    out.push(`process ${pid}: ${windows.length} windows of 10 s, ${stalls.length} ticks 5 ms or more late`);
    if (windows.length) {
      const p99 = windows.map((w) => w.eld_p99_ms).sort((a, b) => a - b);
      const max = windows.map((w) => w.eld_max_ms).sort((a, b) => a - b);
      const sum = (f) => windows.reduce((a, w) => a + (f(w) ?? 0), 0);
      const secs = windows.length * 10;
      const gcKinds = {};
      for (const w of windows)
        for (const [k, v] of Object.entries(w.gc)) {
          gcKinds[k] ??= { n: 0, ms: 0, max_ms: 0 };
          const g = gcKinds[k];
          g.n += v.n;
          g.ms += v.ms;
          g.max_ms = Math.max(g.max_ms, v.max_ms);
        }
      out.push(
        `  delay (1 ms timer) p99 per window: median ${pct(p99, 50)} ms, worst ${p99.at(-1)} ms; max per window: median ${pct(max, 50)}, worst ${max.at(-1)} ms`,
      );
      out.push(
        `  main thread: CPU ${r1(sum((w) => w.cpu_ms) / secs / 10)}% of a core, waiting for a core ${r1(sum((w) => w.runq_ms) / secs)} ms a second; GC ${Object.entries(
          gcKinds,
        )
          .map(([k, g]) => `${k} ${g.n}× ${r1(g.ms / secs)} ms/s (longest ${r1(g.max_ms)} ms)`)
          .join(', ')}`,
      );
    }
    const bands = [
      [5, 10],
      [10, 20],
      [20, 50],
      [50, Infinity],
    ];
    for (const [lo, hi] of bands) {
      const b = stalls.filter((s) => s.late_ms >= lo && s.late_ms < hi);
      if (!b.length) continue;
      const tot = (k) => b.reduce((a, s) => a + (s[k] ?? 0), 0);
      const span = b.reduce((a, s) => a + (s.to_us - s.from_us) / 1000, 0);
      out.push(
        `  stalls ${lo}-${hi === Infinity ? '' : hi} ms: ${b.length}, their spans ${r1(span)} ms in all: main thread ran ${r1((100 * tot('cpu_ms')) / span)}%, waited for a core ${r1((100 * tot('runq_ms')) / span)}%, neither (asleep: a lock, I/O) ${r1(Math.max(0, 100 - (100 * (tot('cpu_ms') + tot('runq_ms'))) / span))}%, GC ${r1((100 * tot('gc_ms')) / span)}% (GC in ${b.filter((s) => s.gc_ms > 0).length} of them)`,
      );
    }
    const worst = [...stalls].sort((a, b) => b.late_ms - a.late_ms).slice(0, 5);
    if (worst.length)
      out.push(
        `  worst: ${worst.map((s) => `${s.late_ms} ms (ran ${s.cpu_ms}, waited ${s.runq_ms}, GC ${s.gc_ms}${s.gc_kinds.length ? ` ${s.gc_kinds.join('+')}` : ''})`).join('; ')}`,
      );
    const profFile = join(dir, `${pid}.cpuprofile`);
    if (existsSync(profFile)) {
      const profile = JSON.parse(readFileSync(profFile, 'utf8'));
      const inProfile = stalls.filter(
        (s) => s.late_ms >= 10 && s.from_us >= profile.startTime && s.to_us <= profile.endTime,
      );
      const span = inProfile.reduce((a, s) => a + (s.to_us - s.from_us), 0);
      const { self, ours, origins, sampled } = profileIn(profile, inProfile);
      const list = (m) =>
        [...m.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, top)
          .map(([k, us]) => `    ${r1((100 * us) / span).toFixed(1)}%  ${k}`);
      out.push(
        `  CPU profile: ${inProfile.length} stalls of 10 ms or more inside it, ${r1(span / 1000)} ms; samples cover ${r1((100 * sampled) / Math.max(1, span))}% of it (the rest: the thread not running, or between samples)`,
      );
      out.push('   by origin:', ...list(origins));
      out.push('   self time:', ...list(self));
      out.push('   nearest llmscope frame:', ...list(ours));
    }
  }
  return out.join('\n');
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const i = process.argv.indexOf('--top');
  console.log(stallReport(process.argv[2], i === -1 ? 12 : Number(process.argv[i + 1])));
}
