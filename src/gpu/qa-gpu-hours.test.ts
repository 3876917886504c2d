// Self-hosted models priced by GPU-hours in pricing.models on the GPU cost table (QA19): the entry's GPUs over the
// window, split between the models it prices by output tokens; the first matching entry decides, as in pricing.
import { describe, expect, it } from 'vitest';
import { computeEfficiency, type ModelTokens } from './efficiency.js';

const H = 3_600_000;
const window = { from: Date.parse('2026-12-06T00:00:00Z'), to: Date.parse('2026-12-06T10:00:00Z') };
const tokens: ModelTokens[] = [
  { provider: 'vllm', model: 'llama-3.1-8b', outputTokens: 3000, costUsd: 0 },
  { provider: 'vllm', model: 'llama-3.1-70b', outputTokens: 1000, costUsd: 0 },
  { provider: 'vllm', model: 'llama-3.1-405b', outputTokens: 1000, costUsd: 0.5 },
];

describe('efficiency of models priced by GPU-hours', () => {
  it('splits a wildcard entry between its models by output tokens; an earlier per-token entry wins', () => {
    const rows = computeEfficiency({
      usage: [],
      tokens,
      hosts: [],
      window,
      priceRules: [
        { model: 'llama-3.1-405b' }, // priced per token (input/output): not by GPU-hours
        { model: 'llama-3.1-*', provider: 'vllm', gpuHours: { gpus: 4, pricePerGpuHour: 1 } },
      ],
    });
    // 4 GPUs × 10 h = 40 GPU-hours, $40: 3/4 to the 8b, 1/4 to the 70b.
    expect(rows.find((r) => r.model === 'llama-3.1-8b')).toMatchObject({
      kind: 'self_hosted',
      gpu_hours: 30,
      gpu_cost_usd: 30,
      cost_per_1k_output_tokens: 10,
    });
    expect(rows.find((r) => r.model === 'llama-3.1-70b')).toMatchObject({ gpu_hours: 10, gpu_cost_usd: 10 });
    expect(rows.find((r) => r.model === 'llama-3.1-405b')).toMatchObject({ kind: 'api', cost_usd: 0.5 });
  });

  it('counts from effectiveFrom, and leaves an entry not yet in effect out', () => {
    const rows = computeEfficiency({
      usage: [],
      tokens: tokens.slice(0, 1),
      hosts: [],
      window: { from: window.from - 24 * H, to: window.to },
      priceRules: [{ model: 'llama-3.1-8b', gpuHours: { gpus: 1, pricePerGpuHour: 2 }, effectiveFrom: '2026-12-06' }],
    });
    expect(rows).toEqual([expect.objectContaining({ model: 'llama-3.1-8b', gpu_hours: 10, gpu_cost_usd: 20 })]);
    const later = computeEfficiency({
      usage: [],
      tokens: tokens.slice(0, 1),
      hosts: [],
      window,
      priceRules: [{ model: 'llama-3.1-8b', gpuHours: { gpus: 1, pricePerGpuHour: 2 }, effectiveFrom: '2026-12-07' }],
    });
    expect(later).toEqual([expect.objectContaining({ model: 'llama-3.1-8b', kind: 'api', gpu_hours: null })]);
  });
});
