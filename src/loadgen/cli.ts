// `llmscope bench`: load-test any OpenAI-compatible endpoint; percentiles and throughput, progress bar, --json.
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { type Percentiles, runLoad } from './index.js';

const int = (name: string, v: string, min = 1): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
};

const row = (name: string, p: Percentiles | null) =>
  p
    ? `${name.padEnd(14)} ${[p.p50, p.p90, p.p95, p.p99, p.max].map((v) => v.toFixed(1).padStart(9)).join('')}`
    : `${name.padEnd(14)}        –`;

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('load-test an OpenAI-compatible endpoint: TTFT/TPOT/latency percentiles and throughput')
    .requiredOption('--url <url>', 'base URL, e.g. http://127.0.0.1:8080/v1')
    .option('--model <m>', 'model', 'gpt-4o-mini')
    .option('--concurrency <c>', 'requests in flight', '8')
    .option('--requests <n>', 'requests to send', '200')
    .option('--max-tokens <n>', 'max_tokens of each request')
    .option('--stream', 'stream responses (measures TTFT and TPOT)', false)
    .option('--api-key <key>', 'API key (default: $OPENAI_API_KEY)')
    .option('--json', 'print the summary as JSON', false)
    .action(
      async (o: {
        url: string;
        model: string;
        concurrency: string;
        requests: string;
        maxTokens?: string;
        stream: boolean;
        apiKey?: string;
        json: boolean;
      }) => {
        const requests = int('requests', o.requests);
        const bar =
          o.json || !process.stderr.isTTY
            ? null
            : new SingleBar({ format: 'bench [{bar}] {value}/{total} requests | {errors} errors', hideCursor: true });
        let errors = 0;
        bar?.start(requests, 0, { errors });
        const { summary } = await runLoad({
          url: o.url,
          model: o.model,
          concurrency: int('concurrency', o.concurrency),
          requests,
          stream: o.stream,
          maxTokens: o.maxTokens ? int('max-tokens', o.maxTokens) : undefined,
          apiKey: o.apiKey ?? process.env.OPENAI_API_KEY,
          onResult: (r, done) => {
            if (!r.ok) errors++;
            bar?.update(done, { errors });
          },
        });
        bar?.stop();
        if (o.json) {
          process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
          return;
        }
        const lines = [
          `${summary.requests} requests in ${summary.durationS.toFixed(2)} s, ${summary.errors} errors`,
          `throughput     ${summary.requestsPerS.toFixed(1)} requests/s, ${summary.outputTokensPerS.toFixed(0)} output tokens/s`,
          '',
          `${'ms'.padEnd(14)} ${['p50', 'p90', 'p95', 'p99', 'max'].map((h) => h.padStart(9)).join('')}`,
          row('latency', summary.latencyMs),
          row('TTFT', summary.ttftMs),
          row('TPOT', summary.tpotMs),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
        if (summary.errors === summary.requests) process.exitCode = 1;
      },
    );
}
