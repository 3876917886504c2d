// The trace-span store on SQLite and on a real PostgreSQL: anchors set once, pending spans taken by the first call,
// later spans kept beside the anchor, each span once, bounded per trace, pruned by age.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import type { SpanRecord } from '../../calls/index.js';
import { createStore } from '../../store/index.js';
import { makeCall } from '../../store/store.contract.js';
import type { Store } from '../../store/store.js';
import { PostgresTraceSpanStore, SqliteTraceSpanStore, type TraceSpanStore, traceSpanStoreFor } from './index.js';

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

// 'sqlite-file': a file database, with the store's writer thread writing its calls
describe.each(['sqlite', 'sqlite-file', 'postgres'] as const)('trace spans on %s', (kind) => {
  let store: Store;
  let dir: string | null = null;
  beforeAll(async () => {
    if (kind === 'sqlite-file') dir = mkdtempSync(join(tmpdir(), 'llmscope-trace-spans-'));
    store = createStore(
      kind === 'sqlite'
        ? 'sqlite::memory:'
        : kind === 'sqlite-file'
          ? `sqlite:${join(dir as string, 'calls.db')}`
          : await pg.freshSchemaUrl(),
    );
    await store.migrate();
  });
  let shared: TraceSpanStore | null = null;
  /** The store's trace-span store (its migrations registered once). */
  const spanStore = async () => {
    shared ??= await traceSpanStoreFor(store.backend);
    return shared;
  };
  afterAll(async () => {
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pending spans go to the first call that claims the trace; later ones stay beside it, once each, bounded', async () => {
    const s = await spanStore();
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

  it('erasing a user forgets the spans whose attributes name them, waiting or beside another call, and no other', async () => {
    const s = await spanStore();
    const X = 'f1'.repeat(16);
    const naming = (spanId: string, attributes: SpanRecord['attributes']): SpanRecord => ({
      ...span(spanId),
      traceId: X,
      attributes,
    });
    // waiting for a call of the trace: one naming the user, one naming another user, one naming nobody
    await s.add(
      X,
      null,
      [
        naming('0000000000000061', { 'user.id': 'erin' }),
        naming('0000000000000062', { 'user.id': 'erin-2', note: 'erin' }),
        naming('0000000000000063', { n: 1 }),
      ],
      10,
      7000,
    );
    expect(await s.eraseNaming('erin', ['user.id', 'llmscope.user'])).toBe(1);
    const claimed = await s.claim([{ traceId: X, requestId: 'otlp-bob' }], 7000);
    expect(claimed.pending.get(X)?.map((x) => x.spanId)).toEqual(['0000000000000062', '0000000000000063']);
    // kept beside another user's call; a number id as an app may send it
    await s.add(
      X,
      'otlp-bob',
      [naming('0000000000000064', { 'llmscope.user': 'erin' }), naming('0000000000000065', { 'user.id': 42 })],
      10,
      7000,
    );
    expect(await s.eraseNaming('erin', ['user.id', 'llmscope.user'])).toBe(1);
    expect(await s.eraseNaming('42', ['user.id', 'llmscope.user'])).toBe(1);
    expect(await s.spansOf(X, 'otlp-bob')).toEqual([]);
    await s.eraseCalls(['otlp-bob']);
  });

  it('a trace anchored by its only call gets its row once something else of it comes; after a restart its stored call is its anchor', async () => {
    const s = await spanStore();
    const V = 'd'.repeat(32);
    const W = 'e'.repeat(32);
    expect(await s.claim([{ traceId: V, requestId: 'otlp-v1' }], 5000)).toEqual({
      pending: new Map(),
      anchored: new Map(),
    });
    const rowsOf = (t: string) =>
      store.backend.kind === 'sqlite'
        ? store.backend.db.prepare('SELECT count(*) FROM otlp_trace_anchors WHERE trace_id = ?').pluck().get(t)
        : null;
    // SQLite writes no row for it yet (PostgreSQL writes every anchor's at once)
    if (store.backend.kind === 'sqlite') expect(rowsOf(V)).toBe(0);
    // a later export's call of the trace, and its later spans, find the anchor as before
    expect((await s.claim([{ traceId: V, requestId: 'otlp-v2' }], 5000)).anchored).toEqual(new Map([[V, 'otlp-v1']]));
    expect(await s.anchors([V])).toEqual(new Map([[V, 'otlp-v1']]));
    if (store.backend.kind === 'sqlite') expect(rowsOf(V)).toBe(1);
    await s.add(V, 'otlp-v1', [span('0000000000000021')], 5, 5000);
    expect((await s.spansOf(V, 'otlp-v1')).map((x) => x.spanId)).toEqual(['0000000000000021']);
    // a trace whose anchor was only in memory when the process stopped: its earliest stored call anchors it
    await s.claim([{ traceId: W, requestId: `otlp-000000000002-${W}-0000000000000031` }], 5000);
    await store.insertCalls([
      makeCall(1, { requestId: `otlp-000000000003-${W}-0000000000000032`, traceId: W, startedAt: 3 }),
      makeCall(2, { requestId: `otlp-000000000002-${W}-0000000000000031`, traceId: W, startedAt: 2 }),
    ]);
    const restarted =
      store.backend.kind === 'sqlite'
        ? new SqliteTraceSpanStore(store.backend.db)
        : new PostgresTraceSpanStore(store.backend);
    expect(await restarted.anchors([W])).toEqual(new Map([[W, `otlp-000000000002-${W}-0000000000000031`]]));
    expect((await restarted.claim([{ traceId: W, requestId: 'otlp-w3' }], 6000)).anchored).toEqual(
      new Map([[W, `otlp-000000000002-${W}-0000000000000031`]]),
    );
    await s.eraseCalls(['otlp-v1']);
    expect(await s.anchors([V])).toEqual(new Map());
    if (store.backend.kind === 'sqlite') {
      // rows only where something else of the trace came (V: a second call and a span; W: after the restart)
      const rows = store.backend.db.prepare('SELECT trace_id FROM otlp_trace_anchors ORDER BY trace_id').pluck().all();
      expect(rows).toEqual([W]);
    }
  });

  it.skipIf(kind !== 'sqlite')(
    'remembers at most its capacity of anchors kept only in memory, the oldest forgotten first',
    async () => {
      if (store.backend.kind !== 'sqlite') return;
      const s = new SqliteTraceSpanStore(store.backend.db, 2);
      const [A, B, C] = ['1a'.repeat(16), '1b'.repeat(16), '1c'.repeat(16)];
      for (const t of [A, B]) await s.claim([{ traceId: t, requestId: `otlp-${t}` }], 9000);
      expect(await s.anchors([A, B])).toEqual(
        new Map([
          [A, `otlp-${A}`],
          [B, `otlp-${B}`],
        ]),
      );
      // A and B now have rows (spans were about to be kept beside them): C's claim pushes A out of memory, not away
      await s.claim([{ traceId: C, requestId: `otlp-${C}` }], 9000);
      expect(await s.anchors([A, C])).toEqual(
        new Map([
          [A, `otlp-${A}`],
          [C, `otlp-${C}`],
        ]),
      );
      // pruned, then claimed again: the new anchor stays remembered when the pruned one's place comes round
      await s.prune(9500, 9500);
      expect(await s.anchors([A, B, C])).toEqual(new Map());
      await s.claim([{ traceId: B, requestId: 'otlp-b2' }], 9600);
      await s.claim([{ traceId: 'd'.repeat(32), requestId: 'otlp-d' }], 9600);
      expect((await s.claim([{ traceId: B, requestId: 'otlp-b3' }], 9600)).anchored).toEqual(new Map([[B, 'otlp-b2']]));
    },
  );
});
