import { describe, expect, it } from 'vitest';
import { isConnectFailure, isRetryableAdd, isTransientStoreError, markCommitInDoubt } from './transient.js';

const err = (code: string | undefined, message = 'x') => Object.assign(new Error(message), code ? { code } : {});

describe('isTransientStoreError', () => {
  it('says yes for a database that is restarting, unreachable, full or busy', () => {
    for (const e of [
      err('ECONNREFUSED'),
      err('57P01', 'terminating connection due to administrator command'),
      err('57P03', 'the database system is starting up'),
      err('08006'),
      err('53300', 'too many connections'),
      err('40P01'),
      err('SQLITE_FULL'),
      err('SQLITE_BUSY_SNAPSHOT'),
      err('SQLITE_IOERR_WRITE'),
      err(undefined, 'Connection terminated unexpectedly'),
      err(undefined, 'timeout exceeded when trying to connect'),
    ])
      expect(isTransientStoreError(e), String((e as { code?: string }).code ?? e.message)).toBe(true);
  });

  it('says no for what would fail the same way again', () => {
    for (const e of [
      err('23505', 'duplicate key'),
      err('42P01', 'relation does not exist'),
      err('SQLITE_READONLY'),
      err('SQLITE_CONSTRAINT_PRIMARYKEY'),
      err(undefined, 'boom'),
      null,
      'string',
    ])
      expect(isTransientStoreError(e)).toBe(false);
  });
});

describe('isRetryableAdd', () => {
  it('retries a passing failure unless the COMMIT it came from may have been applied', () => {
    expect(isRetryableAdd(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isRetryableAdd(markCommitInDoubt(new Error('Connection terminated unexpectedly')))).toBe(false);
    expect(isRetryableAdd(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetryableAdd(Object.assign(new Error('syntax'), { code: '42601' }))).toBe(false);
  });
});

describe('isConnectFailure', () => {
  it('is a connection that could not be had, not one lost mid-statement', () => {
    expect(isConnectFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectFailure(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isConnectFailure(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isConnectFailure(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(false);
  });
});
