// GET routes take HEAD as well (RFC 9110: a server that serves GET serves HEAD): /healthz, /readyz, /api and the
// dashboard did, but HEAD /metrics (an uptime probe's request) answered 405.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

describe('HEAD /metrics', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it('answers 200 with no body, as GET does with one; other methods get 405 naming both', async () => {
    const head = await fetch(`${stack.base}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await head.text()).toBe('');
    const get = await fetch(`${stack.base}/metrics`);
    expect(await get.text()).toContain('llm_requests_total');
    const post = await fetch(`${stack.base}/metrics`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });
});
