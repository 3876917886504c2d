import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NvidiaSmiCollector, noGpuReason, parseNvidiaSmi } from './nvidia-smi.js';
import { fakeNvidiaSmi, fixture } from './testing.js';
import { GpuUnavailableError, MIB } from './types.js';

const AT = Date.parse('2026-11-28T12:00:00Z');

describe('parseNvidiaSmi', () => {
  it('reads one GPU in base units', () => {
    const [s, ...rest] = parseNvidiaSmi(fixture('nvidia-smi-1gpu.txt'), 'box-1', AT);
    expect(rest).toHaveLength(0);
    expect(s).toEqual({
      host: 'box-1',
      gpu: '0',
      uuid: 'GPU-4c1f6b62-9a3e-8d5f-27b1-0e9c83a4d215',
      name: 'NVIDIA H100 80GB HBM3',
      utilization: 1,
      memoryUsedBytes: 19818 * MIB,
      memoryTotalBytes: 81559 * MIB,
      temperatureC: 54,
      powerW: 412.35,
      at: AT,
    });
  });

  it('reads eight GPUs in order', () => {
    const samples = parseNvidiaSmi(fixture('nvidia-smi-8gpu.txt'), 'dgx-1', AT);
    expect(samples.map((s) => s.gpu)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(samples.map((s) => s.utilization)).toEqual([0.97, 0.95, 0.96, 0.98, 0, 0, 0.42, 0.43]);
    expect(samples[4]).toMatchObject({ memoryUsedBytes: 4 * MIB, temperatureC: 32, powerW: 71.05 });
    expect(new Set(samples.map((s) => s.uuid)).size).toBe(8);
  });

  it('turns [N/A] and [Not Supported] into null and keeps the rest', () => {
    const [a, b, c] = parseNvidiaSmi(fixture('nvidia-smi-na.txt'), 'a100', AT);
    expect(a).toMatchObject({ gpu: '0', utilization: null, memoryUsedBytes: 13 * MIB, powerW: 54.21 });
    expect(b).toMatchObject({ gpu: '1', utilization: 0, powerW: null, temperatureC: 31 });
    expect(c).toMatchObject({
      gpu: '2',
      utilization: null,
      memoryUsedBytes: null,
      memoryTotalBytes: null,
      temperatureC: null,
      powerW: null,
    });
  });

  it('says "no GPU" for the no-driver and no-device messages', () => {
    expect(() => parseNvidiaSmi(fixture('nvidia-smi-no-driver.txt'), 'h', AT)).toThrow(GpuUnavailableError);
    expect(noGpuReason(fixture('nvidia-smi-no-driver.txt'))).toBe(
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
    );
    expect(noGpuReason(fixture('nvidia-smi-no-devices.txt'))).toBe('No devices were found');
    expect(noGpuReason('', 9)).toMatch(/exit 9/);
    expect(noGpuReason('0, GPU-x, T4, 1, 2, 3, 4, 5', 0)).toBeNull();
  });

  it('rejects lines it cannot read instead of guessing', () => {
    expect(() => parseNvidiaSmi('0, GPU-x, NVIDIA T4, 5\n', 'h', AT)).toThrow(/4 fields, want 8/);
    expect(() => parseNvidiaSmi('x, GPU-x, NVIDIA T4, 1, 2, 3, 4, 5\n', 'h', AT)).toThrow(/index/);
  });
});

describe('NvidiaSmiCollector', () => {
  const signal = () => AbortSignal.timeout(10_000);

  it('runs the exact query and parses its output', async () => {
    const dir = fakeNvidiaSmi({ fixture: 'nvidia-smi-8gpu.txt' });
    const c = new NvidiaSmiCollector({ path: join(dir, 'nvidia-smi'), host: 'dgx-1', now: () => AT });
    const samples = await c.collect(signal());
    expect(samples).toHaveLength(8);
    expect(samples[0]).toMatchObject({ host: 'dgx-1', gpu: '0', utilization: 0.97, at: AT });
  });

  it('maps exit 9 with the no-driver message to "no GPU"', async () => {
    const dir = fakeNvidiaSmi({ fixture: 'nvidia-smi-no-driver.txt', exitCode: 9 });
    const c = new NvidiaSmiCollector({ path: join(dir, 'nvidia-smi'), host: 'h' });
    const err = await c.collect(signal()).catch((e) => e);
    expect(err).toBeInstanceOf(GpuUnavailableError);
    expect(err.reason).toMatch(/couldn't communicate with the NVIDIA driver/);
  });

  it('maps "No devices were found" (exit 6) to "no GPU"', async () => {
    const dir = fakeNvidiaSmi({ fixture: 'nvidia-smi-no-devices.txt', exitCode: 6 });
    const c = new NvidiaSmiCollector({ path: join(dir, 'nvidia-smi'), host: 'h' });
    await expect(c.collect(signal())).rejects.toMatchObject({ reason: 'No devices were found' });
  });

  it('maps a missing binary (ENOENT) to "no GPU"', async () => {
    const c = new NvidiaSmiCollector({ path: '/nonexistent/nvidia-smi', host: 'h' });
    const err = await c.collect(signal()).catch((e) => e);
    expect(err).toBeInstanceOf(GpuUnavailableError);
    expect(err.reason).toMatch(/not found/);
  });

  it('reports other failures as errors, with what nvidia-smi said', async () => {
    const dir = fakeNvidiaSmi({
      exitCode: 15,
      stderr: 'Unable to determine the device handle for GPU0000:18:00.0: Unknown Error',
    });
    const c = new NvidiaSmiCollector({ path: join(dir, 'nvidia-smi'), host: 'h' });
    const err = await c.collect(signal()).catch((e) => e);
    expect(err).not.toBeInstanceOf(GpuUnavailableError);
    expect(err.message).toMatch(/exited with code 15: Unable to determine the device handle/);
  });

  it('stops a hung nvidia-smi when the signal aborts', async () => {
    const dir = fakeNvidiaSmi({ hang: true });
    const c = new NvidiaSmiCollector({ path: join(dir, 'nvidia-smi'), host: 'h' });
    const t0 = Date.now();
    await expect(c.collect(AbortSignal.timeout(200))).rejects.toBeTruthy();
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
