// The built `llmscope` command run literally, as a user types it (QA17): a bad value gets one line naming what to fix
// and a non-zero exit before anything is touched, and a store command works on PostgreSQL as on SQLite. Needs
// `npm run build` first (dist/), as bin/llmscope.js does, and PostgreSQL (test/pg.ts).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedStore } from '../../src/seed/index.js';
import { createStore } from '../../src/store/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';

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

/** One line on stderr, no stack trace, no "undefined". */
function expectOneLine(r: Run): void {
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at |undefined/);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmscope-qa17-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('an upstream that is not http(s)', () => {
  it('check-config refuses a provider baseUrl of ftp:// with its path, as serve would fail on it', async () => {
    const file = join(dir, 'ftp.yaml');
    writeFileSync(file, 'providers:\n  - name: files\n    baseUrl: ftp://files.example.com/v1\n');
    const r = await llmscope(dir, ['check-config', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/providers\[0\]\.baseUrl: an absolute http\(s\) URL/);
  });

  const others: [string, string, RegExp][] = [
    [
      'judge',
      'quality:\n  judge:\n    baseUrl: ftp://judge.example.com/v1\n',
      /quality\.judge\.baseUrl: an absolute http\(s\) URL/,
    ],
    [
      'webhook',
      'alerts:\n  receivers:\n    - name: hook\n      webhook:\n        url: ftp://hooks.example.com/x\n',
      /alerts\.receivers\[0\]\.webhook\.url: an absolute http\(s\) URL/,
    ],
    ['dcgm', 'gpu:\n  dcgmUrls:\n    - file:///tmp/metrics\n', /gpu\.dcgmUrls\[0\]/],
    [
      'otlp',
      'telemetry:\n  otlpEndpoint: ftp://collector:4318\n',
      /telemetry\.otlpEndpoint: an absolute http\(s\) URL/,
    ],
  ];
  for (const [name, yaml, said] of others)
    it(`check-config refuses a ${name} URL that is not http(s), naming its path (it failed open at run time)`, async () => {
      const file = join(dir, `ftp-${name}.yaml`);
      writeFileSync(file, yaml);
      const r = await llmscope(dir, ['check-config', '--config', file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(said);
    });

  it('serve --upstream file:///x says --upstream and exits 1 (not undici\'s "Invalid URL protocol")', async () => {
    const r = await llmscope(dir, ['serve', '--upstream', 'file:///tmp/x', '--port', '0']);
    expect(r.code).toBe(1);
    expectOneLine(r);
    expect(r.stderr).toMatch(/^llmscope: --upstream must be an absolute http\(s\) URL .*got "file:\/\/\/tmp\/x"/);
  });
});

describe('serve flags that were ignored or named as config paths', () => {
  const cases: [string[], string][] = [
    [['--host', ''], 'llmscope: --host must be an address such as 127.0.0.1 or 0.0.0.0, got ""'],
    [
      ['--provider-name', 'mine'],
      'llmscope: --provider-name names the provider of --upstream URL; pass --upstream too',
    ],
    [
      ['--upstream', 'http://127.0.0.1:9/v1', '--provider-name', 'My Provider'],
      'llmscope: --provider-name takes lowercase letters, digits, ".", "_" or "-" (as providers[].name), got "My Provider"',
    ],
  ];
  for (const [flags, said] of cases)
    it(`serve ${flags.join(' ')} refuses to start, in one line`, async () => {
      const r = await llmscope(dir, ['serve', '--port', '0', ...flags], 15_000);
      expect(r.code).toBe(1);
      expectOneLine(r);
      expect(r.stderr).toContain(said);
    });
});

describe('a usage error (bad flag value, unknown option or command)', () => {
  const cases: [string[], string][] = [
    [['simulate', '--ttft-ms', 'abc'], "error: option '--ttft-ms <ms>' argument 'abc' is invalid."],
    [['keys', 'create', '--name', 'x'], "error: unknown option '--name'"],
    [['nosuch'], "error: unknown command 'nosuch'"],
  ];
  for (const [args, said] of cases)
    it(`llmscope ${args.join(' ')} says what is wrong and how to see the usage, not the whole help`, async () => {
      const r = await llmscope(dir, args, 15_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(said);
      expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('(add --help for usage)');
      expect(r.stderr).not.toContain('Usage:');
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(3);
    });
});

describe('migrate --batch', () => {
  for (const bad of ['0', 'abc', '501', '2.5'])
    it(`--batch ${bad} is refused with the accepted range, before any store is opened`, async () => {
      const r = await llmscope(dir, [
        'migrate',
        '--from',
        `sqlite:${join(dir, 'none.db')}`,
        '--to',
        'postgres://u@127.0.0.1:1/none',
        '--batch',
        bad,
      ]);
      expect(r.code).toBe(1);
      expectOneLine(r);
      expect(r.stderr).toContain(`--batch must be a whole number of calls from 1 to 500, got "${bad}"`);
    });
});

describe('quality score with a path that cannot be used', () => {
  const line = `${JSON.stringify({ id: '1', context: 'Paris is the capital of France.', response: 'Paris is the capital of France.' })}\n`;

  it('an --output in a folder that does not exist: one line naming --output, exit 1, no stack trace', async () => {
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, line);
    const r = await llmscope(dir, [
      'quality',
      'score',
      '--input',
      input,
      '--output',
      join(dir, 'no-such', 'out.jsonl'),
    ]);
    expect(r.code).toBe(1);
    expectOneLine(r);
    expect(r.stderr).toBe(`llmscope: cannot write --output ${join(dir, 'no-such', 'out.jsonl')}: no such folder\n`);
  });

  it('an --input that is a folder says so, naming --input', async () => {
    const r = await llmscope(dir, ['quality', 'score', '--input', dir]);
    expect(r.code).toBe(1);
    expectOneLine(r);
    expect(r.stderr).toBe(`llmscope: cannot read --input ${dir}: a folder, not a file\n`);
  });
});

describe('backup --to a folder', () => {
  it('is refused before copying, even with --force, and leaves no FOLDER.partial', async () => {
    const db = join(dir, 'backup-src.db');
    const store = createStore(`sqlite:${db}`);
    await store.migrate();
    await store.close();
    const folder = join(dir, 'backups');
    mkdirSync(folder);
    const r = await llmscope(dir, ['backup', '--from', `sqlite:${db}`, '--to', folder, '--force']);
    expect(r.code).toBe(1);
    expectOneLine(r);
    expect(r.stderr).toContain(`--to ${folder} is a folder; give the backup file's name`);
    expect(existsSync(`${folder}.partial`)).toBe(false);
  });
});

describe("demo with serve's --upstream", () => {
  it('says in its banner that its traffic goes to its own simulator (the flag was dropped without a word)', async () => {
    const demo = spawn(
      process.execPath,
      [BIN, 'demo', '--port', '0', '--rps', '1', '--upstream', 'http://127.0.0.1:9/v1', '--provider-name', 'mine'],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let banner = '';
    demo.stderr?.on('data', (d: Buffer) => (banner += d.toString()));
    const exited = new Promise<number | null>((resolve) => demo.once('close', resolve));
    const deadline = Date.now() + 30_000;
    while (!banner.includes('Ctrl-C to stop') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(banner).toContain(
      'note: demo calls its own simulated upstream: --upstream and --provider-name are for `llmscope serve --upstream URL`',
    );
  }, 60_000);
});

describe('reconcile on PostgreSQL', () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('reads the tracked spend from a PostgreSQL storage.url: the same report as the same history in SQLite', async () => {
    const end = Date.UTC(2026, 10, 20, 12);
    const urls = { sqlite: `sqlite:${join(dir, 'seeded.db')}`, postgres: await pg.freshSchemaUrl() };
    for (const url of Object.values(urls)) {
      const store = createStore(url);
      await store.migrate();
      await seedStore(store, { calls: 400, days: 3, end, seed: 7, users: 20, spanDays: 0 });
      await store.close();
    }
    const bill = join(dir, 'bill.csv');
    writeFileSync(
      bill,
      'date,provider,model,amount_usd\n2026-11-18,openai,gpt-4o-mini,0.5\n2026-11-19,openai,gpt-4o,2\n',
    );
    const reports: Record<string, { tracked_usd: number; billed_usd: number; gap_usd: number }> = {};
    for (const [kind, url] of Object.entries(urls)) {
      const config = join(dir, `${kind}.yaml`);
      writeFileSync(config, `storage:\n  url: ${JSON.stringify(url)}\n`);
      const r = await llmscope(dir, ['reconcile', '--bill', bill, '--config', config, '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      reports[kind] = JSON.parse(r.stdout);
    }
    expect(reports.postgres?.tracked_usd).toBeGreaterThan(0);
    expect(reports.postgres?.billed_usd).toBe(2.5);
    expect(reports.postgres?.tracked_usd).toBeCloseTo(reports.sqlite?.tracked_usd ?? -1, 6);
    expect(reports.postgres?.gap_usd).toBeCloseTo(reports.sqlite?.gap_usd ?? -1, 6);
    // kept in the store, as on SQLite: the API's list of reconciliations reads this table
    const schema = decodeURIComponent(urls.postgres.split('options=')[1] ?? '').replace('-c search_path=', '');
    const saved = await pg.query(`SELECT count(*)::int AS n FROM ${schema}.reconciliations`);
    expect(saved.rows[0]?.n).toBe(1);
  }, 90_000);

  it('a PostgreSQL url with no llmscope data yet is refused, naming it, and nothing is created', async () => {
    const url = await pg.freshSchemaUrl();
    const config = join(dir, 'empty-pg.yaml');
    writeFileSync(config, `storage:\n  url: ${JSON.stringify(url)}\n`);
    const bill = join(dir, 'bill2.csv');
    writeFileSync(bill, 'date,provider,model,amount_usd\n2026-11-18,openai,gpt-4o-mini,0.5\n');
    const r = await llmscope(dir, ['reconcile', '--bill', bill, '--config', config]);
    expect(r.code).toBe(1);
    expectOneLine(r);
    expect(r.stderr).toMatch(/^llmscope: no llmscope data in postgres/);
  }, 60_000);
});

/** `script` (util-linux) runs a command on a pseudo-terminal, as a user's terminal is. */
const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));

describe('Ctrl-C during a progress bar', () => {
  let sim: ChildProcess | undefined;
  afterAll(() => {
    sim?.kill('SIGTERM');
  });

  it.skipIf(!SCRIPT)(
    'bench on a terminal gets SIGINT: the cursor and line wrap come back, and it still ends as interrupted (130)',
    async () => {
      // a slow simulated upstream, so the bench is still drawing when Ctrl-C comes
      sim = spawn(process.execPath, [BIN, 'simulate', '--port', '0', '--ttft-ms', '100', '--output-tokens', '4'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const base = await new Promise<string>((resolve, reject) => {
        let out = '';
        sim?.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+\/v1)/.exec(out);
          if (m?.[1]) resolve(m[1]);
        });
        sim?.once('exit', () => reject(new Error(`simulate exited: ${out}`)));
      });
      const cmd = `exec ${process.execPath} ${BIN} bench --url ${base} --requests 500 --concurrency 1`;
      const term = spawn(SCRIPT as string, ['-qefc', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let screen = '';
      term.stdout?.on('data', (d: Buffer) => (screen += d.toString('latin1')));
      const exited = new Promise<number | null>((resolve) => term.once('close', resolve));
      const deadline = Date.now() + 20_000;
      while (!/bench \[.*\d+\/500 requests/.test(screen) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500));
      // the node process is the shell's exec, script's only child
      const pid = Number(
        execFileSync('pgrep', ['-P', String(term.pid)])
          .toString()
          .trim(),
      );
      expect(pid).toBeGreaterThan(0);
      process.kill(pid, 'SIGINT');
      expect(await exited).toBe(130);
      const hid = screen.lastIndexOf('\x1b[?25l');
      expect(hid).toBeGreaterThanOrEqual(0);
      expect(screen.lastIndexOf('\x1b[?25h')).toBeGreaterThan(hid);
      expect(screen.lastIndexOf('\x1b[?7h')).toBeGreaterThan(screen.lastIndexOf('\x1b[?7l'));
    },
    60_000,
  );
});
