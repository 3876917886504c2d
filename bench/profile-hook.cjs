// Preloaded into llmscope by bench/gateway.js (`node --require`, inherited by `serve --workers` processes): SIGUSR2
// starts V8's CPU profiler, the next SIGUSR2 stops it and writes the profile to
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
  process.on('SIGUSR2', () => {
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
