import { describe, expect, it } from 'vitest';
import type { LlmCall } from './call.js';
import { Recorder } from './recorder.js';

const call = (id: string): LlmCall => ({ requestId: id }) as LlmCall;

describe('Recorder', () => {
  it('runs enrichers before every sink and delivers each call once per sink', async () => {
    const seen: Record<string, string[]> = { a: [], b: [] };
    const r = new Recorder();
    r.addEnricher({ name: 'tag', enrich: (c) => Object.assign(c, { model: `m-${c.requestId}` }) });
    r.addSink({ name: 'a', write: (cs) => void seen.a?.push(...cs.map((c) => c.model)) });
    r.addSink({ name: 'b', write: async (cs) => void seen.b?.push(...cs.map((c) => c.model)) });
    for (let i = 0; i < 1000; i++) r.record(call(String(i)));
    expect(await r.flush()).toBe(true);
    expect(seen.a).toHaveLength(1000);
    expect(seen.b).toEqual(seen.a);
    expect(seen.a?.[0]).toBe('m-0');
  });

  it('never blocks record(): a stalled sink fills its own bounded queue and counts what it drops', async () => {
    const dropped: Record<string, number> = {};
    const r = new Recorder({
      capacity: 100,
      onDrop: (s, n) => {
        dropped[s] = (dropped[s] ?? 0) + n;
      },
    });
    let release!: () => void;
    const stalled = new Promise<void>((ok) => (release = ok));
    const fast: string[] = [];
    r.addSink({ name: 'stuck', maxBatch: 10, write: () => stalled });
    r.addSink({ name: 'fast', write: (cs) => void fast.push(...cs.map((c) => c.requestId)) });
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 50; i++) r.record(call(`${round}-${i}`));
      await new Promise((ok) => setImmediate(ok));
      await new Promise((ok) => setImmediate(ok));
    }
    expect(fast).toHaveLength(500);
    // One batch of 10 is in the stalled write, 100 wait in the queue, the rest are dropped and counted.
    expect(dropped.stuck).toBe(500 - 110);
    expect(r.depths().stuck).toBeLessThanOrEqual(100);
    release();
    expect(await r.flush(2000)).toBe(true);
  });

  it('counts a failing sink batch as dropped without affecting others', async () => {
    const dropped: Record<string, number> = {};
    const r = new Recorder({
      onDrop: (s, n) => {
        dropped[s] = (dropped[s] ?? 0) + n;
      },
    });
    const ok: string[] = [];
    r.addSink({ name: 'broken', write: () => Promise.reject(new Error('disk full')) });
    r.addSink({ name: 'ok', write: (cs) => void ok.push(...cs.map((c) => c.requestId)) });
    for (let i = 0; i < 42; i++) r.record(call(String(i)));
    await r.flush();
    expect(dropped.broken).toBe(42);
    expect(ok).toHaveLength(42);
  });

  it('an enricher that throws does not lose the call', async () => {
    const r = new Recorder();
    const got: string[] = [];
    r.addEnricher({
      name: 'bad',
      enrich: () => {
        throw new Error('boom');
      },
    });
    r.addSink({ name: 's', write: (cs) => void got.push(...cs.map((c) => c.requestId)) });
    r.record(call('x'));
    await r.flush();
    expect(got).toEqual(['x']);
  });

  it('close() flushes, closes sinks and counts calls recorded afterwards as dropped', async () => {
    const dropped: Record<string, number> = {};
    const r = new Recorder({
      onDrop: (s, n) => {
        dropped[s] = (dropped[s] ?? 0) + n;
      },
    });
    let closed = false;
    const got: string[] = [];
    r.addSink({
      name: 's',
      write: (cs) => void got.push(...cs.map((c) => c.requestId)),
      close: () => {
        closed = true;
      },
    });
    r.record(call('a'));
    await r.close();
    r.record(call('b'));
    expect(got).toEqual(['a']);
    expect(closed).toBe(true);
    expect(dropped.s).toBe(1);
  });

  it('a lingering sink gets calls from many dispatches in one batch, a full batch at once, and flush() does not wait', async () => {
    const r = new Recorder();
    const batches: number[] = [];
    r.addSink({ name: 'store', maxBatch: 50, lingerMs: 60_000, write: (cs) => void batches.push(cs.length) });
    const tick = () => new Promise((ok) => setImmediate(ok));
    for (let i = 0; i < 10; i++) {
      r.record(call(`a${i}`));
      await tick();
    }
    expect(batches).toEqual([]);
    expect(r.depths().store).toBe(10);
    for (let i = 0; i < 45; i++) r.record(call(`b${i}`));
    await tick();
    await tick();
    expect(batches).toEqual([50, 5]);
    r.record(call('c'));
    await tick();
    expect(batches).toEqual([50, 5]);
    const started = Date.now();
    expect(await r.flush(1000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(500);
    expect(batches).toEqual([50, 5, 1]);
  });
});

describe('Recorder retries', () => {
  const transient = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
  const retry = { retryForMs: 5_000, retryable: (e: unknown) => (e as { code?: string }).code === 'ECONNREFUSED' };

  it('writes a failed batch again while the failure is transient; calls recorded meanwhile wait, none lost', async () => {
    const dropped: Record<string, number> = {};
    const r = new Recorder({
      onDrop: (s, n) => {
        dropped[s] = (dropped[s] ?? 0) + n;
      },
    });
    const stored: string[] = [];
    let down = true;
    let attempts = 0;
    r.addSink({
      name: 'db',
      retry,
      write: (cs) => {
        attempts++;
        if (down) throw transient;
        stored.push(...cs.map((c) => c.requestId));
      },
    });
    for (let i = 0; i < 10; i++) r.record(call(`a${i}`));
    await new Promise((ok) => setTimeout(ok, 400));
    for (let i = 0; i < 10; i++) r.record(call(`b${i}`));
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(stored).toEqual([]);
    down = false;
    expect(await r.flush(5_000)).toBe(true);
    expect(stored.sort()).toEqual(
      [...Array.from({ length: 10 }, (_, i) => `a${i}`), ...Array.from({ length: 10 }, (_, i) => `b${i}`)].sort(),
    );
    expect(dropped).toEqual({});
  });

  it('drops (and counts) at once on a failure that is not transient, after retryForMs, and at shutdown', async () => {
    const dropped: Record<string, number> = {};
    const r = new Recorder({
      onDrop: (s, n, why) => {
        dropped[`${s}:${why}`] = (dropped[`${s}:${why}`] ?? 0) + n;
      },
    });
    r.addSink({ name: 'bug', retry, write: () => Promise.reject(new Error('constraint violated')) });
    r.addSink({ name: 'short', retry: { ...retry, retryForMs: 150 }, write: () => Promise.reject(transient) });
    r.addSink({ name: 'long', retry: { ...retry, retryForMs: 60_000 }, write: () => Promise.reject(transient) });
    for (let i = 0; i < 5; i++) r.record(call(String(i)));
    await new Promise((ok) => setTimeout(ok, 600));
    expect(dropped['bug:sink_error']).toBe(5);
    expect(dropped['short:sink_error']).toBe(5);
    expect(dropped['long:sink_error']).toBeUndefined();
    const t0 = Date.now();
    await r.close(200);
    await new Promise((ok) => setTimeout(ok, 100));
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(dropped['long:shutdown']).toBe(5);
  });
});
