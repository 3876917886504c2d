// The trace-span store on SQLite and on a real PostgreSQL: anchors set once, pending spans taken by the first call,
// later spans kept beside the anchor, each span once, bounded per trace, pruned by age.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import type { SpanRecord } from '../../calls/index.js';
import { createStore } from '../../store/index.js';
import type { Store } from '../../store/store.js';
import { traceSpanStoreFor } from './index.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const span = (spanId: string, name = `s-${spanId}`): SpanRecord => ({
  traceId: T,
  spanId,
  parentSpanId: null,
  name,
  kind: 'internal',
  startTime: 1_700_000_000_000,
  endTime: 1_700_000_000_500,
  status: 'unset',
  attributes: { 'gen_ai.tool.name': 'search', n: 1 },
  events: [{ name: 'e', time: 1_700_000_000_100 }],
});

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

describe.each(['sqlite', 'postgres'] as const)('trace spans on %s', (kind) => {
  let store: Store;
  beforeAll(async () => {
    store = createStore(kind === 'sqlite' ? 'sqlite::memory:' : await pg.freshSchemaUrl());
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
  });

  it('pending spans go to the first call that claims the trace; later ones stay beside it, once each, bounded', async () => {
    const s = await traceSpanStoreFor(store.backend);
    expect(await s.anchors([T])).toEqual(new Map());
    expect(await s.add(T, null, [span('0000000000000001'), span('0000000000000002')], 5, 1000)).toEqual({
      kept: 2,
      duplicates: 0,
    });
    const first = await s.claim([{ traceId: T, requestId: 'otlp-a' }], 1000);
    expect(first.anchored).toEqual(new Map());
    const taken = first.pending.get(T) ?? [];
    expect(taken.map((x) => x.spanId)).toEqual(['0000000000000001', '0000000000000002']);
    expect(taken[0]).toEqual(span('0000000000000001'));
    // a second claim neither moves the anchor nor finds the spans again: it gives the anchor the trace has; in one
    // claim with a new trace, each is told apart
    expect(await s.claim([{ traceId: T, requestId: 'otlp-b' }], 1000)).toEqual({
      pending: new Map(),
      anchored: new Map([[T, 'otlp-a']]),
    });
    const U = 'c'.repeat(32);
    await s.add(U, null, [span('0000000000000005')], 5, 1000);
    const both = await s.claim(
      [
        { traceId: U, requestId: 'otlp-c' },
        { traceId: T, requestId: 'otlp-d' },
      ],
      1000,
    );
    expect(both.anchored).toEqual(new Map([[T, 'otlp-a']]));
    expect([...both.pending.keys()]).toEqual([U]);
    expect(both.pending.get(U)?.map((x) => x.spanId)).toEqual(['0000000000000005']);
    expect(await s.anchors([U])).toEqual(new Map([[U, 'otlp-c']]));
    expect(await s.anchors([T, 'f'.repeat(32)])).toEqual(new Map([[T, 'otlp-a']]));
    const later = ['0000000000000003', '0000000000000004', '0000000000000003'].map((id) => span(id));
    expect(await s.add(T, 'otlp-a', later, 5, 2000)).toEqual({ kept: 2, duplicates: 1 });
    const many = Array.from({ length: 6 }, (_, i) => span(`00000000000001${i}0`));
    expect((await s.add(T, 'otlp-a', many, 5, 2000)).kept).toBe(3);
    const kept = await s.spansOf(T, 'otlp-a');
    expect(kept).toHaveLength(5);
    expect(kept.map((x) => x.spanId)).toContain('0000000000000004');
    expect(await s.spansOf(T, 'otlp-b')).toEqual([]);
    // pending spans older than the pending window go, kept ones stay until retention
    await s.add('a'.repeat(32), null, [span('0000000000000009')], 5, 1500);
    expect(await s.prune(0, 1600)).toBe(1);
    expect(await s.spansOf(T, 'otlp-a')).toHaveLength(5);
    // a user's data erased: the spans beside their calls go, and the anchor
    await s.add('b'.repeat(32), null, [span('0000000000000007')], 5, 2500);
    await s.claim([{ traceId: 'b'.repeat(32), requestId: 'otlp-erased' }], 2500);
    await s.add('b'.repeat(32), 'otlp-erased', [span('0000000000000008')], 5, 2500);
    expect(await s.eraseCalls(['otlp-erased', 'otlp-other'])).toBe(1);
    expect(await s.spansOf('b'.repeat(32), 'otlp-erased')).toEqual([]);
    expect(await s.anchors(['b'.repeat(32)])).toEqual(new Map());
    await s.prune(3000, 3000);
    expect(await s.spansOf(T, 'otlp-a')).toEqual([]);
    expect(await s.anchors([T])).toEqual(new Map());
  });
});
