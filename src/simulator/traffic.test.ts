import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { freePort } from '../alerts/testing.js';
import { type RequestRecord, startSimulator } from './server.js';
import { startTraffic } from './traffic.js';

/** Polls until `cond` holds, failing after `ms`. */
async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('traffic generator', () => {
  it('sends a steady, attributed mix of models, endpoints and faults, and stops cleanly', async () => {
    const sim = await startSimulator({ ttftMs: 0, tpotMs: 0 });
    const seen: RequestRecord[] = [];
    sim.events.on('request', (r) => seen.push(r));
    const t0 = performance.now();
    const traffic = startTraffic({ baseUrl: sim.url, rps: 100, seed: 11 });
    const s = traffic.stats;
    // At least 2.5 s, and until answers of each kind have come back: how many complete in a given time depends on
    // the machine's load (the simulated latencies are 120–600 ms plus 8–28 ms a token, served in this process).
    await until(
      () =>
        performance.now() - t0 >= 2500 &&
        s.ok > 50 &&
        s.cancelled > 0 &&
        (s.byStatus[429] ?? 0) > 0 &&
        (s.byStatus[500] ?? 0) > 0 &&
        sim.stats.faults.refusal > 0,
      40_000,
    );
    const elapsed = performance.now() - t0;
    await traffic.stop();
    try {
      // a steady 100 per second over the time it ran (started, or skipped at the concurrency cap), no bursts
      expect(s.sent).toBeGreaterThan(200);
      expect(s.sent + s.skipped).toBeGreaterThan(0.8 * (elapsed / 10));
      expect(s.sent + s.skipped).toBeLessThanOrEqual(Math.floor(elapsed / 10) + 1);
      expect(s.inFlight).toBe(0);
      expect(s.ok + s.failed + s.errors + s.cancelled + s.aborted).toBe(s.sent);
      // Per-model latencies (e.g. claude-sonnet-4: 600 ms + 28 ms/token) leave many in flight when stop() aborts them.
      expect(s.ok).toBeGreaterThan(50);
      expect(s.errors).toBeLessThanOrEqual(sim.stats.faults.cut);
      expect(s.failed).toBeGreaterThan(0); // 429s and 500s asked of the simulator
      expect(s.byStatus[429]).toBeGreaterThan(0);
      expect(s.byStatus[500]).toBeGreaterThan(0);
      expect(s.cancelled).toBeGreaterThan(0);
      expect(sim.stats.cancelled).toBeGreaterThanOrEqual(s.cancelled);

      const header = (name: string) => new Set(seen.map((r) => r.headers[name]));
      expect(header('x-llmscope-user').size).toBeGreaterThan(20);
      expect(header('x-llmscope-team').size).toBe(5);
      expect(header('x-llmscope-feature').size).toBe(6);
      expect([...header('x-llmscope-session')].every((v) => typeof v === 'string' && v.length > 0)).toBe(true);
      expect(new Set(seen.map((r) => r.path))).toEqual(
        new Set(['/v1/chat/completions', '/v1/completions', '/v1/embeddings']),
      );
      const models = new Set(seen.map((r) => (r.body as { model: string }).model));
      for (const m of ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4', 'llama-3.1-8b-instruct', 'text-embedding-3-small']) {
        expect(models).toContain(m);
      }
      const bodies = seen.map((r) => r.body as { stream?: boolean });
      expect(bodies.some((b) => b.stream === true)).toBe(true);
      expect(bodies.some((b) => !b.stream)).toBe(true);
      expect(sim.stats.faults.refusal).toBeGreaterThan(0);
    } finally {
      await sim.close();
    }
  }, 60_000);

  it('keeps to its concurrency cap and counts what it skips', async () => {
    const sim = await startSimulator({ ttftMs: 0, tpotMs: 0, timeoutRate: 1 }); // nothing ever completes
    const traffic = startTraffic({ baseUrl: sim.url, rps: 200, concurrency: 5 });
    await until(() => traffic.stats.skipped > 20, 10_000);
    expect(traffic.stats.inFlight).toBe(5);
    expect(traffic.stats.sent).toBe(5);
    expect(sim.stats.inFlight).toBeLessThanOrEqual(5);
    await traffic.stop();
    expect(traffic.stats.aborted).toBe(5);
    await sim.close();
  });

  it('never throws when the target is down, and stops on its signal', async () => {
    const controller = new AbortController();
    // a port just closed, not a fixed one (another process on this machine may serve any fixed port)
    const down = `http://127.0.0.1:${await freePort()}/v1`;
    const traffic = startTraffic({ baseUrl: down, rps: 50, signal: controller.signal });
    await until(() => traffic.stats.errors > 5, 10_000);
    controller.abort();
    await traffic.stop();
    expect(traffic.stats.errors).toBeGreaterThan(5);
    expect(traffic.stats.ok).toBe(0);
    expect(traffic.stats.inFlight).toBe(0);
    const sent = traffic.stats.sent;
    await new Promise((r) => setTimeout(r, 100));
    expect(traffic.stats.sent).toBe(sent);
  });

  it('rejects a nonsensical rate', () => {
    expect(() => startTraffic({ baseUrl: 'http://127.0.0.1:1/v1', rps: 0 })).toThrow(/rps must be/);
  });
});
