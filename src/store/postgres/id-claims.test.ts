// A replica that cannot claim the ids of an ingest batch or an OTLP export records them unclaimed (fails open), so a
// batch sent to two replicas at once may count twice. That must show: each failed claim is counted in
// llmscope_id_claim_failures_total and warned about (at most every 10 s), and a claim that answers passes through.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { countedClaims } from './id-claims.js';

describe('countedClaims', () => {
  it('counts each failed claim, warns at most every 10 s, and passes answers and errors through', async () => {
    const registry = new Registry();
    const warned: Record<string, unknown>[] = [];
    let now = 1_000_000;
    let down = true;
    const claim = countedClaims(
      {
        claim: async (ids) => {
          if (down) throw new Error('timeout exceeded when trying to connect');
          return new Set(ids.slice(1));
        },
      },
      registry,
      { warn: ((o: Record<string, unknown>) => warned.push(o)) as never },
      () => now,
    );
    const value = async () =>
      (await registry.getSingleMetric('llmscope_id_claim_failures_total')?.get())?.values[0]?.value;
    expect(await value()).toBe(0);
    await expect(claim(['a', 'b'])).rejects.toThrow('timeout exceeded');
    await expect(claim(['a', 'b'])).rejects.toThrow('timeout exceeded');
    expect(await value()).toBe(2);
    expect(warned).toEqual([{ event: 'id_claim_failed', ids: 2, err: 'timeout exceeded when trying to connect' }]);
    now += 10_000;
    await expect(claim(['c'])).rejects.toThrow();
    expect(warned).toHaveLength(2);
    down = false;
    expect(await claim(['a', 'b', 'c'])).toEqual(new Set(['b', 'c']));
    expect(await value()).toBe(3);
  });
});
