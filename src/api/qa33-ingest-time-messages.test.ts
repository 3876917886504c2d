// POST /api/ingest says what is wrong with a record's started_at / ended_at and how to write one (QA33). A record
// without started_at was refused with '"started_at": Invalid input' (zod's word for a union none of whose options
// matched), and started_at "yesterday" with 'Invalid ISO datetime; "started_at": must not be before 1970' (the
// 1970 check ran on a time that did not parse, so it spoke of 1970 for a word).
import { describe, expect, it } from 'vitest';
import { parseBody } from '../http/index.js';
import { ingestRecordSchema } from './ingest.js';

const base = { provider: 'p', model: 'm' };
const HOW = 'an ISO 8601 date-time with Z or an offset (e.g. 2026-01-31T12:00:00Z) or epoch milliseconds';

function messageOf(body: unknown): string {
  try {
    parseBody(ingestRecordSchema, body);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('parsed');
}

describe('ingest: what a bad started_at or ended_at is told', () => {
  it('a missing started_at is required, with the forms it takes', () => {
    expect(messageOf(base)).toBe(`invalid body "started_at": required (${HOW}), missing`);
  });

  it.each([
    ['yesterday', { started_at: 'yesterday' }, 'started_at'],
    ['a date without a time', { started_at: '2026-01-31' }, 'started_at'],
    ['a boolean', { started_at: true }, 'started_at'],
    ['an ended_at that is no time', { started_at: 1_700_000_000_000, ended_at: 'soon' }, 'ended_at'],
  ])('%s: expected those forms, and not a word of 1970', (_, times, field) => {
    const msg = messageOf({ ...base, ...times });
    expect(msg).toBe(`invalid body "${field}": expected ${HOW}`);
  });

  it('a time before 1970 still says so', () => {
    expect(messageOf({ ...base, started_at: '1969-12-31T23:59:59Z' })).toBe(
      'invalid body "started_at": must not be before 1970',
    );
  });

  it('good times still parse', () => {
    expect(ingestRecordSchema.parse({ ...base, started_at: '2026-12-07T02:00:00+01:00' }).started_at).toBe(
      '2026-12-07T02:00:00+01:00',
    );
    expect(ingestRecordSchema.parse({ ...base, started_at: 0, ended_at: 5 }).ended_at).toBe(5);
  });
});
