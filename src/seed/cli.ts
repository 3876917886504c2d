// `npm run seed -- --calls N --days D [--store URL] [--seed S] [--users U] [--span-days D]`: fills a store with
// realistic history (see generate.ts), with a progress bar. The store defaults to storage.url from the config.
import { Command } from 'commander';
import { progressBar } from '../cli/progress.js';
import { loadConfig } from '../config/index.js';
import { createStore } from '../store/index.js';
import { seedStore } from './seed.js';

const positive = (name: string) => (v: string) => {
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${v}"`);
  return n;
};

const nonNegative = (name: string) => (v: string) => {
  const n = Number(v.replace(/_/g, ''));
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`--${name} must be 0 or more, got "${v}"`);
  return n;
};

export async function main(argv: string[]): Promise<void> {
  const program = new Command('seed')
    .description('fill a llmscope store with realistic call history (for demos and benchmarks)')
    .option('--calls <n>', 'calls to write', positive('calls'), 1_000_000)
    .option('--days <n>', 'days of history, ending now', positive('days'), 30)
    .option('--store <url>', 'storage URL (default: storage.url of the config, sqlite:./llmscope-data/llmscope.db)')
    .option('--seed <n>', 'random seed (same seed, same history)', positive('seed'), 1)
    .option('--users <n>', 'distinct users', positive('users'), 500)
    .option('--end <time>', 'end of the history (ISO 8601; default now)')
    .option(
      '--span-days <n>',
      'days (before the end) whose calls get trace spans; ~4 KB a call in SQLite',
      nonNegative('span-days'),
      1,
    )
    .parse(argv, { from: 'user' });
  const o = program.opts<{
    calls: number;
    days: number;
    store?: string;
    seed: number;
    users: number;
    end?: string;
    spanDays: number;
  }>();
  const url = o.store ?? loadConfig().storage.url;
  const end = o.end ? Date.parse(o.end) : Date.now();
  if (!Number.isFinite(end)) throw new Error(`--end must be an ISO 8601 time, got "${o.end}"`);
  const store = createStore(url);
  await store.migrate();
  // drawn only on a terminal (else a line every 5 s), and it gives the terminal its cursor back on Ctrl-C
  const drawn = progressBar(
    'seed [{bar}] {percentage}% | {value}/{total} calls | {rate} calls/s | eta {eta_formatted}',
  );
  const bar = drawn.shown ? drawn : null;
  const calls = Math.round(o.calls);
  bar?.start(calls, { rate: 0 });
  const t0 = performance.now();
  let lastLog = 0;
  try {
    const r = await seedStore(store, {
      calls,
      days: o.days,
      end,
      seed: Math.round(o.seed),
      users: Math.round(o.users),
      spanDays: o.spanDays,
      onProgress(done, total) {
        const rate = Math.round(done / ((performance.now() - t0) / 1000));
        if (bar) bar.update(done, { rate });
        else if (performance.now() - lastLog > 5000 || done === total) {
          lastLog = performance.now();
          process.stderr.write(`seed: ${done}/${total} calls (${rate} calls/s)\n`);
        }
      },
    });
    bar?.stop();
    process.stderr.write(
      `seeded ${r.calls} calls from ${new Date(r.from).toISOString()} to ${new Date(r.to).toISOString()} into ${url} in ${r.seconds.toFixed(1)} s\n`,
    );
  } finally {
    bar?.stop();
    await store.close();
  }
}
