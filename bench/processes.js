// Shared by the benchmarks: a free loopback port, and a child Node process started from the repository root that
// resolves once its output matches a readiness pattern (and rejects, with its last output, if it exits first).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { isAbsolute, join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/**
 * The node flags an llmscope checkout's `bin/llmscope.js` starts node with when run as a command (its first lines:
 * `#!/bin/sh`, then `... exec node FLAGS "$0" "$@"`), so a benchmark runs `llmscope` as `npx llmscope serve` does, not as
 * a bare `node bin/llmscope.js`. An older checkout (`#!/usr/bin/env node`) gives none.
 */
export function binNodeFlags(bin) {
  const head = readFileSync(bin, 'utf8').slice(0, 400);
  const m = /exec node (.*?) "\$0"/.exec(head);
  return m ? m[1].trim().split(/\s+/) : [];
}

/**
 * `node ...args` in the repository root; `stdout` is where its standard output goes ('pipe' to watch it too). When
 * the script is an llmscope `bin/llmscope.js`, node gets that bin's own flags first (binNodeFlags), then `nodeFlags`.
 */
export function start(args, readyPattern, env = {}, stdout = 'pipe', nodeFlags = []) {
  const bin = args.find((a) => /(^|\/)bin\/llmscope\.js$/.test(a));
  // `nodeFlags` after the bin's own: V8 takes a flag's last value (a bench comparing another young generation).
  const flags = [...(bin ? binNodeFlags(isAbsolute(bin) ? bin : join(ROOT, bin)) : []), ...nodeFlags];
  const p = spawn(process.execPath, [...flags, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', stdout, 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d) => {
      out += d.toString();
      if (readyPattern.test(out)) resolve(p);
    };
    p.stdout?.on('data', onData);
    p.stderr.on('data', onData);
    p.once('exit', (c) => reject(new Error(`${args.join(' ')} exited ${c}: ${out.slice(-2000)}`)));
  });
}

/**
 * `llmscope simulate` (of the checkout at `root`, default the working directory's) on loopback `port`, answering
 * after `ttftMs`, then a token every `tpotMs`, `outputTokens` of them; resolves once it listens.
 */
export function startSimulator(port, { ttftMs = 0, tpotMs = 0, outputTokens = 16, root = '.' } = {}) {
  const args = ['--port', port, '--ttft-ms', ttftMs, '--tpot-ms', tpotMs, '--output-tokens', outputTokens];
  return start([join(root, 'bin', 'llmscope.js'), 'simulate', ...args.map(String)], /127\.0\.0\.1/);
}

/**
 * A process that reads and discards what it is given, standing in for a log shipper: llmscope's JSON logs go down a
 * pipe to it (its `stdin`), as they would in production, rather than to a terminal or nowhere.
 */
export const logShipper = () => spawn('sh', ['-c', 'exec cat > /dev/null'], { stdio: ['pipe', 'ignore', 'inherit'] });

/** A process and every process under it (Linux /proc; just the process elsewhere). */
export function processTree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const kids = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    } catch {
      /* gone, or not Linux */
    }
  }
  return out;
}

/**
 * CPU seconds a process and its children now running have used (Linux /proc; null elsewhere). On a shared machine
 * req/s swings with the neighbours' load, while a proxy's CPU per request is steadier: it is the cost that bounds
 * its throughput. With workers, every process counts, so N llmscope workers and their recorder are compared with N
 * bare proxy processes and their primary.
 */
export function cpuSeconds(pid) {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8');
      const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
      total += (Number(v[11]) + Number(v[12])) / 100;
    } catch {
      if (p === pid) return null;
    }
  }
  return total;
}
