// The nvidia-smi collector on a host without it starts no process: it looks the program up on PATH first.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const spawned = vi.hoisted(() => ({ paths: [] as string[] }));
vi.mock('node:child_process', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:child_process')>();
  return {
    ...real,
    spawn: ((path: string, ...rest: unknown[]) => {
      spawned.paths.push(path);
      return (real.spawn as (...a: unknown[]) => unknown)(path, ...rest);
    }) as typeof real.spawn,
  };
});

const { findProgram, NvidiaSmiCollector } = await import('./nvidia-smi.js');
const { GpuUnavailableError } = await import('./types.js');

const savedPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = savedPath;
  spawned.paths.length = 0;
});

function dirWith(files: Record<string, { mode: number; text?: string }>): string {
  const d = mkdtempSync(join(tmpdir(), 'llmscope-path-'));
  for (const [name, f] of Object.entries(files)) {
    writeFileSync(join(d, name), f.text ?? '#!/bin/sh\nexit 0\n');
    chmodSync(join(d, name), f.mode);
  }
  return d;
}

describe('findProgram', () => {
  it('finds the first executable of that name on PATH, skipping files that cannot run', async () => {
    const notRunnable = dirWith({ 'nvidia-smi': { mode: 0o644 } });
    const runnable = dirWith({ 'nvidia-smi': { mode: 0o755 } });
    const later = dirWith({ 'nvidia-smi': { mode: 0o755 } });
    const empty = mkdtempSync(join(tmpdir(), 'llmscope-path-'));
    mkdirSync(join(empty, 'nvidia-smi')); // a directory of that name is not a program
    expect(await findProgram('nvidia-smi', [empty, notRunnable, runnable, later].join(delimiter))).toBe(
      join(runnable, 'nvidia-smi'),
    );
    expect(await findProgram('nvidia-smi', [empty, notRunnable].join(delimiter))).toBeNull();
    expect(await findProgram('nvidia-smi', '')).toBeNull();
  });

  it('takes a name with a slash as a path', async () => {
    const d = dirWith({ 'nvidia-smi': { mode: 0o755 } });
    expect(await findProgram(join(d, 'nvidia-smi'), '')).toBe(join(d, 'nvidia-smi'));
    expect(await findProgram(join(d, 'missing'), d)).toBeNull();
  });
});

describe('NvidiaSmiCollector on a host without nvidia-smi', () => {
  it('says "no GPU" without starting a process, and finds one installed later', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'llmscope-path-'));
    process.env.PATH = bin;
    const c = new NvidiaSmiCollector({ host: 'h' });
    for (let i = 0; i < 3; i++) {
      const err = await c.collect(AbortSignal.timeout(10_000)).catch((e) => e);
      expect(err).toBeInstanceOf(GpuUnavailableError);
      expect(err.reason).toBe('nvidia-smi not found (no NVIDIA driver installed on this host)');
    }
    expect(spawned.paths).toEqual([]);
    // The driver is installed while llmscope runs: the next poll runs it.
    writeFileSync(join(bin, 'nvidia-smi'), '#!/bin/sh\necho "0, GPU-a, NVIDIA T4, 5, 100, 15360, 40, 30.5"\n');
    chmodSync(join(bin, 'nvidia-smi'), 0o755);
    const samples = await c.collect(AbortSignal.timeout(10_000));
    expect(spawned.paths).toEqual([join(bin, 'nvidia-smi')]);
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({ host: 'h', gpu: '0', utilization: 0.05 });
  });
});
