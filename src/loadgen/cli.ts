// `llmscope bench`: load-test any OpenAI-compatible endpoint; percentiles and throughput, progress bar, --json.
// Failed requests are counted by cause (ECONNREFUSED, HTTP 429, timeout, ...); when every request failed there is no
// throughput or latency to report, so none is printed, and the exit code is 1.
import type { Command } from 'commander';
import { LlmscopeError } from '../errors.js';
import type { Percentiles, Summary } from './index.js';

const int = (name: string, v: string, min = 1): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', `--${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
};

const row = (name: string, p: Percentiles | null) =>
  p
    ? `${name.padEnd(14)} ${[p.p50, p.p90, p.p95, p.p99, p.max].map((v) => v.toFixed(1).padStart(9)).join('')}`
    : `${name.padEnd(14)}        –`;

export interface BenchFlags {
  url: string;
  model: string;
  concurrency: string;
  requests: string;
  maxTokens?: string;
  timeout?: string;
  stream: boolean;
  apiKey?: string;
  json: boolean;
}

export interface BenchIo {
  out: (s: string) => void;
  env?: NodeJS.ProcessEnv;
  progressStream?: NodeJS.WriteStream;
}

/** The summary as text: the error causes first when there are any, throughput and percentiles only when some succeeded. */
export function formatSummary(summary: Summary, url: string): string {
  const lines = [
    `${summary.requests} requests to ${url} in ${summary.durationS.toFixed(2)} s: ${summary.ok} ok, ${summary.errors} failed`,
  ];
  if (summary.errorCauses.length > 0) {
    lines.push('errors by cause:');
    for (const c of summary.errorCauses)
      lines.push(`  ${String(c.count).padStart(6)}  ${c.cause}${c.example ? `  (${c.example})` : ''}`);
  }
  if (summary.requestsPerS === null) {
    lines.push('', 'every request failed: no throughput or latency to report');
    return lines.join('\n');
  }
  lines.push(
    `throughput     ${summary.requestsPerS.toFixed(1)} successful requests/s, ${(summary.outputTokensPerS ?? 0).toFixed(0)} output tokens/s`,
    '',
    `${'ms'.padEnd(14)} ${['p50', 'p90', 'p95', 'p99', 'max'].map((h) => h.padStart(9)).join('')}`,
    row('latency', summary.latencyMs),
    row('TTFT', summary.ttftMs),
    row('TPOT', summary.tpotMs),
  );
  return lines.join('\n');
}

/** Runs the bench; returns the exit code (1 when every request failed). */
export async function benchCommand(o: BenchFlags, io: BenchIo): Promise<number> {
  const requests = int('requests', o.requests);
  const concurrency = int('concurrency', o.concurrency);
  const maxTokens = o.maxTokens ? int('max-tokens', o.maxTokens) : undefined;
  const timeoutMs = o.timeout ? int('timeout', o.timeout) * 1000 : undefined;
  let url: URL;
  try {
    url = new URL(o.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `--url must be an http(s) base URL such as http://127.0.0.1:8080/v1, got "${o.url}"`,
    );
  }
  // loaded here, not at the top: `llmscope --help` and the other commands need none of it
  const [{ progressBar }, { runLoad }] = await Promise.all([import('../cli/progress.js'), import('./index.js')]);
  const bar = progressBar('bench [{bar}] {value}/{total} requests | {errors} errors | ETA {eta_formatted}', {
    stream: io.progressStream,
    quiet: o.json,
  });
  let errors = 0;
  bar.start(requests, { errors });
  let summary: Summary;
  try {
    ({ summary } = await runLoad({
      url: url.href,
      model: o.model,
      concurrency,
      requests,
      stream: o.stream,
      maxTokens,
      timeoutMs,
      apiKey: o.apiKey ?? (io.env ?? process.env).OPENAI_API_KEY,
      onResult: (r, done) => {
        if (!r.ok) errors++;
        bar.update(done, { errors });
      },
    }));
  } finally {
    bar.stop();
  }
  if (o.json) io.out(`${JSON.stringify(summary, null, 2)}\n`);
  else io.out(`${formatSummary(summary, o.url)}\n`);
  return summary.ok === 0 ? 1 : 0;
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('load-test an OpenAI-compatible endpoint: TTFT/TPOT/latency percentiles and throughput')
    .requiredOption('--url <url>', 'base URL, e.g. http://127.0.0.1:8080/v1')
    .option('--model <m>', 'model', 'gpt-4o-mini')
    .option('--concurrency <c>', 'requests in flight', '8')
    .option('--requests <n>', 'requests to send', '200')
    .option('--max-tokens <n>', 'max_tokens of each request')
    .option('--timeout <s>', 'seconds to wait for a response (headers, then each body chunk) before counting a timeout')
    .option('--stream', 'stream responses (measures TTFT and TPOT)', false)
    .option('--api-key <key>', 'API key (default: $OPENAI_API_KEY)')
    .option('--json', 'print the summary as JSON', false)
    .action(async (o: BenchFlags) => {
      const code = await benchCommand(o, { out: (s) => process.stdout.write(s) });
      if (code !== 0) process.exitCode = code;
    });
}
