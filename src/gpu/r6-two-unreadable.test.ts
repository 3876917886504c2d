// Two GPUs nvidia-smi cannot open at once ("Unable to determine the device handle for GPU <bus id>: ...", one line
// each) are two unreadable GPUs. 5a65c3e keyed them by their bus id read back from "GPU 0000:3B:00.0: ..." up to the
// first colon, so every bus id of PCI domain 0000 was "0000": two lost GPUs counted 1 in
// llmscope_gpu_unreadable_gpus (the count before 5a65c3e, the larger of the two counts, said 2).
import { describe, expect, it } from 'vitest';
import { fixture, unreadableOverPolls as polls } from './testing.js';

const LOST = 'GPU 0000:3B:00.0: GPU is lost. Reboot the system to recover this GPU';
const OTHER = 'GPU 0000:5E:00.0: Unknown Error';
/** The 8-GPU answer with GPU 2 lost (its fixture) and GPU 5 unreachable too, each named by its bus id. */
const twoLost = fixture('nvidia-smi-8gpu-lost.txt')
  .split('\n')
  .map((l) => (l.startsWith('5, ') ? 'Unable to determine the device handle for GPU 0000:5E:00.0: Unknown Error' : l))
  .join('\n');

describe('two GPUs nvidia-smi cannot open, on bus ids of one PCI domain', () => {
  it('are counted as two', async () => {
    expect(await polls([twoLost, twoLost])).toEqual([
      { unreadable: 2, reason: `nvidia-smi could not read ${LOST}; ${OTHER}` },
      { unreadable: 2, reason: `nvidia-smi could not read ${LOST}; ${OTHER}` },
    ]);
  });

  it('two listed GPUs that go, each named by its bus id, are two, and nothing is said to be dropped silently', async () => {
    const all = fixture('nvidia-smi-8gpu.txt');
    expect(await polls([all, twoLost])).toEqual([
      { unreadable: 0, reason: null },
      { unreadable: 2, reason: `nvidia-smi could not read ${LOST}; ${OTHER}` },
    ]);
  });
});
