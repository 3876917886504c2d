// The quality API's query strings, parsed by zod through the shared parseQuery: defaults, the window, and a 400 in
// the error shape naming the parameter for each kind of bad value.
import { describe, expect, it } from 'vitest';
import type { LlmscopeError } from '../errors.js';
import { Router } from '../http/index.js';
import { registerQualityRoutes } from './api.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');

function app() {
  const seen: Record<string, unknown>[] = [];
  const record =
    <T>(name: string, answer: T) =>
    async (q: Record<string, unknown>) => {
      seen.push({ [name]: q });
      return answer;
    };
  const service = {
    listReview: record('review', { items: [] }),
    summary: record('summary', {}),
    series: record('series', []),
  };
  const r = new Router();
  registerQualityRoutes(r, service as never, { bodyLimit: 1024, now: () => NOW });
  const get = async (path: string) => {
    let status = 0;
    let body: unknown;
    const res = {
      writeHead: (s: number) => {
        status = s;
      },
      setHeader: () => undefined,
      end: (b: string) => {
        body = JSON.parse(b);
      },
    };
    try {
      await r.dispatch({ method: 'GET', headers: {} } as never, res as never, new URL(path, 'http://h'));
    } catch (err) {
      return { status: (err as LlmscopeError).status, error: err as LlmscopeError };
    }
    return { status, body };
  };
  return { get, seen };
}

describe('quality API queries', () => {
  it('defaults: the review queue’s pending items, 50 at a time, over all time; summaries over the last 24 h', async () => {
    const a = app();
    expect((await a.get('/api/quality/review')).status).toBe(200);
    expect(a.seen.at(-1)).toEqual({ review: { status: 'pending', reason: undefined, limit: 50, cursor: undefined } });
    expect((await a.get('/api/quality/review?status=all&limit=5&from=0')).status).toBe(200);
    expect(a.seen.at(-1)).toMatchObject({ review: { status: 'all', limit: 5, from: 0, to: NOW } });
    // a cursor the queue gave (base64url of [called at, request id]) is passed on as it is
    const cursor = Buffer.from(JSON.stringify([NOW, 'req-1'])).toString('base64url');
    expect((await a.get(`/api/quality/review?cursor=${cursor}`)).status).toBe(200);
    expect(a.seen.at(-1)).toMatchObject({ review: { cursor } });
    expect((await a.get('/api/quality/summary?group_by=feature')).status).toBe(200);
    expect(a.seen.at(-1)).toEqual({ summary: { from: NOW - 86_400_000, to: NOW, groupBy: 'feature' } });
    expect((await a.get('/api/quality/series?from=2026-06-01T11:00:00Z')).status).toBe(200);
    expect(a.seen.at(-1)).toMatchObject({ series: { from: NOW - 3_600_000, to: NOW, step: 'minute' } });
  });

  it('a bad value is a 400 naming the parameter and what it takes', async () => {
    const a = app();
    const cases: [string, string, RegExp][] = [
      ['/api/quality/review?status=open', 'status', /expected pending, labeled or all, got "open"/],
      ['/api/quality/review?reason=thumbsdown', 'reason', /expected sample, thumbs_down, refusal, manual, flag/],
      ['/api/quality/review?limit=0', 'limit', /expected an integer from 1 to 500/],
      ['/api/quality/review?limit=ten', 'limit', /expected an integer from 1 to 500/],
      ['/api/quality/review?cursor=garbage', 'cursor', /not a cursor from this API/],
      ['/api/quality/summary?group_by=user', 'group_by', /expected "model" or "feature", got "user"/],
      [
        '/api/quality/summary?from=yesterday',
        'from',
        /ISO 8601 date-time .*, a date .* or epoch milliseconds, got "yesterday"/,
      ],
      ['/api/quality/summary?from=2000&to=1000', 'from', /"from" must be before "to"/],
      ['/api/quality/series?step=day', 'step', /expected minute or hour/],
      ['/api/quality/series?step=minute&from=0', 'step', /points is too many/],
    ];
    for (const [path, param, message] of cases) {
      const r = await a.get(path);
      expect(r.status, path).toBe(400);
      expect(r.error?.code, path).toBe('LLMSCOPE_ERR_INVALID_QUERY');
      expect(r.error?.param, path).toBe(param);
      expect(r.error?.message, path).toMatch(message);
    }
    // every reason the Quality page's select sends, and one evaluator's flag, are read
    for (const reason of ['sample', 'thumbs_down', 'refusal', 'flag', 'manual', 'flag:grounding']) {
      expect((await a.get(`/api/quality/review?reason=${reason}`)).status, reason).toBe(200);
      expect(a.seen.at(-1), reason).toMatchObject({ review: { reason } });
    }
  });
});
