// Log lines written while a gateway call's code runs carry that call's ids (request_id, trace_id, span_id, provider,
// model) from its request context, and no other line does: the gateway's own lines (upstream_cut), a hook's, lines
// written at the same time by code that is not the call's (a timer), and the recorder's lines after the call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

let s: Stack;
let stopTicker = () => {};

beforeAll(async () => {
  s = await startStack({
    sim: { ttftMs: 1, tpotMs: 1, outputTokens: 8 },
    app: {
      modules: [
        (ctx) => {
          // A hook that logs at admission, and a timer that logs while calls are in flight.
          ctx.gateway.addHook({
            name: 'test-logging-hook',
            admit(a) {
              ctx.logger.info({ event: 'test_admit', hook_saw: a.requestId }, 'admitting');
            },
          });
          const timer = setInterval(() => ctx.logger.info({ event: 'test_tick' }, 'tick'), 1);
          stopTicker = () => clearInterval(timer);
          return { name: 'test-logging' };
        },
      ],
    },
  });
});

afterAll(async () => {
  stopTicker();
  await s?.close();
});

async function call(id: string, fault: string | null): Promise<void> {
  const r = await fetch(`${s.base}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-request-id': id,
      ...(fault ? { 'x-simulator-fault': fault } : {}),
    },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Hello there.' }] }),
  });
  await r.text().catch(() => '');
}

describe('request context on log lines', () => {
  it('lines written while a call runs carry its ids, and only those lines', async () => {
    const cut = Array.from({ length: 20 }, (_, i) => `ctx-cut-${i}`);
    const ok = Array.from({ length: 20 }, (_, i) => `ctx-ok-${i}`);
    await Promise.all([...cut.map((id) => call(id, 'cut')), ...ok.map((id) => call(id, null))]);
    await s.waitForCalls(40);
    await s.app.ctx.recorder.flush();
    const byId = new Map(s.calls.map((c) => [c.requestId, c]));

    const cutLines = s.logs.filter((l) => l.event === 'upstream_cut');
    expect(cutLines.map((l) => l.request_id).sort()).toEqual([...cut].sort());
    const admits = s.logs.filter((l) => l.event === 'test_admit');
    expect(admits).toHaveLength(40);
    for (const l of [...cutLines, ...admits]) {
      const c = byId.get(String(l.request_id));
      expect(c).toBeDefined();
      if (l.event === 'test_admit') expect(l.hook_saw).toBe(l.request_id);
      expect(l).toMatchObject({
        trace_id: c?.traceId,
        span_id: c?.internal?.spanId,
        provider: 'simulator',
        model: 'gpt-4o-mini',
      });
    }
    // A timer firing while calls were in flight is no call's code: its lines carry no call's ids.
    const ticks = s.logs.filter((l) => l.event === 'test_tick');
    expect(ticks.length).toBeGreaterThan(0);
    for (const l of ticks) expect(l).not.toHaveProperty('request_id');
    // Every line that names a call names one that was made.
    for (const l of s.logs) if (l.request_id !== undefined) expect(byId.has(String(l.request_id))).toBe(true);
  });
});
