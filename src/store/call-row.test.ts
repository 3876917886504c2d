// The shared call-row codec: a call's values line up with CALL_COLUMNS and read back as the same call on both
// engines' row shapes (SQLite's 1/0 booleans and compact spans; PostgreSQL's booleans, NUL-free text, plain spans).
import { describe, expect, it } from 'vitest';
import {
  CALL_COLUMNS,
  type CallRow,
  callOfRow,
  callRowValues,
  POSTGRES_ROW,
  priceColumn,
  SQLITE_ROW,
} from './call-row.js';
import { makeBareCall, makeCall } from './store.contract.js';

const rowOf = (values: unknown[]): CallRow =>
  Object.fromEntries(CALL_COLUMNS.map(([c], i) => [c, values[i]])) as unknown as CallRow;

describe('call row', () => {
  it('has one value per column, with each engine’s booleans and spans form', () => {
    const c = makeCall(2);
    const lite = callRowValues(c, SQLITE_ROW);
    const pg = callRowValues(c, POSTGRES_ROW);
    expect(lite).toHaveLength(CALL_COLUMNS.length);
    expect(pg).toHaveLength(CALL_COLUMNS.length);
    const at = (name: string) => CALL_COLUMNS.findIndex(([col]) => col === name);
    expect(lite[at('stream')]).toBe(1);
    expect(pg[at('stream')]).toBe(true);
    expect(JSON.parse(lite[at('spans')] as string)[0]).toBe(0); // compact
    expect(JSON.parse(pg[at('spans')] as string)[0].spanId).toBe('b'.repeat(16)); // objects
  });

  it.each([
    ['sqlite', SQLITE_ROW],
    ['postgres', POSTGRES_ROW],
  ])('reads back the call it wrote (%s)', (_, dialect) => {
    for (const c of [makeCall(3), makeBareCall(4), makeCall(11)])
      expect(callOfRow(rowOf(callRowValues(c, dialect)))).toEqual(c);
  });

  it('writes a price column as JSON.stringify does, whichever prices came before (the reused texts)', () => {
    const p = (o: Record<string, unknown>) => o as unknown as Parameters<typeof priceColumn>[0];
    const prices = [
      { input: 1.5e-7, cachedInput: 7.5e-8, output: 6e-7, source: 'openai/gpt-4o-mini' },
      { input: 1.5e-7, cachedInput: 7.5e-8, output: 6e-7, source: 'openai/gpt-4o-mini' },
      // same figures, another key order; another figure; one key more or fewer
      { cachedInput: 7.5e-8, input: 1.5e-7, output: 6e-7, source: 'openai/gpt-4o-mini' },
      { input: 1.5e-7, cachedInput: 7.5e-8, output: 6.1e-7, source: 'openai/gpt-4o-mini' },
      { input: 1.5e-7, cachedInput: 7.5e-8, output: 6e-7, cacheWrite: 1.875e-7, source: 'openai/gpt-4o-mini' },
      { input: 1.5e-7, cachedInput: 7.5e-8, output: 6e-7, source: 'openai/gpt-4o-mini', extra: 'x' },
      { input: 1.5e-7, output: 6e-7, source: 'openai/gpt-4o-mini' },
      { input: 1.5e-7, cachedInput: 7.5e-8, output: 6e-7, source: 'config' },
      // values JSON writes alike (-0 as 0) or as null (NaN, Infinity); text needing escapes; nested, numeric keys
      { input: -0, cachedInput: 0, output: Number.NaN, source: 'a"b\\c\u0000' },
      { input: 0, cachedInput: -0, output: Number.POSITIVE_INFINITY, source: 'a"b\\c\u0000' },
      { input: 1, cachedInput: 2, output: 3, source: 'nested', tiers: [{ upTo: 1, input: 2 }] },
      { input: 1, cachedInput: 2, output: 3, source: 'nested', tiers: [{ upTo: 1, input: 3 }] },
      { 2: 'two', 1: 'one', input: 1, source: 'numeric keys' },
      { 1: 'one', 2: 'two', input: 1, source: 'numeric keys' },
      { input: 1, cachedInput: 2, output: 3, source: 'bool', flag: true },
      { input: 1, cachedInput: 2, output: 3, source: 'bool', flag: false },
    ];
    for (let round = 0; round < 3; round++)
      for (const q of prices) expect(priceColumn(p({ ...q }))).toBe(JSON.stringify(q));
    // not a plain object: as JSON.stringify writes it (toJSON, inherited values)
    class Priced {
      input = 1;
      source = 'class';
      toJSON() {
        return { custom: true };
      }
    }
    expect(priceColumn(p(new Priced() as unknown as Record<string, unknown>))).toBe('{"custom":true}');
    const inherits = Object.assign(Object.create({ inherited: 1 }), { input: 1, source: 'proto' });
    expect(priceColumn(p(inherits))).toBe(JSON.stringify(inherits));
    // a source of many figures, more than are kept for it
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < 10; i++) {
        const q = { input: i, cachedInput: 0, output: 1, source: 'many' };
        expect(priceColumn(p(q))).toBe(JSON.stringify(q));
      }
  });

  it('replaces NUL in text for PostgreSQL only, and stores non-finite numbers as unknown', () => {
    const c = makeCall(5, { model: 'gpt\u0000x', ttftMs: Number.NaN });
    const at = (name: string) => CALL_COLUMNS.findIndex(([col]) => col === name);
    expect(callRowValues(c, POSTGRES_ROW)[at('model')]).toBe('gpt\uFFFDx');
    expect(callRowValues(c, SQLITE_ROW)[at('model')]).toBe('gpt\u0000x');
    expect(callRowValues(c, SQLITE_ROW)[at('ttft_ms')]).toBeNull();
  });
});
