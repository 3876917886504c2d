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

describe('Recorder lanes with more than one batch in flight', () => {
  /** A sink whose writes finish only when released, in any order. */
  function heldSink(name: string, inFlight?: number) {
    const writes: { ids: string[]; release: () => void; fail: (e: unknown) => void }[] = [];
    const stored: string[] = [];
    let attempts = 0;
    const sink = {
      name,
      lossless: true,
      maxBatch: 10,
      inFlight,
      retry: { retryForMs: 5_000, retryable: () => true },
      write: (cs: readonly { requestId: string }[]) =>
        new Promise<void>((ok, fail) => {
          attempts++;
          const ids = cs.map((c) => c.requestId);
          let settled = false;
          writes.push({
            ids,
            release: () => {
              if (settled) return;
              settled = true;
              stored.push(...ids);
              ok();
            },
            fail: (e) => {
              if (settled) return;
              settled = true;
              fail(e);
            },
          });
        }),
    };
    return { sink, writes, stored, attempts: () => attempts };
  }
  const tick = () => new Promise((ok) => setImmediate(ok));

  it('hands the next batch over while one is written (inFlight 2); one at a time by default', async () => {
    const two = heldSink('two', 2);
    const one = heldSink('one');
    const r = new Recorder();
    r.addSink(two.sink);
    r.addSink(one.sink);
    for (let i = 0; i < 35; i++) r.record(call(String(i)));
    await tick();
    expect(two.writes.map((w) => w.ids.length)).toEqual([10, 10]);
    expect(one.writes.map((w) => w.ids.length)).toEqual([10]);
    // The second batch finishing first frees a place for the third; the first is still being written
    two.writes[1]?.release();
    await tick();
    expect(two.writes).toHaveLength(3);
    const flushed = r.flush(2_000);
    for (let k = 0; k < 20; k++) {
      for (const w of [...two.writes, ...one.writes]) w.release();
      await tick();
    }
    expect(await flushed).toBe(true);
    expect(new Set(two.stored).size).toBe(35);
    expect(two.stored.sort()).toEqual(one.stored.sort());
  });

  it('a failed batch is retried while a later one is written: none lost, each written once', async () => {
    const h = heldSink('db', 2);
    const dropped: string[] = [];
    const r = new Recorder({ onDrop: (_s, _n, _why, cs) => void dropped.push(...cs.map((c) => c.requestId)) });
    r.addSink(h.sink);
    for (let i = 0; i < 20; i++) r.record(call(String(i)));
    await tick();
    h.writes[0]?.fail(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' }));
    h.writes[1]?.release();
    const flushed = r.flush(3_000);
    for (let k = 0; k < 40 && h.stored.length < 20; k++) {
      await new Promise((ok) => setTimeout(ok, 20));
      for (const w of h.writes.slice(2)) w.release();
    }
    expect(await flushed).toBe(true);
    expect(h.attempts()).toBe(3);
    expect(h.stored.sort()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)).sort());
    expect(dropped).toEqual([]);
  });

  it('memory stays bounded: at most inFlight batches are written while senders wait for room in the queue', async () => {
    const h = heldSink('store', 2);
    const r = new Recorder({ capacity: 50 });
    r.addSink(h.sink);
    for (let i = 0; i < 20; i++) r.record(call(`a${i}`));
    await tick();
    expect(h.writes).toHaveLength(2);
    const release = await r.holdRoom(50, 0);
    expect(release).not.toBeNull();
    for (let i = 0; i < 50; i++) r.record(call(`b${i}`));
    release?.();
    await tick();
    // 20 being written and 50 queued: no third write is started, and no sender gets room
    expect(h.writes).toHaveLength(2);
    expect(r.hasRoom(1)).toBe(false);
    expect(await r.holdRoom(1, 0)).toBeNull();
    h.writes[0]?.release();
    await tick();
    expect(h.writes).toHaveLength(3);
    expect(r.hasRoom(10)).toBe(true);
    expect(r.hasRoom(11)).toBe(false);
    const flushed = r.flush(2_000);
    for (let k = 0; k < 20; k++) {
      for (const w of h.writes) w.release();
      await tick();
    }
    expect(await flushed).toBe(true);
    expect(h.stored).toHaveLength(70);
  });
});
