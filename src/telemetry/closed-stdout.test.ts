// createLogger's stdout after its reader has gone (`llmscope serve | head`, a log shipper that exited): the process
// neither hangs nor crashes, and the lines it could not write are counted. Run in a child process, since the
// failure this guards against is a process that never exits.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Beside node_modules, so that the bundle's `import 'pino'` resolves.
const dir = fileURLToPath(new URL(`../../node_modules/.cache/llmscope-closed-stdout-${process.pid}/`, import.meta.url));
const logging = `${dir}logging.mjs`;

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  await build({
    entryPoints: [fileURLToPath(new URL('./logging.ts', import.meta.url))],
    outfile: logging,
    bundle: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    logLevel: 'silent',
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `body` in a child whose stdout reader is closed at once; resolves with its exit code and the lines it says were dropped. */
function runWithClosedStdout(
  shared: string,
  body: string,
): Promise<{ code: number | null; dropped: number; hung: boolean }> {
  const script = `
import { writeSync } from 'node:fs';
import { createLogger } from ${JSON.stringify(logging)};
let dropped = 0;
const log = createLogger({ sharedStdout: process.env.SHARED === '1', onDrop: (n) => { dropped += n; writeSync(2, 'dropped ' + dropped + '\\n'); } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await sleep(300); // the reader is gone by now; nothing was written yet
${body}
`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: dir,
    env: { ...process.env, SHARED: shared },
  });
  child.stdout.destroy();
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
    }, 5_000);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      const counts = [...err.matchAll(/dropped (\d+)/g)].map((m) => Number(m[1]));
      if (code !== 0 && signal !== 'SIGKILL') process.stderr.write(err);
      resolve({ code, dropped: counts.at(-1) ?? 0, hung: signal === 'SIGKILL' });
    });
  });
}

describe.each(['0', '1'])('createLogger on a stdout whose reader has gone (sharedStdout=%s)', (shared) => {
  it('exits at once when process.exit comes while lines still wait, and counts them', async () => {
    // The first line is in flight (an async write) when the others queue behind it; process.exit comes before the
    // write's EPIPE is seen, so pino's exit handler flushes the queue synchronously.
    const r = await runWithClosedStdout(
      shared,
      `for (let i = 0; i < 3; i++) log.info({ i }, 'line'); process.exit(0);`,
    );
    expect(r.hung).toBe(false);
    expect(r.code).toBe(0);
    expect(r.dropped).toBeGreaterThanOrEqual(2);
  });

  it('counts every line written after the reader went, and keeps running', async () => {
    const r = await runWithClosedStdout(
      shared,
      `
log.info('first');
await sleep(200); // its write fails with EPIPE
for (let i = 0; i < 5; i++) log.info({ i }, 'later');
await new Promise((ok) => log.flush(() => ok()));
await sleep(100);
writeSync(2, 'still running\\n');
process.exit(0);`,
    );
    expect(r.hung).toBe(false);
    expect(r.code).toBe(0);
    expect(r.dropped).toBe(6);
  });
});
