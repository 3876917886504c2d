// node bench/hostile-stall.js [--compare DIR] [--mb 40] [--rounds 3] [--shapes a,b]: how long one large call holds the
// gateway's event loop. llmscope serves in front of the simulator; while one large chat call (inside
// server.bodyLimit) goes through, a small call is sent again and again on another connection, and the slowest small
// call is what another client sees. The ingest-* and otlp-* shapes send the large body to POST /api/ingest (10,000
// records of ~MB/10,000 bytes each; or MB of small records, over the 10,000 a batch takes: 400) or to POST /v1/traces
// (LLM spans, JSON or protobuf, at most 15 MiB: OTLP's limit is 16) instead; the small calls are gateway calls still. The event loop's largest delay inside llmscope (bench/loop-delay-hook.cjs) is
// reported beside it. With --compare DIR, the llmscope built in DIR runs too, alternating with this one per round.
// --node-flags a,b: node flags for the llmscopes (--cpu-prof,--cpu-prof-dir=DIR: a CPU profile of each, written when
// it stops). Prints a table; writes nothing.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spanEncoder } from './ingest-otlp.js';
import { freePort, start } from './processes.js';

const ROOT = new URL('..', import.meta.url).pathname;
const arg = (name, dflt) => {
  const at = process.argv.indexOf(name);
  return at === -1 ? dflt : process.argv[at + 1];
};
const compareDir = arg('--compare', null);
const MB = Number(arg('--mb', '40'));
const ROUNDS = Number(arg('--rounds', '3'));
const nodeFlags = (arg('--node-flags', '') ?? '').split(',').filter(Boolean);
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
/** The largest OTLP body the shapes send (llmscope takes at most 20 MiB; 16 MiB before session 30, which these runs kept under). */
const OTLP_MAX = 15 * 1024 * 1024;
let otlpRun = 1;
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
  // 10,000 ingested calls (a batch's most), each with metadata (at most 20 keys of 256) and an error message (2,048)
  // filled out to bytes / 10,000 (~7.8 KB a record at most).
  'ingest-records': () => {
    const per = Math.floor(bytes / 10_000);
    const meta = {};
    let size = 250;
    for (let k = 0; k < 20 && size < per; k++) {
      const v = prose(Math.min(250, per - size - 12), k);
      meta[`key-${k}`] = v;
      size += v.length + 12;
    }
    const msg = size < per ? prose(Math.min(2000, per - size), 99) : undefined;
    const now = Date.now();
    return {
      calls: Array.from({ length: 10_000 }, (_, i) => ({
        started_at: now - 5000 + (i % 1000),
        provider: 'openai',
        model: 'gpt-4o-mini',
        input_tokens: 100 + (i % 50),
        output_tokens: 20,
        latency_ms: 300,
        user: `user-${i % 100}`,
        ...(msg ? { status: 'error', http_status: 500, error_message: msg } : {}),
        metadata: meta,
      })),
    };
  },
  // bytes of small records: more than a batch takes (10,000), so 400; the whole body is read and parsed first.
  'ingest-over': () => {
    const now = Date.now();
    return Array.from({ length: Math.floor(bytes / 120) }, (_, i) => ({
      started_at: now - (i % 1000),
      provider: 'openai',
      model: 'gpt-4o-mini',
      input_tokens: i % 1000,
      output_tokens: 20,
    }));
  },
  // An OTLP/HTTP JSON export of LLM spans (one trace each), up to 15 MiB.
  'otlp-json': () => {
    const tag = (Date.now() % 1e12).toString(16).padStart(10, '0');
    const now = Date.now();
    const str = (key, v) => ({ key, value: { stringValue: v } });
    const span = (i) => ({
      traceId: `${tag}${(otlpRun * 1e7 + i).toString(16).padStart(22, '0')}`,
      spanId: (i + 1).toString(16).padStart(16, '0'),
      name: 'chat gpt-4o-mini',
      kind: 3,
      startTimeUnixNano: String((now - 2000) * 1e6),
      endTimeUnixNano: String((now - 1500) * 1e6),
      attributes: [
        str('gen_ai.operation.name', 'chat'),
        str('gen_ai.provider.name', 'openai'),
        str('gen_ai.request.model', 'gpt-4o-mini'),
        { key: 'gen_ai.usage.input_tokens', value: { intValue: String(100 + (i % 900)) } },
        { key: 'gen_ai.usage.output_tokens', value: { intValue: String(20 + (i % 300)) } },
        str('user.id', `user-${i % 5000}`),
        str('session.id', `s-${Math.floor(i / 10)}`),
        str('llmscope.feature', `feature-${i % 8}`),
      ],
      status: { code: 1 },
    });
    const n = Math.floor(Math.min(bytes, OTLP_MAX) / (JSON.stringify(span(1)).length + 1));
    const spans = Array.from({ length: n }, (_, i) => span(i));
    otlpRun++;
    return {
      resourceSpans: [
        {
          resource: { attributes: [str('service.name', 'bench-app')] },
          scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-openai', version: '0.1.0' }, spans }],
        },
      ],
    };
  },
  // bench:ingest's spans as protobuf, up to 15 MiB.
  'otlp-proto': () => {
    const per = spanEncoder(100).encode('size', 0, Date.now()).length / 100;
    const n = Math.floor(Math.min(bytes, OTLP_MAX) / per) - 10;
    return spanEncoder(n).encode(`stall${otlpRun++}`, 0, Date.now());
  },
};
/** Where each shape is sent (a gateway chat call unless said), and as what. */
const ROUTES = {
  'ingest-records': { path: '/api/ingest' },
  'ingest-over': { path: '/api/ingest' },
  'otlp-json': { path: '/v1/traces', fresh: true },
  'otlp-proto': { path: '/v1/traces', type: 'application/x-protobuf', fresh: true },
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
  `server:
  bodyLimit: ${Math.max(50, MB + 10) * 1024 * 1024}
providers:
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

function post(port, body, agent, route = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: route.path ?? '/v1/chat/completions',
        agent,
        headers: { 'content-type': route.type ?? 'application/json', 'content-length': body.length },
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
async function once(t, big, route) {
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
  const b = await post(t.port, big, new Agent({ keepAlive: false }), route);
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
    const route = ROUTES[shape];
    const make = () => {
      const v = SHAPES[shape]();
      return Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v));
    };
    let body = make();
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of round % 2 ? [...targets].reverse() : targets) {
        // spans with ids of their own each time (a re-sent export would be duplicates, skipped)
        if (route?.fresh) body = make();
        const r = await once(t, body, route);
        rows.push({ shape, target: t.name, ...r, load: loadavg()[0] });
        process.stderr.write(
          `${shape} ${t.name}: big ${r.big.status} (${(body.length / 1048576).toFixed(1)} MB) in ${r.big.ms.toFixed(0)} ms, worst small ${r.worstSmallMs.toFixed(1)} ms (${r.smallCalls} calls), loop max ${r.loop.maxMs.toFixed(1)} ms, load ${loadavg()[0].toFixed(2)}\n`,
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
