import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NvidiaSmiCollector, parseNvidiaSmi } from './nvidia-smi.js';

// nvidia-smi on a GPU whose infoROM is corrupted prints "WARNING: infoROM is corrupted at gpu ..." and exits 14
// (its documented code for that), while still answering the query: the GPU works and its readings are right.
const WARNING = 'WARNING: infoROM is corrupted at gpu 0000:18:00.0';
const LINE = '0, GPU-4a1b, Tesla V100-SXM2-32GB, 87, 16384, 32768, 61, 250.5';

describe('nvidia-smi on a GPU with a corrupted infoROM', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const fake = (script: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-qa-smi-'));
    dirs.push(dir);
    const path = join(dir, 'nvidia-smi');
    writeFileSync(path, `#!/bin/sh\n${script}\n`);
    chmodSync(path, 0o755);
    return path;
  };

  it('parses the readings around the warning line', () => {
    const s = parseNvidiaSmi(`${WARNING}\n${LINE}\n`, 'h', 0);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ gpu: '0', utilization: 0.87, temperatureC: 61 });
  });

  it('keeps reporting the GPU when nvidia-smi exits 14 with its readings', async () => {
    for (const script of [
      `echo '${WARNING}'\necho '${LINE}'\nexit 14`,
      `echo '${WARNING}' >&2\necho '${LINE}'\nexit 14`,
    ]) {
      const c = new NvidiaSmiCollector({ path: fake(script), host: 'h', now: () => 1 });
      const s = await c.collect(AbortSignal.timeout(10_000));
      expect(s.map((x) => [x.gpu, x.utilization])).toEqual([['0', 0.87]]);
    }
  });

  it('still fails exit 14 without readings', async () => {
    const c = new NvidiaSmiCollector({ path: fake(`echo '${WARNING}'\nexit 14`), host: 'h' });
    await expect(c.collect(AbortSignal.timeout(10_000))).rejects.toThrow(/infoROM/);
  });
});
