// /api/ingest refuses an ISO started_at or ended_at before 1970 as it refuses a negative epoch ms. A record with
// started_at '0000-01-01T00:00:00Z' (or any time before 1970, '1970-01-01T00:30:00+01:00' included) and no
// request_id answered 500 internal_error: its UUIDv7 request id holds 48 unsigned bits of ms (RangeError
// ERR_OUT_OF_RANGE in uuidv7); with one, it was stored with a negative start.
import { describe, expect, it } from 'vitest';
import { callToWire } from '../calls/call.js';
import { ingestBodySchema, ingestRecordSchema, recordToCall } from './ingest.js';
import { checkIngestBody } from './ingest-check.js';

const base = { provider: 'p', model: 'm' };

describe('ingest: ISO times before 1970', () => {
  it.each([
    { started_at: '0000-01-01T00:00:00Z' },
    { started_at: '1969-12-31T23:59:59.999Z' },
    { started_at: '1970-01-01T00:30:00+01:00' },
    { started_at: 1_700_000_000_000, ended_at: '1900-01-01T00:00:00Z' },
  ])('refuses %j, in zod and in the shortcut', (times) => {
    const rec = { ...base, ...times };
    const r = ingestBodySchema.safeParse(rec);
    expect(r.success).toBe(false);
    expect(checkIngestBody(JSON.parse(JSON.stringify(rec)))).toBeNull();
  });

  it('takes 1970-01-01T00:00:00Z, and its call has a request id and reads back', () => {
    const rec = { ...base, started_at: '1970-01-01T01:00:00+01:00', latency_ms: 5 };
    expect(checkIngestBody(JSON.parse(JSON.stringify(rec)))).not.toBeNull();
    const wire = callToWire(recordToCall(ingestRecordSchema.parse(rec)));
    expect(wire.started_at).toBe('1970-01-01T00:00:00.000Z');
    expect(wire.request_id).toMatch(/^00000000-0000-7/);
  });
});

// cost_usd is at most 1e12: two calls of 1e308 were taken (202), and from then on the month's cost summary, top,
// forecast and a budget's ratio read null (their sums were Infinity).
describe('ingest: cost_usd', () => {
  it.each([1e308, 1e12 + 1])('refuses %d, in zod and in the shortcut', (cost) => {
    const rec = { ...base, started_at: 1_700_000_000_000, cost_usd: cost };
    expect(ingestBodySchema.safeParse(rec).success).toBe(false);
    expect(checkIngestBody(JSON.parse(JSON.stringify(rec)))).toBeNull();
  });

  it('takes 1e12', () => {
    const rec = { ...base, started_at: 1_700_000_000_000, cost_usd: 1e12 };
    expect(ingestBodySchema.safeParse(rec).success).toBe(true);
    expect(checkIngestBody(JSON.parse(JSON.stringify(rec)))).not.toBeNull();
  });
});
