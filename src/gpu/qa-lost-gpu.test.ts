// A GPU that falls off the bus (Xid 79) makes nvidia-smi print "Unable to determine the device handle for GPU
// <bus id>: GPU is lost ..." in place of that GPU's line, still print the other GPUs' readings, and exit 15. Those
// readings are kept (the other GPUs stay watched and costed) and the lost GPU is reported beside them.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NvidiaSmiCollector, parseNvidiaSmi, readNvidiaSmi, unreadableGpus } from './nvidia-smi.js';
import { Poller, type PollOutcome } from './poller.js';
import { GpuState } from './state.js';
import { fakeNvidiaSmi, fixture, unreadableOverPolls as polls } from './testing.js';

const LOST = 'GPU 0000:3B:00.0: GPU is lost. Reboot the system to recover this GPU';

describe('nvidia-smi with a GPU fallen off the bus', () => {
  it('reads the other GPUs and names the lost one', () => {
    const r = readNvidiaSmi(fixture('nvidia-smi-8gpu-lost.txt'), 'dgx-1', 0);
    expect(r.samples.map((s) => s.gpu)).toEqual(['0', '1', '3', '4', '5', '6', '7']);
    expect(r.unreadable).toEqual([LOST]);
    expect(parseNvidiaSmi(fixture('nvidia-smi-8gpu-lost.txt'), 'dgx-1', 0)).toHaveLength(7);
    expect(unreadableGpus('Unable to determine the device handle for GPU0000:18:00.0: Unknown Error')).toEqual([
      'GPU 0000:18:00.0: Unknown Error',
    ]);
    expect(() =>
      parseNvidiaSmi('Unable to determine the device handle for GPU0000:18:00.0: Unknown Error\n', 'h', 0),
    ).toThrow(/read no GPU: GPU 0000:18:00.0: Unknown Error/);
  });

  it('keeps the readings of exit 15 (stdout or stderr naming the lost GPU) and says which GPU was not read', async () => {
    const outcomes: PollOutcome[] = [];
    const state = new GpuState({ staleAfterMs: 60_000, now: () => 1 });
    state.register('nvidia-smi', 'local');
    for (const dir of [
      fakeNvidiaSmi({ fixture: 'nvidia-smi-8gpu-lost.txt', exitCode: 15 }),
      fakeNvidiaSmi({
        fixture: 'nvidia-smi-1gpu.txt',
        exitCode: 15,
        stderr:
          'Unable to determine the device handle for GPU 0000:3B:00.0: GPU is lost. Reboot the system to recover this GPU',
      }),
    ]) {
      const collector = new NvidiaSmiCollector({ path: join(dir, 'nvidia-smi'), host: 'dgx-1', now: () => 1 });
      const poller = new Poller({
        collector,
        intervalMs: 60_000,
        timeoutMs: 10_000,
        onOutcome: (o, c) => {
          outcomes.push(o);
          state.update(c.kind, c.source, o);
        },
      });
      await poller.poll();
      await poller.stop();
    }
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok']);
    expect(outcomes.map((o) => (o.kind === 'ok' ? o.samples.length : 0))).toEqual([7, 1]);
    expect(outcomes.map((o) => (o.kind === 'ok' ? o.warning : undefined))).toEqual([
      `nvidia-smi could not read ${LOST}`,
      `nvidia-smi could not read ${LOST}`,
    ]);
    expect(state.availability()).toEqual({ available: true });
    expect(state.states()[0]).toMatchObject({ status: 'ok', reason: `nvidia-smi could not read ${LOST}` });
  });

  it('still fails when no GPU could be read, and clears the warning once every GPU is read again', async () => {
    const lostOnly = fakeNvidiaSmi({
      exitCode: 15,
      stderr: 'Unable to determine the device handle for GPU0000:18:00.0: Unknown Error',
    });
    const c = new NvidiaSmiCollector({ path: join(lostOnly, 'nvidia-smi'), host: 'h' });
    await expect(c.collect(AbortSignal.timeout(10_000))).rejects.toThrow(
      /exited with code 15: Unable to determine the device handle for GPU0000:18:00.0: Unknown Error/,
    );
    const lost = new NvidiaSmiCollector({
      path: join(fakeNvidiaSmi({ fixture: 'nvidia-smi-8gpu-lost.txt', exitCode: 15 }), 'nvidia-smi'),
      host: 'h',
    });
    await lost.collect(AbortSignal.timeout(10_000));
    expect(lost.warning).toBe(`nvidia-smi could not read ${LOST}`);
    // A non-zero exit with readings but neither a GPU it could not read nor exit 14's warning is still an error.
    const garbled = fakeNvidiaSmi({ fixture: 'nvidia-smi-8gpu.txt', exitCode: 3 });
    const g = new NvidiaSmiCollector({ path: join(garbled, 'nvidia-smi'), host: 'h' });
    await expect(g.collect(AbortSignal.timeout(10_000))).rejects.toThrow(/exited with code 3/);
    const healthy = new NvidiaSmiCollector({
      path: join(fakeNvidiaSmi({ fixture: 'nvidia-smi-8gpu.txt' }), 'nvidia-smi'),
      host: 'h',
    });
    await healthy.collect(AbortSignal.timeout(10_000));
    expect(healthy.warning).toBeNull();
  });
});

describe('a GPU that nvidia-smi stops listing without a word (exit 0; decision 144)', () => {
  it('is reported as unreadable while it is gone, and no longer once it is listed again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-smi-list-'));
    const answer = join(dir, 'answer.txt');
    const smi = join(dir, 'nvidia-smi');
    writeFileSync(smi, `#!/bin/sh\ncat ${JSON.stringify(answer)}\n`);
    chmodSync(smi, 0o755);
    const all = fixture('nvidia-smi-8gpu.txt');
    const without2 = all
      .split('\n')
      .filter((l) => !l.startsWith('2, '))
      .join('\n');
    const state = new GpuState({ staleAfterMs: 60_000, now: () => 1 });
    state.register('nvidia-smi', 'local');
    const collector = new NvidiaSmiCollector({ path: smi, host: 'dgx-1', now: () => 1 });
    const poller = new Poller({
      collector,
      intervalMs: 60_000,
      timeoutMs: 10_000,
      onOutcome: (o, c) => state.update(c.kind, c.source, o),
    });
    const seen: { gpus: number; unreadable: number; reason: string | null }[] = [];
    // listed, gone silently, back, gone with nvidia-smi's own "device handle" line (counted once, not twice)
    for (const text of [all, without2, all, fixture('nvidia-smi-8gpu-lost.txt')]) {
      writeFileSync(answer, text);
      await poller.poll();
      const s = state.states()[0];
      seen.push({
        gpus: s?.samples.length ?? -1,
        unreadable: state.unreadable()[0]?.gpus ?? -1,
        reason: s?.reason ?? null,
      });
    }
    await poller.stop();
    expect(seen).toEqual([
      { gpus: 8, unreadable: 0, reason: null },
      {
        gpus: 7,
        unreadable: 1,
        reason: 'nvidia-smi no longer lists GPU 2 (GPU-c3e05b98-7f21-4d6a-9b83-21f0e6d4ac72), listed before',
      },
      { gpus: 8, unreadable: 0, reason: null },
      { gpus: 7, unreadable: 1, reason: `nvidia-smi could not read ${LOST}` },
    ]);
  });
});

describe('GPUs lost in two ways at once (R5: counts were compared, not GPUs)', () => {
  const without = (text: string, index: string) =>
    text
      .split('\n')
      .filter((l) => !l.startsWith(`${index}, `))
      .join('\n');
  const GPU5 = 'GPU 5 (GPU-e06c8a17-4d92-b3f5-6e0a-17b9d25c83f4)';

  it('counts a GPU unreadable since start and another dropped later as two', async () => {
    const lost = fixture('nvidia-smi-8gpu-lost.txt');
    expect(await polls([lost, without(lost, '5'), lost])).toEqual([
      { unreadable: 1, reason: `nvidia-smi could not read ${LOST}` },
      { unreadable: 2, reason: `nvidia-smi could not read ${LOST}; nvidia-smi no longer lists ${GPU5}, listed before` },
      { unreadable: 1, reason: `nvidia-smi could not read ${LOST}` },
    ]);
  });

  it('counts a GPU dropped silently, then named lost by its bus id, as one', async () => {
    const all = fixture('nvidia-smi-8gpu.txt');
    const gpu2 = 'GPU 2 (GPU-c3e05b98-7f21-4d6a-9b83-21f0e6d4ac72)';
    expect(await polls([all, without(all, '2'), fixture('nvidia-smi-8gpu-lost.txt'), without(all, '2')])).toEqual([
      { unreadable: 0, reason: null },
      { unreadable: 1, reason: `nvidia-smi no longer lists ${gpu2}, listed before` },
      { unreadable: 1, reason: `nvidia-smi could not read ${LOST}` },
      { unreadable: 1, reason: `nvidia-smi no longer lists ${gpu2}, listed before` },
    ]);
  });
});
