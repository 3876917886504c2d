// Observability work llmscope sheds is told in the log as well as counted: `sink_dropped`, at most once per interval
// per process, with what each sink dropped since the last line (decision 193). Before, a full lane logged nothing.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeCall } from '../calls/testing.js';
import { validateConfig } from '../config/index.js';
import { createApp } from '../server.js';
import { DROP_LOG_EVERY_MS, dropLogger } from './drop-log.js';

interface Line {
  event?: string;
  sink?: string;
  reason?: string;
  dropped?: number;
  msg?: string;
}

const collect = () => {
  const lines: Line[] = [];
  return { lines, warn: (o: object, msg: string) => lines.push({ ...(o as Line), msg }) };
};

describe('dropLogger', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('tells the first drop at once, sums the interval after it per sink and reason, and tells them when it ends', () => {
    vi.useFakeTimers();
    const log = collect();
    const note = dropLogger(log, DROP_LOG_EVERY_MS, () => Date.now());
    note('store', 3, 'queue_full');
    expect(log.lines).toEqual([
      {
        event: 'sink_dropped',
        sink: 'store',
        reason: 'queue_full',
        dropped: 3,
        msg: 'sink store dropped 3 calls (queue_full); counted in llmscope_recorder_dropped_total',
      },
    ]);
    note('store', 2, 'queue_full');
    note('quality-evaluations', 1, 'queue_full');
    note('store', 5, 'queue_full');
    note('traces', 0, 'queue_full');
    expect(log.lines).toHaveLength(1);
    vi.advanceTimersByTime(DROP_LOG_EVERY_MS - 1);
    expect(log.lines).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(log.lines.slice(1).map(({ sink, dropped }) => `${sink} ${dropped}`)).toEqual([
      'store 7',
      'quality-evaluations 1',
    ]);
    expect(log.lines[2]?.msg).toBe(
      'sink quality-evaluations dropped 1 call (queue_full); counted in llmscope_recorder_dropped_total',
    );
    // quiet for an interval: the next drop is told at once again
    vi.advanceTimersByTime(DROP_LOG_EVERY_MS);
    expect(log.lines).toHaveLength(3);
    note('store', 1, 'sink_error');
    expect(log.lines).toHaveLength(4);
    expect(log.lines[3]).toMatchObject({ sink: 'store', reason: 'sink_error', dropped: 1 });
  });

  it("tells a shutdown's drops at once, with what was waiting", () => {
    vi.useFakeTimers();
    const log = collect();
    const note = dropLogger(log, DROP_LOG_EVERY_MS, () => Date.now());
    note('store', 1, 'queue_full');
    note('store', 4, 'queue_full');
    note('store', 6, 'shutdown');
    expect(log.lines.map(({ reason, dropped }) => `${reason} ${dropped}`)).toEqual([
      'queue_full 1',
      'queue_full 4',
      'shutdown 6',
    ]);
    vi.advanceTimersByTime(DROP_LOG_EVERY_MS * 2);
    expect(log.lines).toHaveLength(3);
  });

  it('tells what waits for the interval when the process stops (flush), and nothing twice', () => {
    vi.useFakeTimers();
    const log = collect();
    const note = dropLogger(log, DROP_LOG_EVERY_MS, () => Date.now());
    note('store', 2, 'queue_full');
    note('store', 3, 'queue_full');
    note('traces', 1, 'queue_full');
    expect(log.lines).toHaveLength(1);
    note.flush();
    expect(log.lines.map(({ sink, dropped }) => `${sink} ${dropped}`)).toEqual(['store 2', 'store 3', 'traces 1']);
    vi.advanceTimersByTime(DROP_LOG_EVERY_MS * 2);
    note.flush();
    expect(log.lines).toHaveLength(3);
  });
});

describe('serve: a recorder lane that overflows', () => {
  it('logs sink_dropped for the calls it shed, as many as llmscope_recorder_dropped_total counts', async () => {
    const r = validateConfig({
      server: { host: '127.0.0.1', port: 0 },
      providers: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9/v1' }],
      storage: { url: 'sqlite::memory:' },
      recorder: { capacity: 4 },
      gpu: { collector: 'none' },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const out: string[] = [];
    const app = await createApp(r.config, { logDestination: { write: (s: string) => out.push(s) } });
    try {
      for (let i = 0; i < 40; i++)
        app.ctx.recorder.record(fakeCall({ requestId: `d-${i}`, source: 'gateway', inputTokens: 10, outputTokens: 1 }));
      await app.ctx.recorder.flush();
      const counted = (await app.ctx.registry.getSingleMetric('llmscope_recorder_dropped_total')?.get())?.values ?? [];
      const bySink = new Map(counted.filter((v) => v.value > 0).map((v) => [String(v.labels.sink), v.value]));
      expect(bySink.size).toBeGreaterThan(0);
      const lines = out
        .join('')
        .split('\n')
        .filter((l) => l.includes('"sink_dropped"'))
        .map((l) => JSON.parse(l) as Line);
      // the first drop of each lane is told at once; the rest within 10 s wait for the interval's end
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) {
        expect(l.reason).toBe('queue_full');
        expect(bySink.get(String(l.sink))).toBeGreaterThanOrEqual(l.dropped ?? 0);
      }
      await app.close();
      // Stopped within the interval: what waited for its end is told as the process stops, so the log's sums are the
      // counter's (before, the drops after each lane's first were lost with the unref'd timer).
      const told = new Map<string, number>();
      for (const l of out
        .join('')
        .split('\n')
        .filter((x) => x.includes('"sink_dropped"'))
        .map((x) => JSON.parse(x) as Line))
        told.set(String(l.sink), (told.get(String(l.sink)) ?? 0) + (l.dropped ?? 0));
      expect(told).toEqual(bySink);
    } finally {
      await app.close();
    }
  });
});
