// Shared by the benchmarks: a free loopback port, and a child Node process started from the repository root that
// resolves once its output matches a readiness pattern (and rejects, with its last output, if it exits first).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

const ROOT = new URL('..', import.meta.url).pathname;

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** `node ...args` in the repository root; `stdout` is where its standard output goes ('pipe' to watch it too). */
export function start(args, readyPattern, env = {}, stdout = 'pipe') {
  const p = spawn(process.execPath, args, {
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
