// The shared call-row codec: a call's values line up with CALL_COLUMNS and read back as the same call on both
// engines' row shapes (SQLite's 1/0 booleans and compact spans; PostgreSQL's booleans, NUL-free text, plain spans).
import { describe, expect, it } from 'vitest';
import { CALL_COLUMNS, type CallRow, callOfRow, callRowValues, POSTGRES_ROW, SQLITE_ROW } from './call-row.js';
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

  it('replaces NUL in text for PostgreSQL only, and stores non-finite numbers as unknown', () => {
    const c = makeCall(5, { model: 'gpt\u0000x', ttftMs: Number.NaN });
    const at = (name: string) => CALL_COLUMNS.findIndex(([col]) => col === name);
    expect(callRowValues(c, POSTGRES_ROW)[at('model')]).toBe('gpt\uFFFDx');
    expect(callRowValues(c, SQLITE_ROW)[at('model')]).toBe('gpt\u0000x');
    expect(callRowValues(c, SQLITE_ROW)[at('ttft_ms')]).toBeNull();
  });
});
