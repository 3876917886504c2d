import { describe, expect, it } from 'vitest';
import { RecentIds } from './recent-ids.js';

describe('RecentIds', () => {
  it('keeps the last `capacity` ids and forgets the oldest first', () => {
    const r = new RecentIds(3);
    for (const id of ['a', 'b', 'c']) r.add(id);
    expect(['a', 'b', 'c'].map((id) => r.has(id))).toEqual([true, true, true]);
    r.add('d');
    expect(r.has('a')).toBe(false);
    expect(['b', 'c', 'd'].map((id) => r.has(id))).toEqual([true, true, true]);
    expect(r.size).toBe(3);
  });

  it('an id added again keeps its place: it is forgotten when its first adding is the oldest', () => {
    const r = new RecentIds(3);
    for (const id of ['a', 'b', 'c', 'a']) r.add(id);
    expect(r.size).toBe(3);
    r.add('d'); // a is the oldest
    expect(r.has('a')).toBe(false);
    expect(r.has('b')).toBe(true);
    r.add('a'); // back, now the newest; b goes
    expect([r.has('a'), r.has('b'), r.has('c'), r.has('d')]).toEqual([true, false, true, true]);
  });

  it('stays exact over many turns of the ring', () => {
    const r = new RecentIds(1000);
    for (let n = 0; n < 250_000; n++) r.add(`id-${n}`);
    expect(r.size).toBe(1000);
    expect(r.has('id-248999')).toBe(false);
    expect(r.has('id-249000')).toBe(true);
    expect(r.has('id-249999')).toBe(true);
  });

  it('holds at least one id whatever capacity it is given', () => {
    const r = new RecentIds(0);
    r.add('a');
    expect(r.has('a')).toBe(true);
    r.add('b');
    expect([r.has('a'), r.has('b')]).toEqual([false, true]);
  });

  it('addNew remembers an id not remembered as add does, the oldest forgotten first', () => {
    const a = new RecentIds(3);
    const b = new RecentIds(3);
    for (let n = 0; n < 10; n++) {
      const id = `id-${n}`;
      expect(a.has(id)).toBe(false);
      a.addNew(id);
      b.add(id);
      expect([...Array(10).keys()].map((k) => a.has(`id-${k}`))).toEqual(
        [...Array(10).keys()].map((k) => b.has(`id-${k}`)),
      );
    }
    expect(a.size).toBe(3);
  });
});
