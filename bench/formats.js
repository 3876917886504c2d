import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { oneRequest, percentiles } from '../dist/loadgen/index.js';
import { binNodeFlags, freePort, logShipper, start, startSimulator } from './processes.js';

const ROOT = new URL('..', import.meta.url).pathname;
const quick = process.argv.includes('--quick');
const SEQ = quick ? 150 : 800;
const ROUND_MS = quick ? 1000 : 3000;
const CONCURRENCY = 16;

const FORMATS = [
  {
    name: 'chat completions',
    path: () => '/v1/chat/completions',
    body: (stream) =>
      JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Benchmark me.' }], stream }),
    headers: {},
  },
  {
    name: 'Anthropic messages',
    path: () => '/v1/messages',
    body: (stream) =>
      JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'Benchmark me.' }],
        stream,
      }),
    headers: { 'x-api-key': 'bench', 'anthropic-version': '2023-06-01' },
  },
  {
    name: 'OpenAI responses',
    path: () => '/v1/responses',
    body: (stream) => JSON.stringify({ model: 'gpt-4o-mini', input: 'Benchmark me.', stream }),
    headers: {},
  },
  {
    name: 'Gemini generateContent',
    path: (stream) =>
      stream
        ? '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse'
        : '/v1beta/models/gemini-2.5-flash:generateContent',
    body: () => JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Benchmark me.' }] }] }),
    headers: { 'x-goog-api-key': 'bench' },
  },
];

const [simPort, barePort, scopePort] = [await freePort(), await freePort(), await freePort()];
const dir = mkdtempSync(join(tmpdir(), 'llmscope-bench-formats-'));
const sim = await startSimulator(simPort, { ttftMs: 0, tpotMs: 0, outputTokens: 16 });
const origin = `http://127.0.0.1:${simPort}`;
const config = join(dir, 'llmscope.yaml');
writeFileSync(
  config,
  [
    'providers:',
    `  - { name: sim, baseUrl: "${origin}/v1" }`,
    `  - { name: anthropic-sim, type: anthropic, baseUrl: "${origin}/v1", models: ["claude-*"] }`,
    `  - { name: gemini-sim, type: gemini, baseUrl: "${origin}/v1beta", models: ["gemini-*"] }`,
    '',
  ].join('\n'),
);
const bare = await start(
  [...binNodeFlags(join(ROOT, 'bin', 'llmscope.js')), 'bench/bare-proxy.js', String(barePort), origin],
  /ready/,
);
// llmscope's JSON logs go to a process of their own that discards them, as a log shipper would (see gateway.js).
const shipper = logShipper();
const scope = await start(
  ['bin/llmscope.js', 'serve', '--config', config, '--port', String(scopePort)],
  /serving on/,
  { LLMSCOPE_STORAGE_URL: `sqlite:${join(dir, 'bench.db')}` },
  shipper.stdin,
);
const targets = [
  { name: 'direct', origin },
  { name: 'bare proxy', origin: `http://127.0.0.1:${barePort}`, proc: bare },
  { name: 'llmscope', origin: `http://127.0.0.1:${scopePort}`, proc: scope },
];
for (const t of targets) t.pool = new Pool(t.origin, { connections: CONCURRENCY, pipelining: 1 });

/** CPU seconds a child process has used (Linux /proc; null elsewhere). */
function cpuSeconds(proc) {
  try {
    const f = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
    const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(v[11]) + Number(v[12])) / 100;
  } catch {
    return null;
  }
}

async function call(t, format, stream) {
  const headers = { 'content-type': 'application/json', ...format.headers };
  const r = await oneRequest(t.pool, format.path(stream), format.body(stream), headers, stream);
  if (!r.ok) throw new Error(`${t.name} ${format.name}${stream ? ' (stream)' : ''}: ${r.status} ${r.error ?? ''}`);
  return r;
}

async function closedLoop(t, format, stream) {
  const deadline = performance.now() + ROUND_MS;
  let n = 0;
  const c0 = t.proc ? cpuSeconds(t.proc) : null;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        await call(t, format, stream);
        n++;
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  const c1 = t.proc ? cpuSeconds(t.proc) : null;
  return { rps: n / s, cpuUs: c0 === null || c1 === null ? null : ((c1 - c0) / n) * 1e6 };
}

const f = (x) => x.toFixed(3);
const rows = [];
try {
  for (const format of FORMATS)
    for (const t of targets)
      for (const stream of [false, true]) for (let i = 0; i < 50; i++) await call(t, format, stream);
  for (const format of FORMATS)
    for (const stream of [false, true]) {
      const label = `${format.name}${stream ? ', streamed' : ''}`;
      process.stderr.write(
        `${label}: ${SEQ} sequential requests per target, then ${ROUND_MS / 1000} s at c=${CONCURRENCY}...\n`,
      );
      const lat = Object.fromEntries(targets.map((t) => [t.name, []]));
      const fb = Object.fromEntries(targets.map((t) => [t.name, []]));
      for (let i = 0; i < SEQ; i++)
        for (let k = 0; k < targets.length; k++) {
          const t = targets[(i + k) % targets.length];
          const r = await call(t, format, stream);
          lat[t.name].push(r.latencyMs);
          fb[t.name].push(r.firstByteMs ?? r.latencyMs);
        }
      const p = Object.fromEntries(targets.map((t) => [t.name, percentiles(lat[t.name])]));
      const pf = Object.fromEntries(targets.map((t) => [t.name, percentiles(fb[t.name])]));
      const tp = {};
      for (const t of targets) tp[t.name] = await closedLoop(t, format, stream);
      const added = (name) => ({ p50: p[name].p50 - p.direct.p50, p99: p[name].p99 - p.direct.p99 });
      const [b, s] = [added('bare proxy'), added('llmscope')];
      rows.push(
        `| ${label} | ${f(b.p50)} | ${f(s.p50)} | ${f(b.p99)} | ${f(s.p99)} | ${f(pf.llmscope.p50 - pf['bare proxy'].p50)} | ` +
          `${((tp.llmscope.rps / tp['bare proxy'].rps) * 100).toFixed(1)}% | ${tp['bare proxy'].cpuUs?.toFixed(0) ?? '–'} | ${tp.llmscope.cpuUs?.toFixed(0) ?? '–'} |`,
      );
    }
} finally {
  for (const t of targets) await t.pool.close();
  for (const p of [scope, bare, sim, shipper]) p.kill('SIGTERM');
  if (scope.exitCode === null && scope.signalCode === null) await new Promise((r) => scope.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${release()}, Node ${process.version}`;
const section = [
  '## Gateway: every wire format',
  '',
  `Run ${new Date().toISOString()} on ${machine}${quick ? ' (--quick)' : ''} by \`npm run bench:formats\`. Simulator with zero delay, 16 output tokens, speaking each format; ${SEQ} sequential requests per target and format (direct, bare proxy, llmscope interleaved), then ${ROUND_MS / 1000} s per target at concurrency ${CONCURRENCY}. llmscope with full recording (SQLite store, metrics, JSON logs to a pipe). Added latency is over going direct; the bare proxy (node:http + undici, bytes piped) is the floor any Node proxy can reach.`,
  '',
  '| format | bare proxy added p50 ms | llmscope added p50 ms | bare added p99 ms | llmscope added p99 ms | llmscope first byte − bare ms | llmscope throughput of bare | bare CPU µs/req | llmscope CPU µs/req |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows,
  '',
].join('\n');
process.stdout.write(`${section}\n`);
const file = join(ROOT, 'bench', 'RESULTS.md');
let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
const re = /## Gateway: every wire format\n[\s\S]*?(?=\n## |$)/;
doc = re.test(doc) ? doc.replace(re, section) : `${doc.trimEnd()}\n\n${section}\n`;
writeFileSync(file, doc);
