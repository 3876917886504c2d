// Preloaded into llmscope by bench/hostile-stall.js (`node --require`): the event loop's delay, measured inside the
// process (perf_hooks.monitorEventLoopDelay, 1 ms resolution). Each SIGUSR2 writes the largest delay since the last
// one (ms) to $LLMSCOPE_BENCH_LOOP.<n> and starts afresh, so the bench reads the stall one call caused.
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { writeFileSync } = require('node:fs');

const out = process.env.LLMSCOPE_BENCH_LOOP;
if (out) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let n = 0;
  process.on('SIGUSR2', () => {
    writeFileSync(`${out}.${++n}`, JSON.stringify({ maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 }));
    h.reset();
  });
}
