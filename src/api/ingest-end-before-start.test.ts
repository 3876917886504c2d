// /api/ingest refuses a record whose ended_at is before its started_at: it was taken (202) and shown with an end
// before its start and a latency of 0. Equal times are a call of 0 ms, taken.
import { describe, expect, it } from 'vitest';
import { callToWire } from '../calls/call.js';
import { ingestBodySchema, ingestRecordSchema, recordToCall } from './ingest.js';
import { checkIngestBody } from './ingest-check.js';

const base = { provider: 'p', model: 'm' };

describe('ingest: ended_at before started_at', () => {
  it.each([
    { started_at: 1_700_000_000_000, ended_at: 1_699_999_999_999 },
    { started_at: '2026-12-05T10:00:00Z', ended_at: '2026-12-05T09:59:59.999Z' },
    { started_at: '2026-12-05T10:00:00+01:00', ended_at: '2026-12-05T08:30:00Z' },
    { started_at: 1_764_928_800_000, ended_at: '2025-12-05T09:59:59Z' },
  ])('refuses %j in zod, naming ended_at, and the shortcut leaves it to zod', (times) => {
    const rec = { ...base, ...times };
    const r = ingestBodySchema.safeParse({ calls: [rec] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['calls', 0, 'ended_at']);
    expect(r.error?.issues[0]?.message).toBe('must not be before started_at');
    expect(checkIngestBody(JSON.parse(JSON.stringify([rec])))).toBeNull();
  });

  it.each([
    { started_at: 1_700_000_000_000, ended_at: 1_700_000_000_000 },
    { started_at: '2026-12-05T10:00:00+01:00', ended_at: '2026-12-05T09:00:00.5Z' },
  ])('takes %j, with the latency its times give', (times) => {
    const rec = { ...base, ...times };
    expect(checkIngestBody(JSON.parse(JSON.stringify([rec])))).not.toBeNull();
    const wire = callToWire(recordToCall(ingestRecordSchema.parse(rec)));
    expect(wire.latency_ms).toBe(typeof rec.started_at === 'number' ? 0 : 500);
  });
});
