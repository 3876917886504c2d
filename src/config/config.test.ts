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

  it('parses durations', () => {
    expect(durationMs('30s')).toBe(30_000);
    expect(durationMs('10m')).toBe(600_000);
    expect(durationMs('1.5h')).toBe(5_400_000);
    expect(durationMs(250)).toBe(250);
  });
});
