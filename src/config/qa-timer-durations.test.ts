// A duration a timer waits for is at most 24 days (2^31 - 1 ms): Node fires a longer timer after 1 ms, so
// alerts.evaluationInterval: 30d evaluated every rule every millisecond (a core kept 20-60% busy, the store queried
// all the while), gpu.interval: 30d polled without pause, and server.workerTimeout: 30d killed every worker of
// serve --workers as it started, while check-config said "ok".
import { describe, expect, it } from 'vitest';
import { validateConfig } from './index.js';

describe('timer durations', () => {
  it.each([
    [{ alerts: { evaluationInterval: '30d' } }, 'alerts.evaluationInterval'],
    [{ alerts: { evaluationInterval: 2_147_483_648 } }, 'alerts.evaluationInterval'],
    [{ gpu: { interval: '25d' } }, 'gpu.interval'],
    [{ gpu: { timeout: '30d' } }, 'gpu.timeout'],
    [{ server: { workerTimeout: '30d' } }, 'server.workerTimeout'],
  ])('refuses %j', (input, path) => {
    const r = validateConfig(input);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.issues).toEqual([expect.objectContaining({ path, message: expect.stringMatching(/at most 24d/) })]);
  });

  it('takes 24 days', () => {
    expect(validateConfig({ alerts: { evaluationInterval: '24d' }, gpu: { interval: '24d', timeout: '24d' } }).ok).toBe(
      true,
    );
  });
});
