// gpu prices and thresholds out of range say the form they take (QA48), as the alert rules' GPU thresholds do (01cd339).
// check-config said 'gpu.pricePerGpuHour: Too small: expected number to be >=0' and, for lowUtilization: 80 (80%),
// 'Too big: expected number to be <=1'.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/index.js';

describe('gpu prices and thresholds in the config', () => {
  it('a negative or non-numeric GPU-hour price and a threshold given in percent are told their forms, at their paths', () => {
    const r = validateConfig({
      gpu: {
        pricePerGpuHour: -2,
        hosts: [{ host: 'gpu-1', gpuHourPrice: '2.49$' }],
        thresholds: { lowUtilization: 80, highMemory: -0.1 },
      },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual(
      expect.arrayContaining([
        { path: 'gpu.pricePerGpuHour', message: 'USD per GPU-hour, 0 or more, e.g. 2.49' },
        { path: 'gpu.hosts[0].gpuHourPrice', message: 'USD per GPU-hour, 0 or more, e.g. 2.49' },
        { path: 'gpu.thresholds.lowUtilization', message: 'a ratio from 0 to 1 (0.8 for 80%)' },
        { path: 'gpu.thresholds.highMemory', message: 'a ratio from 0 to 1 (0.95 for 95%)' },
      ]),
    );
  });

  it('takes good values and the defaults', () => {
    const r = validateConfig({
      gpu: { pricePerGpuHour: 0, hosts: [{ host: 'gpu-1', gpuHourPrice: 2.49 }], thresholds: { lowUtilization: 1 } },
    });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.config.gpu.thresholds).toEqual({ lowUtilization: 1, highMemory: 0.95 });
  });
});
