import { describe, expect, it } from 'vitest';
import { Poller, type PollOutcome } from './poller.js';
import { type GpuCollector, type GpuSample, GpuUnavailableError } from './types.js';

const sample = (gpu: string): GpuSample => ({
  host: 'h',
  gpu,
  uuid: null,
  name: null,
  utilization: 0.5,
  memoryUsedBytes: 1,
  memoryTotalBytes: 2,
  temperatureC: null,
  powerW: null,
  at: 0,
});

function collector(collect: (signal: AbortSignal) => Promise<GpuSample[]>): GpuCollector {
  return { kind: 'nvidia-smi', source: 'local', collect };
}

describe('Poller', () => {
  it('hands back ok, unavailable and error outcomes as values', async () => {
    const outcomes: PollOutcome[] = [];
    const answers = [
      () => Promise.resolve([sample('0')]),
      () => Promise.reject(new GpuUnavailableError('No devices were found')),
      () => Promise.reject(new Error('boom')),
    ];
    let i = 0;
    const p = new Poller({
      collector: collector(() => (answers[i++] as () => Promise<GpuSample[]>)()),
      intervalMs: 60_000,
      timeoutMs: 1000,
      onOutcome: (o) => outcomes.push(o),
    });
    await p.poll();
    await p.poll();
    await p.poll();
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'unavailable', 'error']);
    expect(outcomes[1]).toMatchObject({ reason: 'No devices were found' });
    expect(outcomes[2]).toMatchObject({ error: 'boom', timedOut: false });
  });

  it('never runs two polls of one collector at once', async () => {
    let running = 0;
    let maxRunning = 0;
    let skipped = 0;
    let release: () => void = () => undefined;
    const p = new Poller({
      collector: collector(async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise<void>((ok) => {
          release = ok;
        });
        running--;
        return [sample('0')];
      }),
      intervalMs: 60_000,
      timeoutMs: 5000,
      onOutcome: () => undefined,
      onSkip: () => skipped++,
    });
    const first = p.poll();
    expect(await p.poll()).toBe('skipped');
    expect(await p.poll()).toBe('skipped');
    release();
    expect(await first).toMatchObject({ kind: 'ok' });
    expect(maxRunning).toBe(1);
    expect(skipped).toBe(2);
  });

  it('times out a collector that ignores its signal, and polls again afterwards', async () => {
    const outcomes: PollOutcome[] = [];
    let calls = 0;
    const p = new Poller({
      collector: collector(() => {
        calls++;
        return new Promise(() => undefined);
      }),
      intervalMs: 60_000,
      timeoutMs: 50,
      onOutcome: (o) => outcomes.push(o),
    });
    const t0 = Date.now();
    await p.poll();
    await p.poll();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(calls).toBe(2);
    expect(outcomes).toHaveLength(2);
    expect(outcomes[0]).toMatchObject({ kind: 'error', timedOut: true, error: 'timed out after 50 ms' });
  });

  it('polls on its interval once started, and stop() aborts a running poll', async () => {
    let calls = 0;
    let aborted = false;
    const p = new Poller({
      collector: collector(
        (signal) =>
          new Promise((ok) => {
            calls++;
            if (calls < 3) ok([sample('0')]);
            signal.addEventListener('abort', () => {
              aborted = true;
            });
          }),
      ),
      intervalMs: 20,
      timeoutMs: 10_000,
      onOutcome: () => undefined,
    });
    p.start();
    await new Promise((r) => setTimeout(r, 150));
    await p.stop();
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(aborted).toBe(true);
    const after = calls;
    await new Promise((r) => setTimeout(r, 60));
    expect(calls).toBe(after);
  });
});
