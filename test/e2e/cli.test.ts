// The built `llmscope` command as a new user runs it, from a scratch directory: what each command says and its exit
// code when something is wrong (no data yet, a bad config, a busy port, an endpoint that is down, bad input lines).
// Needs `npm run build` first (dist/), as bin/llmscope.js does.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
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
function llmscope(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LLMSCOPE_')));
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...clean, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`llmscope ${args.join(' ')} did not exit within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    // 'close', not 'exit': what it wrote last may still be in the pipes when 'exit' is emitted.
    p.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

const scratch = (): string => mkdtempSync(join(tmpdir(), 'llmscope-cli-'));

describe('the llmscope command, as a new user runs it', () => {
  it('is built', () => {
    expect(existsSync(new URL('../../dist/cli/main.js', import.meta.url))).toBe(true);
  });

  it('runs node with a 64 MB young generation when started as a command (its first lines), as `npx llmscope` does', async () => {
    // A preload prints the flags node was started with; the command itself runs as usual.
    const dir = scratch();
    const preload = join(dir, 'flags.cjs');
    writeFileSync(preload, "process.stderr.write('execArgv=' + JSON.stringify(process.execArgv) + '\\n');\n");
    const r = await new Promise<Run>((resolve, reject) => {
      const p = spawn(BIN, ['--version'], {
        cwd: dir,
        env: { ...process.env, NODE_OPTIONS: `--require ${preload}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.once('error', reject);
      p.once('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.stderr).toContain('execArgv=["--max-semi-space-size=64"]');
  });

  it('alerts backtest in a directory without data refuses, and creates no store', async () => {
    const dir = scratch();
    const r = await llmscope(dir, ['alerts', 'backtest', '--from', '7d']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no llmscope data at ${join(dir, 'llmscope-data', 'llmscope.db')}`);
    expect(r.stdout).not.toContain('notifications');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('check-config without a file checks what serve would start with (the defaults and LLMSCOPE_* variables), as DESIGN writes it: `check-config [--config FILE]`', async () => {
    const dir = scratch();
    const ok = await llmscope(dir, ['check-config']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('(no config file: defaults and environment): ok (0 providers, 0 routes)\n');
    expect(ok.stderr).toContain('warning: providers: no providers configured');
    // a variable serve would refuse is named, and the check fails
    const bad = await llmscope(dir, ['check-config'], { LLMSCOPE_HOST: '0.0.0.0' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('server.adminToken: server.host is 0.0.0.0 (not loopback)');
    expect(bad.stderr).toContain('serve would not start with this config (1 problem(s))');
    // nothing is created
    expect(readdirSync(dir)).toEqual([]);
  });

  it('check-config rejects what serve rejects (a mysql:// store), with the path', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'c.yaml'), 'storage:\n  url: mysql://u:p@db/llm\n');
    const check = await llmscope(dir, ['check-config', '--config', 'c.yaml']);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('c.yaml: storage.url: storage.url "mysql://u:p@db/llm" is not supported');
    const serve = await llmscope(dir, ['serve', '--config', 'c.yaml', '--port', '0']);
    expect(serve.code).toBe(1);
    expect(serve.stderr).toContain('is not supported');
    expect(readdirSync(dir)).toEqual(['c.yaml']);
  });

  describe('no open relay', () => {
    const relay =
      'server:\n  host: 0.0.0.0\n  adminToken: a-long-admin-token\nproviders:\n  - name: openai\n    baseUrl: http://127.0.0.1:9/v1\n    apiKeyEnv: UPSTREAM_KEY\n';

    it('off loopback with a server-side key and no virtual keys, serve refuses to start and check-config says so', async () => {
      const dir = scratch();
      writeFileSync(join(dir, 'c.yaml'), relay);
      const env = { UPSTREAM_KEY: 'sk-test', LLMSCOPE_STORAGE_URL: 'sqlite::memory:' };
      const serve = await llmscope(dir, ['serve', '--config', 'c.yaml', '--port', '0'], env);
      expect(serve.code).toBe(1);
      expect(serve.stderr).toContain('anyone who can reach this port could make LLM calls billed to that key');
      expect(serve.stderr).toContain('server.allowUnauthenticatedGateway: true');
      expect(serve.stderr).not.toContain('serving on');
      const check = await llmscope(dir, ['check-config', '--config', 'c.yaml'], env);
      expect(check.code).toBe(1);
      expect(check.stderr).toContain('c.yaml: keys: server.host is 0.0.0.0 (not loopback)');
    });

    /** Starts `serve` in the background; resolves with its base URL once it says it is serving. */
    function startServe(dir: string, env: NodeJS.ProcessEnv): Promise<{ base: string; stop: () => void }> {
      const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LLMSCOPE_')));
      const p = spawn(process.execPath, [BIN, 'serve', '--config', 'c.yaml', '--port', '0'], {
        cwd: dir,
        env: { ...clean, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      return new Promise((resolve, reject) => {
        let err = '';
        const t = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 20_000);
        p.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /serving on http:\/\/[^:]+:(\d+)/.exec(err);
          if (m) {
            clearTimeout(t);
            resolve({ base: `http://127.0.0.1:${m[1]}`, stop: () => p.kill('SIGKILL') });
          }
        });
        p.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
      });
    }

    /** An upstream that counts the calls reaching it. */
    async function countingUpstream(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
      let hits = 0;
      const s = createHttpServer((req, res) => {
        hits++;
        req.resume();
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id: 'x', object: 'chat.completion', model: 'gpt-4o-mini', choices: [] }));
      });
      await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
      return {
        url: `http://127.0.0.1:${(s.address() as { port: number }).port}/v1`,
        hits: () => hits,
        close: () => new Promise<void>((ok) => s.close(() => ok())),
      };
    }

    it('starts once the exposure is declared', async () => {
      const dir = scratch();
      writeFileSync(
        join(dir, 'c.yaml'),
        relay.replace('a-long-admin-token\n', 'a-long-admin-token\n  allowUnauthenticatedGateway: true\n'),
      );
      const env = { UPSTREAM_KEY: 'sk-test', LLMSCOPE_STORAGE_URL: 'sqlite::memory:' };
      const check = await llmscope(dir, ['check-config', '--config', 'c.yaml'], env);
      expect(check.code).toBe(0);
      expect(check.stdout).toContain('c.yaml: ok');
      const s = await startServe(dir, env);
      s.stop();
    });

    it('with virtual keys it starts, and a call without a key gets 401 and never reaches the upstream', async () => {
      const up = await countingUpstream();
      const dir = scratch();
      writeFileSync(
        join(dir, 'c.yaml'),
        `${relay.replace('http://127.0.0.1:9/v1', up.url)}keys:\n  - id: app\n    keyEnv: APP_KEY\n`,
      );
      const env = {
        UPSTREAM_KEY: 'sk-test',
        APP_KEY: 'lsk_test_0123456789abcdef',
        LLMSCOPE_STORAGE_URL: 'sqlite::memory:',
      };
      const s = await startServe(dir, env);
      try {
        const call = (auth?: string) =>
          fetch(`${s.base}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
            body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
          });
        const anon = await call();
        expect(anon.status).toBe(401);
        expect((await anon.json()).error.message).toContain('virtual key');
        expect(up.hits()).toBe(0);
        const keyed = await call('Bearer lsk_test_0123456789abcdef');
        expect(keyed.status).toBe(200);
        expect(up.hits()).toBe(1);
      } finally {
        s.stop();
        await up.close();
      }
    });
  });

  it('export into a folder it cannot make fails at once, naming the folder and the OS error', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'a-file'), '');
    const out = join(dir, 'a-file', 'export');
    const r = await llmscope(dir, ['export', 'prometheus', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `llmscope: cannot write the prometheus files into --out ${out}: ENOTDIR: not a directory, mkdir '${join(out, 'rules')}'\n`,
    );
    // Under /proc, Node's own mkdir -p retried forever (the command never exited: the helper kills it after 20 s).
    if (existsSync('/proc/self')) {
      const p = await llmscope(dir, ['export', 'grafana', '--out', '/proc/llmscope-export']);
      expect(p.code).toBe(1);
      expect(p.stderr).toMatch(
        /^llmscope: cannot write the grafana files into --out \/proc\/llmscope-export: ENOENT: /,
      );
      expect(p.stderr).not.toMatch(/\n\s+at /);
      expect(p.stdout).toBe('');
    }
  });

  describe('serve on a busy port', () => {
    let busy: Server;
    let port: number;
    beforeAll(async () => {
      busy = createServer();
      await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', ok));
      port = (busy.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((ok) => busy.close(() => ok())));

    it('prints one friendly line naming the port and --port, and exits 1', async () => {
      const dir = scratch();
      const r = await llmscope(dir, ['serve', '--port', String(port), '--upstream', 'http://127.0.0.1:9/v1']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`port ${port} is already in use on 127.0.0.1`);
      expect(r.stderr).toContain('--port N');
      expect(r.stderr).not.toContain('EADDRINUSE');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
      // nothing was opened: no store was created
      expect(readdirSync(dir)).toEqual([]);
    });
  });

  it('bench against a closed port reports the cause, no throughput, and exits 1', async () => {
    const s = createServer();
    await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((ok) => s.close(() => ok()));
    const r = await llmscope(scratch(), ['bench', '--url', `http://127.0.0.1:${port}/v1`, '--requests', '5']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('0 ok, 5 failed');
    expect(r.stdout).toMatch(/5 {2}ECONNREFUSED/);
    expect(r.stdout).not.toContain('requests/s');
    const j = await llmscope(scratch(), ['bench', '--url', `http://127.0.0.1:${port}/v1`, '--requests', '2', '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({
      ok: 0,
      errorCauses: [{ cause: 'ECONNREFUSED', count: 2 }],
      requestsPerS: null,
    });
  });

  it('reconcile names the bill file and line of a bad row', async () => {
    const dir = scratch();
    const db = join(dir, 'data.db');
    // a store that exists (reconcile refuses one that does not)
    const { SqliteStore } = await import('../../src/store/index.js');
    const store = new SqliteStore(db);
    await store.migrate();
    await store.close();
    writeFileSync(
      join(dir, 'bill.csv'),
      'date,provider,model,amount_usd\n2025-06-01,openai,gpt-4o,1\n2025-06-02,openai,gpt-4o,lots\n',
    );
    const r = await llmscope(dir, ['reconcile', '--bill', 'bill.csv', '--no-save'], {
      LLMSCOPE_STORAGE_URL: `sqlite:${db}`,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bill.csv:3: "amount_usd" must be a number, got "lots"');
  });

  it('quality score exits 1 after bad lines, naming each, and still writes the good ones', async () => {
    const dir = scratch();
    writeFileSync(
      join(dir, 'in.jsonl'),
      [
        JSON.stringify({
          id: 'a',
          context: 'Paris is the capital of France.',
          response: 'Paris is the capital of France.',
        }),
        '{ not json',
        JSON.stringify({ id: 'b' }),
        JSON.stringify({ id: 'c', context: 'Water boils at 100 °C.', response: 'Water boils at 100 °C.' }),
      ].join('\n'),
    );
    const r = await llmscope(dir, ['quality', 'score', '--input', 'in.jsonl', '--output', 'out.jsonl']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('in.jsonl:2: ');
    expect(r.stderr).toContain('in.jsonl:3: ');
    const out = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n');
    expect(out.map((l) => JSON.parse(l).id)).toEqual(['a', 'c']);
  });
});
