// The built `llmscope` command run literally, as a user types it (QA27, round two of QA17's sweep): what a bad
// config file, input line, bill path or listen address gets is one line naming what to fix, never node's or zod's
// own words ("received undefined", "EISDIR", "getaddrinfo"). Needs `npm run build` first (dist/), as bin/llmscope.js
// does.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/llmscope.js', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `llmscope ...args` in `cwd` with a clean LLMSCOPE_* environment; kills it after `timeoutMs`. */
function llmscope(cwd: string, args: string[], timeoutMs = 30_000): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LLMSCOPE_')));
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`llmscope ${args.join(' ')} did not exit within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    p.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmscope-qa27-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a required field that is missing', () => {
  it('check-config says the field is required, not "expected string, received undefined"', async () => {
    const file = join(dir, 'no-name.yaml');
    writeFileSync(file, 'providers:\n  - baseUrl: http://127.0.0.1:8081/v1\n');
    const r = await llmscope(dir, ['check-config', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: providers[0].name: required (a string), missing`);
    expect(r.stderr).not.toMatch(/undefined/);
  });

  it('quality score names the line and the missing field, and still scores the good lines', async () => {
    const input = join(dir, 'answers.jsonl');
    writeFileSync(
      input,
      `${JSON.stringify({ id: 'a', context: 'Paris is the capital of France.', response: 'Paris is the capital of France.' })}\n` +
        `${JSON.stringify({ id: 'b', context: 'Paris is the capital of France.' })}\n`,
    );
    const r = await llmscope(dir, ['quality', 'score', '--input', input]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${input}:2: response: required (a string), missing`);
    expect(r.stderr).not.toMatch(/undefined/);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['a']);
  });
});

describe('reconcile --bill a folder', () => {
  it('says it is a folder, naming --bill, in one line (not node\'s "EISDIR: illegal operation")', async () => {
    const folder = join(dir, 'bills');
    mkdirSync(folder);
    const r = await llmscope(dir, ['reconcile', '--bill', folder]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`llmscope: cannot read --bill ${folder}: a folder, not a file\n`);
  });
});

describe('simulate --host that is not an address of this machine', () => {
  it('says so and how to fix it, as serve does (not "listen EADDRNOTAVAIL")', async () => {
    // 192.0.2.1: TEST-NET-1 (RFC 5737), never a local address
    const r = await llmscope(dir, ['simulate', '--host', '192.0.2.1', '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'llmscope: cannot listen on 192.0.2.1:0: 192.0.2.1 is not an address of this machine; use --host 127.0.0.1 or 0.0.0.0\n',
    );
  });
});
