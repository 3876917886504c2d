// QA40: a GPU host whose driver goes away under a running llmscope (nvidia-smi exits 9, "couldn't communicate with
// the NVIDIA driver") read as a host with no GPU: llmscope_gpu_collector_up stayed 1 and GpuCollectorDown could never
// fire, though the GPUs it had been reading went unwatched. A source that has read GPUs and then finds none is failing.
import { describe, expect, it } from 'vitest';
import type { PollOutcome } from './poller.js';
import { GpuState } from './state.js';
import type { GpuSample } from './types.js';

const sample = { host: 'gpu-node-1', gpu: '0' } as unknown as GpuSample;
const ok: PollOutcome = { kind: 'ok', samples: [sample], durationMs: 5 };
const noDriver: PollOutcome = {
  kind: 'unavailable',
  reason:
    "nvidia-smi cannot reach the NVIDIA driver (exit 9): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
  durationMs: 5,
};

describe('a GPU source that loses the GPUs it read', () => {
  it('reads 0 (failing) once its GPUs are gone, 1 when they come back; a host that never had one reads 1', () => {
    let now = Date.parse('2026-12-07T06:00:00Z');
    const state = new GpuState({ staleAfterMs: 45_000, now: () => now });
    state.register('nvidia-smi', 'local');
    // No driver on a host that never had a GPU: not a failure.
    state.update('nvidia-smi', 'local', noDriver);
    expect(state.health()).toEqual([{ collector: 'nvidia-smi', source: 'local', up: 1 }]);
    expect(state.states()[0]?.status).toBe('unavailable');
    state.update('nvidia-smi', 'local', ok);
    expect(state.health()).toEqual([{ collector: 'nvidia-smi', source: 'local', up: 1 }]);
    // The driver goes away under it: the GPUs it read are unwatched.
    now += 15_000;
    state.update('nvidia-smi', 'local', noDriver);
    expect(state.health()).toEqual([{ collector: 'nvidia-smi', source: 'local', up: 0 }]);
    const s = state.states()[0];
    expect(s?.status).toBe('error');
    expect(s?.reason).toContain("couldn't communicate with the NVIDIA driver");
    expect(s?.reason).toContain('it read GPUs until 2026-12-07T06:00:00.000Z');
    now += 15_000;
    state.update('nvidia-smi', 'local', ok);
    expect(state.health()).toEqual([{ collector: 'nvidia-smi', source: 'local', up: 1 }]);
  });
});
