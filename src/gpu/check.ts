// `node dist/gpu/check.js [--seconds N] [--nvidia-smi PATH] [--expect-load]`: polls this host's GPUs through
// llmscope's own nvidia-smi collector and poller once a second, prints every reading and a summary.
// Exit 0 when a GPU was read (and, with --expect-load, seen busy), 1 when no GPU was read, 3 when the load was not seen.
// Run by scripts/gpu-check.sh; imports nothing outside node: built-ins and gpu/ so it can be bundled alone.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { NvidiaSmiCollector } from './nvidia-smi.js';
import { Poller, type PollOutcome } from './poller.js';
import { MIB } from './types.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    'nvidia-smi': { type: 'string', default: process.env.NVIDIA_SMI ?? 'nvidia-smi' },
    'expect-load': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const collector = new NvidiaSmiCollector({ path: values['nvidia-smi'], host: hostname() });
const started = performance.now();
const fmt = (v: number | null, digits = 0, unit = ''): string => (v === null ? 'n/a' : `${v.toFixed(digits)}${unit}`);

let polls = 0;
let readings = 0;
let maxUtil = -1;
let maxUtilGpu = '';
let maxMem = 0;
const reasons = new Set<string>();

function report(o: PollOutcome): void {
  polls++;
  const t = `+${((performance.now() - started) / 1000).toFixed(1)}s`;
  if (o.kind !== 'ok') {
    const why = o.kind === 'unavailable' ? `no GPU: ${o.reason}` : `failed: ${o.error}`;
    reasons.add(why);
    console.log(`${t} ${why}`);
    return;
  }
  readings++;
  for (const s of o.samples) {
    if (s.utilization !== null && s.utilization > maxUtil) {
      maxUtil = s.utilization;
      maxUtilGpu = s.gpu;
    }
    maxMem = Math.max(maxMem, s.memoryUsedBytes ?? 0);
    console.log(
      `${t} ${s.host} gpu ${s.gpu} ${s.name ?? '?'}: util ${fmt(s.utilization === null ? null : s.utilization * 100, 0, '%')}, ` +
        `mem ${fmt(s.memoryUsedBytes === null ? null : s.memoryUsedBytes / MIB)}/${fmt(s.memoryTotalBytes === null ? null : s.memoryTotalBytes / MIB)} MiB, ` +
        `${fmt(s.temperatureC, 0, '°C')}, ${fmt(s.powerW, 1, ' W')} (poll ${o.durationMs.toFixed(0)} ms)`,
    );
  }
}

const poller = new Poller({ collector, intervalMs: 1000, timeoutMs: 5000, onOutcome: report });
poller.start();
await new Promise((r) => setTimeout(r, seconds * 1000));
await poller.stop();

console.log('---');
console.log(`polls: ${polls}, with GPU readings: ${readings}`);
if (readings === 0) {
  console.log(`no GPU was read: ${[...reasons].join('; ') || 'no poll finished'}`);
  process.exit(1);
}
console.log(
  `max utilization: ${(maxUtil * 100).toFixed(0)}% (gpu ${maxUtilGpu}); max memory used: ${(maxMem / MIB).toFixed(0)} MiB`,
);
if (values['expect-load'] && maxUtil < 0.5) {
  console.log('a GPU load was running but no reading showed the GPU over 50% busy');
  process.exit(3);
}
process.exit(0);
