// node bench/hostile-stall.js [--compare DIR] [--mb 40] [--rounds 3] [--shapes a,b]: how long one large call holds the
// gateway's event loop. llmscope serves in front of the simulator; while one large chat call (inside
// server.bodyLimit) goes through, a small call is sent again and again on another connection, and the slowest small
// call is what another client sees. The event loop's largest delay inside llmscope (bench/loop-delay-hook.cjs) is
// reported beside it. With --compare DIR, the llmscope built in DIR runs too, alternating with this one per round.
// Prints a table; writes nothing.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, start } from './processes.js';

const ROOT = new URL('..', import.meta.url).pathname;
const arg = (name, dflt) => {
  const at = process.argv.indexOf(name);
  return at === -1 ? dflt : process.argv[at + 1];
};
const compareDir = arg('--compare', null);
const MB = Number(arg('--mb', '40'));
const ROUNDS = Number(arg('--rounds', '3'));
const dir = mkdtempSync(join(tmpdir(), 'llmscope-stall-'));

/** Words of ordinary prose, so redaction, tokenizing and quality checks see text like a real prompt's. */
function prose(chars, seed = 1) {
  const words = ['the', 'model', 'answer', 'question', 'context', 'of', 'a', 'document', 'with', 'numbers', '12345'];
  const parts = [];
  let n = 0;
  let s = seed;
  while (n < chars) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const w = words[s % words.length];
    parts.push(w);
    n += w.length + 1;
  }
  return parts.join(' ').slice(0, chars);
}

const bytes = MB * 1024 * 1024;
const SHAPES = {
  // One user message of one long string.
  'one-string': () => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prose(bytes) }] }),
  // One message of many small text parts.
  'many-parts': () => ({
    model: 'gpt-4o-mini',
    messages: [
      {
        role: 'user',
        content: Array.from({ length: Math.floor(bytes / 230) }, (_, i) => ({ type: 'text', text: prose(200, i) })),
      },
    ],
  }),
  // Many short messages.
  'many-messages': () => ({
    model: 'gpt-4o-mini',
    messages: Array.from({ length: Math.floor(bytes / 230) }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: prose(200, i),
    })),
  }),
  // Many tool definitions.
  tools: () => ({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
    tools: Array.from({ length: Math.floor(bytes / 400) }, (_, i) => ({
      type: 'function',
      function: {
        name: `tool_${i}`,
        description: prose(200, i),
        parameters: { type: 'object', properties: { a: { type: 'string', description: prose(60, i + 1) } } },
      },
    })),
  }),
  // One long string, streamed answer.
  'one-string-stream': () => ({
    model: 'gpt-4o-mini',
    stream: true,
    messages: [{ role: 'user', content: prose(bytes) }],
  }),
};
const shapes = (arg('--shapes', null) ?? Object.keys(SHAPES).join(',')).split(',');

// Two simulators: the large call's, and the small calls' (a simulator busy with 40 MB would slow them itself).
const simulator = async (port) =>
  start(
    [
      'bin/llmscope.js',
      'simulate',
      '--port',
      String(port),
      '--ttft-ms',
      '0',
      '--tpot-ms',
      '0',
      '--output-tokens',
      '16',
    ],
    /127\.0\.0\.1/,
  );
const [simPort, smallSimPort] = [await freePort(), await freePort()];
const sims = [await simulator(simPort), await simulator(smallSimPort)];
const configFile = join(dir, 'llmscope.yaml');
writeFileSync(
  configFile,
  `providers:
  - name: big
    baseUrl: http://127.0.0.1:${simPort}/v1
    models: ["gpt-*"]
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
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const small = Buffer.from(JSON.stringify({ model: 'small-model', messages: [{ role: 'user', content: 'hello' }] }));

/** The stall one large call causes: the slowest small call meanwhile, and the loop's largest delay. */
async function once(t, big) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  // Warm the small calls' connection and the loop monitor.
  for (let i = 0; i < 20; i++) await post(t.port, small, agent);
  await new Promise((r) => setTimeout(r, 300));
  t.proc.kill('SIGUSR2'); // reset the loop monitor
  await new Promise((r) => setTimeout(r, 100));
  let done = false;
  let worst = 0;
  let count = 0;
  const smalls = (async () => {
    while (!done) {
      const r = await post(t.port, small, agent);
      worst = Math.max(worst, r.ms);
      count++;
    }
  })();
  const b = await post(t.port, big, new Agent({ keepAlive: false }));
  // The call's record is made after its answer: keep measuring a while after.
  await new Promise((r) => setTimeout(r, 500));
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
  for (const shape of shapes) {
    const body = Buffer.from(JSON.stringify(SHAPES[shape]()));
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of round % 2 ? [...targets].reverse() : targets) {
        const r = await once(t, body);
        rows.push({ shape, target: t.name, ...r, load: loadavg()[0] });
        process.stderr.write(
          `${shape} ${t.name}: big ${r.big.status} in ${r.big.ms.toFixed(0)} ms, worst small ${r.worstSmallMs.toFixed(1)} ms (${r.smallCalls} calls), loop max ${r.loop.maxMs.toFixed(1)} ms, load ${loadavg()[0].toFixed(2)}\n`,
        );
      }
    }
  }
} finally {
  for (const t of targets) t.proc.kill('SIGTERM');
  for (const s of sims) s.kill('SIGTERM');
}

console.log(`\n${MB} MB bodies, ${ROUNDS} rounds each, upper median (max) over rounds`);
console.log('| shape | target | big call ms | worst small call ms | loop max ms | load |');
console.log('|---|---|---|---|---|---|');
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const shape of shapes)
  for (const t of targets) {
    const rs = rows.filter((r) => r.shape === shape && r.target === t.name);
    const f = (xs) => `${med(xs).toFixed(0)} (${Math.max(...xs).toFixed(0)})`;
    console.log(
      `| ${shape} | ${t.name} | ${f(rs.map((r) => r.big.ms))} | ${f(rs.map((r) => r.worstSmallMs))} | ${f(rs.map((r) => r.loop.maxMs))} | ${med(rs.map((r) => r.load)).toFixed(2)} |`,
    );
  }
rmSync(dir, { recursive: true, force: true });
