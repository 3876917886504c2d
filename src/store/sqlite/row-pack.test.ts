// The packed form of a batch's rows (row-pack.ts) gives back every value as it was: kind, number bits, text.
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { CALL_COLUMNS, callRowValues, SQLITE_ROW } from '../call-row.js';
import { makeCall } from '../store.contract.js';
import { packRows, transferOf, unpackRows } from './row-pack.js';

describe('packRows / unpackRows', () => {
  it('round-trips numbers (−0, fractions, huge, NaN), texts of any content, nulls and booleans', () => {
    const rows = [
      [0, -0, 0.1 + 0.2, 1796424536626.25, Number.MAX_SAFE_INTEGER, -1e-300, Number.NaN, Number.POSITIVE_INFINITY],
      ['', 'a', '\u0000nul\u0000', '😀 emoji', '\ud800 lone surrogate', 'é'.repeat(10_000), '[]', null],
      [null, null, true, false, 'x', 1, '', 2],
    ];
    const packed = packRows(rows);
    expect(packed).not.toBeNull();
    const back = unpackRows(structuredClone(packed) as NonNullable<typeof packed>);
    expect(back).toEqual(rows);
    expect(Object.is(back[0]?.[1], -0)).toBe(true);
    expect(back.map((r) => r.map((v) => typeof v))).toEqual(rows.map((r) => r.map((v) => typeof v)));
  });

  it('round-trips real calls rows, and moves its buffers with the message', () => {
    const rows = Array.from({ length: 300 }, (_, i) =>
      callRowValues(makeCall(i, { metadata: i % 2 ? { tenant: `t-${i}`, ключ: 'значение' } : null }), SQLITE_ROW),
    );
    const packed = packRows(rows);
    if (!packed) throw new Error('not packed');
    expect(packed.width).toBe(CALL_COLUMNS.length);
    expect(transferOf(packed)).toHaveLength(3);
    const { port1, port2 } = new MessageChannel();
    return new Promise<void>((resolve) => {
      port2.once('message', (m: typeof packed) => {
        expect(unpackRows(m)).toEqual(rows);
        port1.close();
        resolve();
      });
      port1.postMessage(packed, transferOf(packed));
      expect(packed.kinds.byteLength).toBe(0); // moved, not copied
    });
  });

  it('declines rows it cannot carry (a value of another kind, rows of different widths)', () => {
    expect(packRows([[1, Buffer.from('x') as unknown as string]])).toBeNull();
    expect(packRows([[1, undefined as unknown as null]])).toBeNull();
    expect(packRows([[1, 2], [3]])).toBeNull();
    expect(unpackRows(packRows([]) as NonNullable<ReturnType<typeof packRows>>)).toEqual([]);
  });
});
