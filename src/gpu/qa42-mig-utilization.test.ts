// A host with a MIG-partitioned GPU: GPU-hours count the physical GPU once, and the self-hosted row's
// utilization_avg must too. Each instance was weighed as a whole GPU, so one GPU cut into seven idle instances beside
// three busy GPUs read 29% busy on the GPU page's cost table, where the host's four GPUs average 71%.
import { describe, expect, it } from 'vitest';
import { computeEfficiency } from './efficiency.js';
import type { GpuUsage } from './storage/index.js';

const usage = (gpu: string, utilizationAvg: number | null): GpuUsage => ({
  host: 'gpu-node-2',
  gpu,
  name: 'NVIDIA A100-SXM4-80GB',
  gpuSeconds: 3600,
  utilizationAvg,
  memoryUsedAvg: null,
  memoryTotal: null,
  samples: 240,
});

describe('utilization of a host with a MIG-partitioned GPU', () => {
  it('averages the instances into their GPU, then the GPUs', () => {
    const rows = computeEfficiency({
      usage: [
        usage('0', null), // the MIG GPU itself: temperature and power, no utilization
        ...[1, 2, 3, 4, 5, 6, 7].map((i) => usage(`0:${i}`, 0)),
        usage('1', 0.95),
        usage('2', 0.95),
        usage('3', 0.95),
      ],
      tokens: [{ provider: 'vllm', model: 'qwen2.5-32b-instruct', outputTokens: 1_000_000, costUsd: 0 }],
      hosts: [{ host: 'gpu-node-2', providers: ['vllm'], models: [], gpuHourPrice: 2 }],
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ gpu_hours: 4, gpu_cost_usd: 8, cost_per_1k_output_tokens: 0.008 });
    expect(rows[0]?.utilization_avg).toBe(0.7125); // (0 + 3 × 0.95) / 4
  });

  it('a host without MIG averages as before', () => {
    const rows = computeEfficiency({
      usage: [usage('0', 0.2), usage('1', 0.6)],
      tokens: [],
      hosts: [{ host: 'gpu-node-2', providers: ['vllm'], models: [], gpuHourPrice: 2 }],
    });
    expect(rows[0]?.utilization_avg).toBe(0.4);
  });
});
