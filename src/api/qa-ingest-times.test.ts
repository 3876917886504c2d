// /api/ingest's numeric times and durations reach as far as its ISO times do (year 9999): a record past that was
// taken (202) and then broke what reads it. started_at 8e15 answered 500 (its UUIDv7 request id has 48 bits of ms);
// latency_ms 8.64e15 was stored with an end no Date can hold, and every GET /api/requests whose window held it, and
// GET /api/requests/:id, answered 500 (RangeError: Invalid time value) from then on.
import { describe, expect, it } from 'vitest';
import { callToWire } from '../calls/call.js';
import { ingestBodySchema, ingestRecordSchema, recordToCall } from './ingest.js';
import { checkIngestBody } from './ingest-check.js';

const base = { provider: 'p', model: 'm' };
const LAST = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

describe('ingest: times and durations', () => {
  it.each([
    { started_at: 8e15 },
    { started_at: LAST + 1 },
    { started_at: 1_700_000_000_000, ended_at: 9e15 },
    { started_at: 1_700_000_000_000, latency_ms: 8.64e15 },
    { started_at: 1_700_000_000_000, ttft_ms: 1e300 },
  ])('refuses %j, in zod and in the shortcut', (times) => {
    const rec = { ...base, ...times };
    expect(ingestBodySchema.safeParse(rec).success).toBe(false);
    expect(checkIngestBody(JSON.parse(JSON.stringify(rec)))).toBeNull();
  });

  it('takes the latest of them, and the call it makes can be read back', () => {
    const rec = ingestRecordSchema.parse({ ...base, started_at: LAST, latency_ms: LAST, ttft_ms: LAST, tpot_ms: 0 });
    const wire = callToWire(recordToCall(rec));
    expect(wire.started_at).toBe('9999-12-31T23:59:59.999Z');
    expect(Date.parse(wire.ended_at)).toBe(2 * LAST);
  });
});
