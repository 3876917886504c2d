// node bench/worker-tell.js [--calls K] [--concurrency C]
// Messages a gateway worker of `serve --workers 2` sends the recorder process per call (decision 89: its `inflight`
// message also names the admissions of calls it finished and has not handed over, so the recorder records the calls
// a dying worker cut and not those it finished; that must not add a message per call). The built CLI in front of the
// simulator (every call admitted: the default build's cost hooks), K calls (default 4000, half streamed) from C
// clients at once (default 16), then a clean stop; each worker counts what it put on its channel, by kind
// (bench/ipc-count-hook.cjs). Prints the counts and the messages per call; run it in a checkout of the old code to compare.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort, start, startSimulator } from './processes.js';

const ROOT = new URL('..', import.meta.url).pathname;
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const CALLS = Number(arg('calls', 4000));
const CONCURRENCY = Number(arg('concurrency', 16));

const dir = mkdtempSync(join(tmpdir(), 'llmscope-tell-'));
const counts = join(dir, 'counts');
(await import('node:fs')).mkdirSync(counts);
const simPort = await freePort();
const sim = await startSimulator(simPort, { ttftMs: 20, tpotMs: 2, outputTokens: 24 });
const port = await freePort();
const config = join(dir, 'llmscope.yaml');
writeFileSync(
  config,
  [
    `server: { host: 127.0.0.1, port: ${port}, workers: 2 }`,
    `providers: [{ name: simulator, baseUrl: 'http://127.0.0.1:${simPort}/v1' }]`,
    `storage: { url: 'sqlite:${join(dir, 'calls.db')}' }`,
    'telemetry: { logLevel: warn }',
    'gpu: { collector: none }',
  ].join('\n'),
);
const hook = join(ROOT, 'bench', 'ipc-count-hook.cjs');
const serve = await start(['bin/llmscope.js', 'serve', '--config', config], /serving on/, {
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require=${hook}`.trim(),
  IPC_COUNT_DIR: counts,
});
const agent = new Agent({ connections: CONCURRENCY });
let k = 0;
let ok = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (k < CALLS) {
      const stream = k++ % 2 === 0;
      const r = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream }),
      });
      await r.body.text();
      if (r.statusCode === 200) ok++;
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
await agent.close();
const exited = new Promise((r) => serve.once('exit', r));
serve.kill('SIGTERM');
await exited;
sim.kill('SIGTERM');
const total = { byKind: {}, callsInBatches: 0, doneIds: 0 };
for (const f of readdirSync(counts)) {
  const c = JSON.parse(readFileSync(join(counts, f), 'utf8'));
  for (const [kind, n] of Object.entries(c.byKind)) total.byKind[kind] = (total.byKind[kind] ?? 0) + n;
  total.callsInBatches += c.callsInBatches;
  total.doneIds += c.doneIds;
}
const per = (n) => +(n / ok).toFixed(4);
const messages = Object.values(total.byKind).reduce((a, b) => a + b, 0);
console.log(
  JSON.stringify(
    {
      calls: CALLS,
      ok,
      concurrency: CONCURRENCY,
      calls_per_s: Math.round(ok / seconds),
      by_kind: total.byKind,
      calls_in_batches: total.callsInBatches,
      done_ids_told: total.doneIds,
      messages_per_call: per(messages),
      inflight_messages_per_call: per(total.byKind.inflight ?? 0),
    },
    null,
    2,
  ),
);
