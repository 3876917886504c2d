// A replica on PostgreSQL claims the ids of an ingest batch or an OTLP export before recording them, and fails open
// when the claim cannot be made. A claim that fails once (a pool or connection error under load) is asked again, so
// a batch sent to two replicas at once still counts once (session 31's final CI: 40 requests for 20, once).
import { describe, expect, it } from 'vitest';
import { claimedElsewhere } from './ingest.js';

describe('claimedElsewhere', () => {
  it('asks a failed claim again once, and fails open after a second failure', async () => {
    let asked = 0;
    const flaky = async (ids: readonly string[]) => {
      asked++;
      if (asked === 1) throw new Error('timeout exceeded when trying to connect');
      return new Set(ids.filter((id) => id !== 'b'));
    };
    // before: [] (the first failure failed open: b recorded again here)
    expect(await claimedElsewhere(flaky, ['a', 'b', 'c'], new Set(['c']))).toEqual(['b']);
    expect(asked).toBe(2);
    const down = async () => {
      throw new Error('connection refused');
    };
    expect(await claimedElsewhere(down, ['a'], new Set())).toEqual([]);
  });
});
