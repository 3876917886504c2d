// BackgroundCalls: a background response answered queued is held until a poll relays it finished, then recorded once
// with that response's usage; held calls are bounded in number and time, and released as they are at shutdown.
import { describe, expect, it, vi } from 'vitest';
import { arrivedInternals, type LlmCall } from '../../calls/index.js';
import { fakeCall } from '../../calls/testing.js';
import { BackgroundCalls, isFinishedAnswer, polledResponse } from './background.js';

const queued = (id: string, over: Partial<LlmCall> = {}): LlmCall => {
  const internal = arrivedInternals(0, 'a', 'b', null);
  internal.responseId = id;
  return fakeCall({
    endpoint: 'responses',
    finishReason: 'queued',
    inputTokens: null,
    outputTokens: null,
    tokenSource: null,
    internal,
    ...over,
  });
};
const done = (id: string, status = 'completed') =>
  JSON.stringify({
    id,
    object: 'response',
    status,
    output: [{ type: 'message', content: [{ type: 'output_text', text: 'Done.' }] }],
    usage: { input_tokens: 20, output_tokens: 9, output_tokens_details: { reasoning_tokens: 4 } },
  });

describe('BackgroundCalls', () => {
  it('holds only an unfinished non-streamed background response, and finishes it from the poll that completes it', () => {
    const recorded: LlmCall[] = [];
    const b = new BackgroundCalls((c) => recorded.push(c));
    expect(b.hold(queued('resp_1', { stream: true }))).toBe(false);
    expect(b.hold(queued('resp_1', { finishReason: 'stop' }))).toBe(false);
    expect(b.hold(queued('resp_1', { status: 'client_error' }))).toBe(false);
    expect(b.hold(queued('resp_1'))).toBe(true);
    expect(b.waitingOn('GET', '/responses/resp_1')).toBe('resp_1');
    expect(b.waitingOn('POST', '/responses/resp_1/cancel?x=1')).toBe('resp_1');
    expect(b.waitingOn('DELETE', '/responses/resp_1')).toBeNull();
    expect(b.waitingOn('GET', '/responses/resp_1/input_items')).toBeNull();
    // a poll following the response's event stream is read too (its final event carries the response)
    expect(b.waitingOn('GET', '/responses/resp_1?stream=true')).toBe('resp_1');
    expect(b.waitingOn('GET', '/responses/resp_2')).toBeNull();
    // still in progress, another response's body, not JSON: held on
    expect(b.finish('resp_1', JSON.stringify({ id: 'resp_1', status: 'in_progress', usage: null }))).toBe(false);
    expect(b.finish('resp_1', done('resp_other'))).toBe(false);
    expect(b.finish('resp_1', '{"id": "resp_1", ')).toBe(false);
    expect(recorded).toEqual([]);
    expect(b.finish('resp_1', done('resp_1'))).toBe(true);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      status: 'ok',
      finishReason: 'stop',
      inputTokens: 20,
      outputTokens: 9,
      reasoningTokens: 4,
      tokenSource: 'usage',
    });
    expect(recorded[0]?.internal?.outputText).toBe('Done.');
    // finished once: a later poll finds nothing held
    expect(b.waitingOn('GET', '/responses/resp_1')).toBeNull();
    expect(b.finish('resp_1', done('resp_1'))).toBe(false);
    expect(recorded).toHaveLength(1);
  });

  it('in a gateway worker, names any poll (held by another worker or not) and tells a finished answer', () => {
    const b = new BackgroundCalls(() => undefined);
    expect(b.waitingOn('GET', '/responses/resp_9')).toBeNull();
    expect(b.waitingOn('GET', '/v1/responses/resp_9', true)).toBe('resp_9');
    expect(b.waitingOn('POST', '/responses/resp_9/cancel', true)).toBe('resp_9');
    expect(b.waitingOn('GET', '/responses/resp_9?stream=true', true)).toBe('resp_9');
    expect(b.waitingOn('GET', '/responses/resp_9/input_items', true)).toBeNull();
    expect(b.holds('resp_9')).toBe(false);
    expect(isFinishedAnswer('resp_9', done('resp_9'))).toBe(true);
    expect(isFinishedAnswer('resp_9', done('resp_9', 'cancelled'))).toBe(true);
    expect(isFinishedAnswer('resp_9', done('resp_9', 'in_progress'))).toBe(false);
    expect(isFinishedAnswer('resp_9', done('resp_9', 'queued'))).toBe(false);
    expect(isFinishedAnswer('resp_9', done('resp_8'))).toBe(false);
    // an ordinary stored response retrieved (background: false) is held by no worker
    const ordinary = { ...JSON.parse(done('resp_9')), background: false };
    expect(isFinishedAnswer('resp_9', JSON.stringify(ordinary))).toBe(false);
    expect(isFinishedAnswer('resp_9', JSON.stringify({ ...ordinary, background: true }))).toBe(true);
    expect(isFinishedAnswer('resp_9', '{"id":"resp_9","status":')).toBe(false);
    expect(isFinishedAnswer('resp_9', 'null')).toBe(false);
  });

  it('records a failed response as upstream_error with its code (rate_limited for a rate limit), a cancelled one as cancelled', () => {
    const recorded: LlmCall[] = [];
    const b = new BackgroundCalls((c) => recorded.push(c));
    b.hold(queued('resp_f'));
    b.hold(queued('resp_c', { finishReason: 'in_progress' }));
    b.hold(queued('resp_r'));
    const failed = { id: 'resp_f', status: 'failed', error: { code: 'server_error', message: 'It broke.' } };
    b.finish('resp_f', JSON.stringify(failed));
    b.finish('resp_c', JSON.stringify({ id: 'resp_c', status: 'cancelled', output: [], usage: null }));
    b.finish('resp_r', JSON.stringify({ id: 'resp_r', status: 'failed', error: { code: 'rate_limit_exceeded' } }));
    expect(recorded.map((c) => [c.status, c.finishReason, c.errorType, c.errorMessage, c.tokenSource])).toEqual([
      ['upstream_error', 'error', 'server_error', 'It broke.', null],
      ['cancelled', 'cancelled', 'response_cancelled', undefined, null],
      ['rate_limited', 'error', 'rate_limit_exceeded', undefined, null],
    ]);
  });

  it('records a call as it was answered when no poll finishes it in time, when pushed out, and at shutdown', () => {
    vi.useFakeTimers();
    try {
      const recorded: string[] = [];
      const b = new BackgroundCalls((c) => recorded.push(c.internal?.responseId as string), {
        holdMs: 1000,
        maxHeld: 2,
      });
      b.hold(queued('resp_a'));
      b.hold(queued('resp_b'));
      b.hold(queued('resp_c')); // pushes out resp_a
      expect(recorded).toEqual(['resp_a']);
      vi.advanceTimersByTime(1000);
      expect(recorded).toEqual(['resp_a', 'resp_b', 'resp_c']);
      b.hold(queued('resp_d'));
      b.releaseAll();
      expect(recorded).toEqual(['resp_a', 'resp_b', 'resp_c', 'resp_d']);
      expect(b.size).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reads a poll that follows the event stream (?stream=true): the response of its final event', () => {
    const sse = (...events: object[]) =>
      events.map((e) => `event: ${(e as { type: string }).type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
    const finished = JSON.parse(done('resp_3'));
    const stream = sse(
      { type: 'response.in_progress', response: { id: 'resp_3', status: 'in_progress' } },
      { type: 'response.output_text.delta', delta: 'Done.' },
      { type: 'response.completed', response: finished },
    );
    expect(polledResponse(stream)).toEqual(finished);
    expect(polledResponse(stream.replaceAll('\n', '\r\n'))).toEqual(finished);
    expect(polledResponse(done('resp_3'))).toEqual(finished);
    // a stream cut before its final event, or none at all, says nothing
    expect(
      polledResponse(sse({ type: 'response.output_text.delta', delta: 'data: {"type":"response.completed"}' })),
    ).toBeNull();
    expect(polledResponse('not json')).toBeNull();
    expect(isFinishedAnswer('resp_3', stream)).toBe(true);
    const recorded: LlmCall[] = [];
    const b = new BackgroundCalls((c) => recorded.push(c));
    expect(b.hold(queued('resp_3'))).toBe(true);
    expect(b.finish('resp_3', stream)).toBe(true);
    expect(recorded[0]).toMatchObject({ outputTokens: 9, finishReason: 'stop', tokenSource: 'usage' });
  });
});
