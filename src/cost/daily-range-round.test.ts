// GET /api/cost/daily: each day's figures were rounded to the nano-dollar (r9) but the range's totals beside them were
// their floating sums: two days of $0.10 and $0.20 answered api_usd 0.30000000000000004 (total_usd and api_tool_usd
// too), where /api/cost/summary and the days themselves answer 0.3. They are now rounded as the other cost answers.
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { fakeCall } from '../calls/testing.js';
import { startCostApp } from './testing.js';

/** A call of its own cost, all of it one web search (so its tool spend is its cost). */
const searched = (requestId: string, day: string, costUsd: number): LlmCall =>
  fakeCall({
    requestId,
    startedAt: Date.parse(`${day}T12:00:00Z`),
    source: 'ingest',
    costUsd,
    price: {
      input: 0,
      cachedInput: 0,
      output: 0,
      source: 'test',
      tools: [{ tool: 'web_search', unitPrice: costUsd, units: 1 }],
    },
  });

interface Daily {
  api_usd: number;
  api_tool_usd: number | null;
  non_api_usd: number;
  total_usd: number;
  days: { day: string; api_usd: number }[];
}

describe('GET /api/cost/daily', () => {
  it('rounds the range totals as the days are rounded (0.1 + 0.2 is 0.3)', async () => {
    const app = await startCostApp();
    try {
      const base = await app.listen();
      app.ctx.recorder.record(searched('daily-a', '2026-12-01', 0.1));
      app.ctx.recorder.record(searched('daily-b', '2026-12-02', 0.2));
      await app.ctx.recorder.flush();
      const url = `${base}/api/cost/daily?from=2026-12-01T00:00:00Z&to=2026-12-03T00:00:00Z`;
      let body: Daily | undefined;
      for (let i = 0; i < 100; i++) {
        body = (await (await fetch(url)).json()) as Daily;
        if (body.days.every((d) => d.api_usd > 0)) break;
        await new Promise((ok) => setTimeout(ok, 50));
      }
      expect(body?.days.map((d) => [d.day, d.api_usd])).toEqual([
        ['2026-12-01', 0.1],
        ['2026-12-02', 0.2],
      ]);
      // before: 0.30000000000000004 each
      expect(body).toMatchObject({ api_usd: 0.3, api_tool_usd: 0.3, non_api_usd: 0, total_usd: 0.3 });
    } finally {
      await app.close();
    }
  });
});
