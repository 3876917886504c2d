// node bench/answer-stall.js [--compare DIR] [--calls 100000] [--rounds 3] [--node-flags a,b]: how long one large
// non-streamed ANSWER holds the gateway's event loop (decision 43: 4-8 MB of chat answer with 50,000-100,000 tool
// calls, inside the relay's 8 MiB parse cap). An upstream in this process answers model "big-*" with one
// chat.completion whose message holds --calls tool calls (and usage); a simulator answers "small-*". While one big call
// goes through llmscope, small calls are sent one after another on another connection: the slowest is what another
// client sees; the event loop's largest delay inside llmscope (bench/loop-delay-hook.cjs) is reported beside it, and
// the big call's own time to its last byte. With --compare DIR, the llmscope built in DIR runs too, alternating per
// round. --node-flags: node flags for the llmscopes (--cpu-prof,--cpu-prof-dir=DIR: a CPU profile of each, written
// when it stops). Prints a table; writes nothing.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, start } from './processes.js';

const ROOT = new URL('..', import.meta.url).pathname;
const arg = (name, dflt) => {
  const at = process.argv.indexOf(name);
  return at === -1 ? dflt : process.argv[at + 1];
};
const compareDir = arg('--compare', null);
const CALLS = Number(arg('--calls', '80000'));
const ROUNDS = Number(arg('--rounds', '3'));
const nodeFlags = (arg('--node-flags', '') ?? '').split(',').filter(Boolean);
// --no-small: the big call alone (its time to the last byte without other clients' calls beside it)
const withSmall = !process.argv.includes('--no-small');
const dir = mkdtempSync(join(tmpdir(), 'llmscope-answer-stall-'));

/** The big answer: one assistant message of CALLS tool calls, as a model calling a tool per item of a list. */
function bigAnswer(calls) {
  const toolCalls = Array.from({ length: calls }, (_, i) => ({
    id: `call_${i}`,
    type: 'function',
    function: { name: 'lookup', arguments: `{"n":${i}}` },
  }));
  return Buffer.from(
    JSON.stringify({
      id: 'chatcmpl-big',
      object: 'chat.completion',
      created: 1,
      model: 'big-model',
      choices: [
        { index: 0, message: { role: 'assistant', content: null, tool_calls: toolCalls }, finish_reason: 'tool_calls' },
      ],
      usage: { prompt_tokens: 20, completion_tokens: calls * 12, total_tokens: 20 + calls * 12 },
    }),
  );
}
const answer = bigAnswer(CALLS);

const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
    res.end(answer);
  });
});
const upPort = await freePort();
await new Promise((r) => upstream.listen(upPort, '127.0.0.1', r));

const smallSimPort = await freePort();
const sim = await start(
  [
    'bin/llmscope.js',
    'simulate',
    '--port',
    String(smallSimPort),
    '--ttft-ms',
    '0',
    '--tpot-ms',
    '0',
    '--output-tokens',
    '16',
  ],
  /127\.0\.0\.1/,
);
const configFile = join(dir, 'llmscope.yaml');
writeFileSync(
  configFile,
  `providers:
  - name: big
    baseUrl: http://127.0.0.1:${upPort}/v1
    models: ["big-*"]
  - name: small
    baseUrl: http://127.0.0.1:${smallSimPort}/v1
    models: ["small-*"]
`,
);

async function serve(name, root) {
  const port = await freePort();
  const loop = join(dir, `${name.replace(/\W/g, '')}-loop`);
  const p = await start(
    [
      ...nodeFlags,
      '--require',
      join(ROOT, 'bench', 'loop-delay-hook.cjs'),
      join(root, 'bin', 'llmscope.js'),
      'serve',
      '--port',
      String(port),
      '--config',
      configFile,
    ],
    /serving on/,
    {
      LLMSCOPE_STORAGE_URL: `sqlite:${join(dir, `${name.replace(/\W/g, '')}.db`)}`,
      LLMSCOPE_BENCH_LOOP: loop,
      LLMSCOPE_LOG_LEVEL: 'warn',
    },
  );
  p.stdout?.resume();
  p.stderr.resume();
  return { name, port, proc: p, loop, n: 0 };
}

const targets = [await serve('now', ROOT)];
if (compareDir) targets.push(await serve('before', compareDir));

function post(port, body, agent) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/chat/completions',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        let bytes = 0;
        res.on('data', (c) => {
          bytes += c.length;
        });
        res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0, bytes }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const small = Buffer.from(JSON.stringify({ model: 'small-model', messages: [{ role: 'user', content: 'hello' }] }));
const big = Buffer.from(JSON.stringify({ model: 'big-model', messages: [{ role: 'user', content: 'look up each' }] }));

/** The stall one big answer causes: the slowest small call meanwhile, and the loop's largest delay. */
async function once(t) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 20; i++) await post(t.port, small, agent);
  await new Promise((r) => setTimeout(r, 300));
  t.proc.kill('SIGUSR2'); // reset the loop monitor
  await new Promise((r) => setTimeout(r, 100));
  let done = false;
  let worst = 0;
  let count = 0;
  const smalls = (async () => {
    while (!done && withSmall) {
      const r = await post(t.port, small, agent);
      worst = Math.max(worst, r.ms);
      count++;
    }
  })();
  const b = await post(t.port, big, new Agent({ keepAlive: false }));
  // The call's record is made after its answer: keep measuring a while after.
  await new Promise((r) => setTimeout(r, 700));
  done = true;
  await smalls;
  t.proc.kill('SIGUSR2');
  t.n += 2;
  const file = `${t.loop}.${t.n}`;
  for (let i = 0; i < 100; i++) {
    try {
      const loop = JSON.parse(readFileSync(file, 'utf8'));
      agent.destroy();
      return { big: b, worstSmallMs: worst, smallCalls: count, loop };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`no loop figures in ${file}`);
}

const rows = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of round % 2 ? [...targets].reverse() : targets) {
      const r = await once(t);
      if (r.big.bytes !== answer.length) throw new Error(`${t.name}: the big answer came with ${r.big.bytes} bytes`);
      rows.push({ target: t.name, ...r, load: loadavg()[0] });
      process.stderr.write(
        `${t.name}: big ${r.big.status} (${(answer.length / 1048576).toFixed(2)} MB, ${CALLS} tool calls) in ${r.big.ms.toFixed(0)} ms, worst small ${r.worstSmallMs.toFixed(1)} ms (${r.smallCalls} calls), loop max ${r.loop.maxMs.toFixed(1)} ms, load ${loadavg()[0].toFixed(2)}\n`,
      );
    }
  }
} finally {
  for (const t of targets) t.proc.kill('SIGTERM');
  sim.kill('SIGTERM');
  upstream.close();
}

console.log(
  `\n${(answer.length / 1048576).toFixed(2)} MB answer, ${CALLS} tool calls, ${ROUNDS} rounds, upper median (max) over rounds`,
);
console.log('| target | big call ms | worst small call ms | loop max ms | load |');
console.log('|---|---|---|---|---|');
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const t of targets) {
  const rs = rows.filter((r) => r.target === t.name);
  const f = (xs) => `${med(xs).toFixed(0)} (${Math.max(...xs).toFixed(0)})`;
  console.log(
    `| ${t.name} | ${f(rs.map((r) => r.big.ms))} | ${f(rs.map((r) => r.worstSmallMs))} | ${f(rs.map((r) => r.loop.maxMs))} | ${med(rs.map((r) => r.load)).toFixed(2)} |`,
  );
}
rmSync(dir, { recursive: true, force: true });
process.exit(0);
