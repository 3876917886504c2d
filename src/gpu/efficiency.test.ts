import { describe, expect, it } from 'vitest';
import type { GpuHostConfig } from './config.js';
import { computeEfficiency, gpuSignals, hostServes, matchesPattern } from './efficiency.js';
import type { GpuUsage } from './storage/index.js';
import type { GpuSample } from './types.js';

const usage = (host: string, gpu: string, hours: number, util: number | null): GpuUsage => ({
  host,
  gpu,
  name: 'NVIDIA H100 80GB HBM3',
  gpuSeconds: hours * 3600,
  utilizationAvg: util,
  memoryUsedAvg: null,
  memoryTotal: null,
  samples: hours * 240,
});

const host = (h: Partial<GpuHostConfig> & { host: string }): GpuHostConfig => ({ providers: [], models: [], ...h });

describe('hostServes', () => {
  it('matches providers and model patterns; a host with neither serves nothing', () => {
    expect(matchesPattern('qwen-*', 'qwen-2.5-72b')).toBe(true);
    expect(matchesPattern('qwen-*', 'xqwen-2')).toBe(false);
    expect(matchesPattern('a.b', 'axb')).toBe(false);
    expect(hostServes(host({ host: 'a', providers: ['vllm'] }), 'vllm', 'anything')).toBe(true);
    expect(hostServes(host({ host: 'a', providers: ['vllm'], models: ['llama-*'] }), 'vllm', 'qwen')).toBe(false);
    expect(hostServes(host({ host: 'a', models: ['llama-*'] }), 'tgi', 'llama-3')).toBe(true);
    expect(hostServes(host({ host: 'a' }), 'vllm', 'llama')).toBe(false);
  });
});

describe('computeEfficiency', () => {
  it('splits GPU-hours by output tokens and prices them per 1K output tokens, beside API spend', () => {
    const rows = computeEfficiency({
      usage: [
        ...Array.from({ length: 8 }, (_, i) => usage('dgx-1', String(i), 1, i < 4 ? 0.9 : 0.5)),
        usage('other', '0', 1, 0.1),
      ],
      tokens: [
        { provider: 'vllm', model: 'llama-3-70b', outputTokens: 200_000, costUsd: 0 },
        { provider: 'vllm', model: 'llama-3-70b', outputTokens: 100_000, costUsd: 0 },
        { provider: 'vllm', model: 'qwen-2.5-72b', outputTokens: 100_000, costUsd: 0 },
        { provider: 'openai', model: 'gpt-4o', outputTokens: 50_000, costUsd: 0.75 },
        { provider: 'openai', model: 'gpt-4o-mini', outputTokens: 0, costUsd: 0 },
      ],
      hosts: [host({ host: 'dgx-1', providers: ['vllm'], models: ['llama-*', 'qwen-*'] })],
      pricePerGpuHour: 2.5,
    });
    expect(rows).toEqual([
      {
        kind: 'self_hosted',
        provider: 'vllm',
        model: 'llama-3-70b',
        hosts: ['dgx-1'],
        gpu_hours: 6,
        gpu_cost_usd: 15,
        output_tokens: 300_000,
        cost_usd: 15,
        cost_per_1k_output_tokens: 0.05,
        utilization_avg: 0.7,
      },
      {
        kind: 'self_hosted',
        provider: 'vllm',
        model: 'qwen-2.5-72b',
        hosts: ['dgx-1'],
        gpu_hours: 2,
        gpu_cost_usd: 5,
        output_tokens: 100_000,
        cost_usd: 5,
        cost_per_1k_output_tokens: 0.05,
        utilization_avg: 0.7,
      },
      {
        kind: 'api',
        provider: 'openai',
        model: 'gpt-4o',
        hosts: [],
        gpu_hours: null,
        gpu_cost_usd: null,
        output_tokens: 50_000,
        cost_usd: 0.75,
        cost_per_1k_output_tokens: 0.015,
        utilization_avg: null,
      },
    ]);
  });

  it('adds up a model served by several hosts, each at its own price', () => {
    const rows = computeEfficiency({
      usage: [usage('a', '0', 2, 0.8), usage('b', '0', 1, 0.2)],
      tokens: [{ provider: 'vllm', model: 'llama', outputTokens: 1_000_000, costUsd: 0 }],
      hosts: [host({ host: 'a', models: ['llama'], gpuHourPrice: 4 }), host({ host: 'b', models: ['llama'] })],
      pricePerGpuHour: 1,
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      hosts: ['a', 'b'],
      gpu_hours: 3,
      gpu_cost_usd: 9,
      cost_per_1k_output_tokens: 0.009,
      utilization_avg: 0.6,
    });
  });

  it('shows the cost of an idle host, and no price as null rather than zero', () => {
    const idle = computeEfficiency({
      usage: [usage('a', '0', 1, 0)],
      tokens: [],
      hosts: [host({ host: 'a', providers: ['vllm'], models: ['llama-3-8b'] })],
      pricePerGpuHour: 3,
    });
    expect(idle[0]).toMatchObject({
      model: 'llama-3-8b',
      provider: 'vllm',
      gpu_cost_usd: 3,
      output_tokens: 0,
      cost_per_1k_output_tokens: null,
    });
    const unpriced = computeEfficiency({
      usage: [usage('a', '0', 1, 0.9)],
      tokens: [{ provider: 'vllm', model: 'm', outputTokens: 10, costUsd: 0 }],
      hosts: [host({ host: 'a', providers: ['vllm'] })],
    });
    expect(unpriced[0]).toMatchObject({ gpu_hours: 1, gpu_cost_usd: null, cost_per_1k_output_tokens: null });
  });
});

describe('gpuSignals', () => {
  const latest = (gpu: string, used: number, total: number): GpuSample => ({
    host: 'a',
    gpu,
    uuid: null,
    name: null,
    utilization: 1,
    memoryUsedBytes: used,
    memoryTotalBytes: total,
    temperatureC: null,
    powerW: null,
    at: 0,
  });

  it('flags utilization under the threshold and memory over it', () => {
    const signals = gpuSignals({
      usage: [usage('a', '0', 1, 0.79), usage('a', '1', 1, 0.8), usage('a', '2', 1, null)],
      latest: [latest('0', 96, 100), latest('1', 95, 100), latest('2', 5, 0)],
      thresholds: { lowUtilization: 0.8, highMemory: 0.95 },
    });
    expect(signals).toEqual([
      { kind: 'low_utilization', host: 'a', gpu: '0', value: 0.79, threshold: 0.8 },
      { kind: 'high_memory', host: 'a', gpu: '0', value: 0.96, threshold: 0.95 },
    ]);
  });
});
