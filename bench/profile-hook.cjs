// Preloaded into llmscope by bench/gateway.js (`node --require`, inherited by `serve --workers` processes): SIGWINCH
// starts V8's CPU profiler, the next SIGWINCH stops it and writes the profile to
// $LLMSCOPE_BENCH_PROFILE.<round>.<pid>.cpuprofile (then a `.done` file beside it), so the bench profiles exactly the
// load it drives and nothing of startup.
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');

const out = process.env.LLMSCOPE_BENCH_PROFILE;
if (out) {
  const session = new Session();
  session.connect();
  let running = false;
  let n = 0;
  // SIGWINCH, not SIGUSR2: serve takes SIGUSR2 as a rolling restart of its workers (and SIGUSR1 is node's inspector);
  // SIGWINCH's default is to be ignored, so a process that has not loaded this hook yet is not hurt by it.
  process.on('SIGWINCH', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')),
      );
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, res) => {
      // One file per process and round: with `serve --workers` every worker and the recorder write their own.
      const file = `${out}.${++n}.${process.pid}.cpuprofile`;
      if (!err) writeFileSync(file, JSON.stringify(res.profile));
      writeFileSync(`${file}.done`, err ? String(err) : 'ok');
    });
  });
}
