import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { durationMs, loadConfig, validateConfig } from './index.js';

describe('config', () => {
  it('has defaults for everything', () => {
    const r = validateConfig({});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.server).toMatchObject({ host: '127.0.0.1', port: 8080, bodyLimit: 50 * 1024 * 1024 });
    expect(r.config.storage.url).toBe('sqlite:./llmscope-data/llmscope.db');
  });

  it('reports every problem with its path', () => {
    const r = validateConfig({
      server: { port: 'eighty', bogus: 1 },
      providers: [
        { name: 'a', baseUrl: 'not a url' },
        { name: 'a', baseUrl: 'http://x/v1' },
      ],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.issues.map((i) => i.path);
    expect(paths).toContain('server.port');
    expect(paths).toContain('server');
    expect(paths).toContain('providers[0].baseUrl');
  });

  it('catches routes to unknown providers and duplicate names', () => {
    const r = validateConfig({
      providers: [
        { name: 'a', baseUrl: 'http://x/v1' },
        { name: 'a', baseUrl: 'http://y/v1' },
      ],
      routes: [{ model: 'm', provider: 'b' }],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path)).toEqual(['providers[1].name', 'routes[0].provider']);
  });

  it('loads YAML, applies env overrides, and freezes the result', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-cfg-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'server:\n  port: 9000\nproviders:\n  - name: vllm\n    baseUrl: http://gpu:8000/v1\n');
    const c = loadConfig({ file, env: { LLMSCOPE_PORT: '9100', LLMSCOPE_STORAGE_URL: 'sqlite::memory:' } });
    expect(c.server.port).toBe(9100);
    expect(c.storage.url).toBe('sqlite::memory:');
    expect(c.providers[0]?.name).toBe('vllm');
    expect(Object.isFrozen(c.server)).toBe(true);
    expect(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} })).toThrow(/cannot read config file/);
  });

  it('names the environment variable a bad value came from, not the config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-cfg-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'server:\n  port: 9000\n');
    const message = (opts: Parameters<typeof loadConfig>[0]) => {
      try {
        loadConfig(opts);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('loaded');
    };
    const m = message({ file, env: { LLMSCOPE_WORKERS: 'x' } });
    expect(m).toMatch(/^invalid config from the environment:/);
    expect(m).toContain('server.workers (from the environment variable LLMSCOPE_WORKERS="x"): a whole number');
    expect(m).not.toContain(file);
    expect(message({ env: { LLMSCOPE_PORT: 'abc' } })).toContain(
      'server.port (from the environment variable LLMSCOPE_PORT="abc")',
    );
    // a blank or hex value is not read as a number (a blank was port 0, a random port; 0x1F90 was 8080)
    for (const v of [' ', '0x1F90', '1e4'])
      expect(message({ env: { LLMSCOPE_PORT: v } })).toContain(
        `server.port (from the environment variable LLMSCOPE_PORT="${v}"): a port number from 0 to 65535`,
      );
    expect(message({ env: { LLMSCOPE_LOG_LEVEL: 'loud' } })).toContain('LLMSCOPE_LOG_LEVEL="loud"');
    // a secret's value is never repeated, only its name
    const secret = message({ env: { LLMSCOPE_ADMIN_TOKEN: 'hunter2' } });
    expect(secret).toContain('server.adminToken (from the environment variable LLMSCOPE_ADMIN_TOKEN): at least 8');
    expect(secret).not.toContain('hunter2');
    // the file's own mistakes still name the file; a flag's value over the variable's is not the variable's
    writeFileSync(file, 'server:\n  port: eighty\n');
    const both = message({ file, env: { LLMSCOPE_WORKERS: 'x' } });
    expect(both).toContain(`invalid config in ${file}:`);
    expect(both).toMatch(/server\.port: /);
    expect(both).toContain('LLMSCOPE_WORKERS="x"');
    const flag = message({
      env: { LLMSCOPE_WORKERS: '2' },
      overrides: (raw) => ({ ...raw, server: { ...(raw.server as object), workers: 999 } }),
    });
    expect(flag).not.toContain('LLMSCOPE_WORKERS');
    // check-config says the same
    const { checkConfig } = await import('../cli/check-config.js');
    writeFileSync(file, 'server:\n  port: 9000\n');
    const err: string[] = [];
    const code = await checkConfig(file, { out: () => {}, err: (s) => err.push(s), env: { LLMSCOPE_WORKERS: 'x' } });
    expect(code).toBe(1);
    expect(err.join('')).toMatch(/^LLMSCOPE_WORKERS="x": server\.workers: /);
  });

  it('server.workers takes 1 to 256 or auto, from the file or LLMSCOPE_WORKERS, and says so for anything else', () => {
    const expected = 'a whole number of gateway processes from 1 to 256, or "auto" (one per core, less one)';
    const workersOf = (env: Record<string, string>) => loadConfig({ env }).server.workers;
    expect(workersOf({ LLMSCOPE_WORKERS: '4' })).toBe(4);
    expect(workersOf({ LLMSCOPE_WORKERS: ' 3 ' })).toBe(3);
    expect(workersOf({ LLMSCOPE_WORKERS: 'auto' })).toBe('auto');
    // Number() would read these as counts (16, 10, 2); --workers refuses them, and so does the variable.
    for (const v of ['0', '-1', '300', '1.5', '0x10', '1e1', '2abc', 'AUTO'])
      expect(() => workersOf({ LLMSCOPE_WORKERS: v }), v).toThrow(expected);
    for (const v of [0, -3, 257, 2.5, '4'])
      expect(validateConfig({ server: { workers: v as number } }), String(v)).toMatchObject({
        ok: false,
        issues: [expect.objectContaining({ path: 'server.workers', message: expected })],
      });
  });

  it('server.workerTimeout is a duration of at least 1s, 30s by default', () => {
    expect(loadConfig({ env: {} }).server.workerTimeout).toBe('30s');
    expect(validateConfig({ server: { workerTimeout: '5s' } })).toMatchObject({ ok: true });
    for (const v of ['0s', 500, '10 minutes'])
      expect(validateConfig({ server: { workerTimeout: v } }), String(v)).toMatchObject({
        ok: false,
        issues: [expect.objectContaining({ path: 'server.workerTimeout' })],
      });
  });

  it('server.bodyIdleTimeout is a duration from 1s to 24d (a longer Node timer fires after 1 ms)', () => {
    expect(loadConfig({ env: {} }).server.bodyIdleTimeout).toBe('60s');
    for (const v of ['1s', '24d', 2_147_483_647])
      expect(validateConfig({ server: { bodyIdleTimeout: v } }), String(v)).toMatchObject({ ok: true });
    for (const v of ['0s', 999, '25d', '30d', '99999999h', 2_147_483_648, 1e300])
      expect(validateConfig({ server: { bodyIdleTimeout: v } }), String(v)).toMatchObject({
        ok: false,
        issues: [expect.objectContaining({ path: 'server.bodyIdleTimeout' })],
      });
  });

  it('parses durations', () => {
    expect(durationMs('30s')).toBe(30_000);
    expect(durationMs('10m')).toBe(600_000);
    expect(durationMs('1.5h')).toBe(5_400_000);
    expect(durationMs(250)).toBe(250);
  });
});
