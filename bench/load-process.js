// One load-generating process of bench:gateway's throughput rounds when one event loop cannot drive the target
// (--load-processes K): waits until the shared start time, runs the load, prints its summary as JSON.
// Usage: node bench/load-process.js '{"url":..., "concurrency":..., "durationMs":..., "stream":..., "startAt":...}'
import { Pool } from 'undici';
import { runLoad } from '../dist/loadgen/index.js';

const o = JSON.parse(process.argv[2]);
const pool = new Pool(new URL(o.url).origin, { connections: o.concurrency, pipelining: 1 });
await new Promise((r) => setTimeout(r, Math.max(0, o.startAt - Date.now())));
const { summary } = await runLoad({
  url: o.url,
  pool,
  concurrency: o.concurrency,
  durationMs: o.durationMs,
  stream: o.stream,
});
await pool.close();
process.stdout.write(
  `${JSON.stringify({ requests: summary.requests, errors: summary.errors, durationS: summary.durationS })}\n`,
);
