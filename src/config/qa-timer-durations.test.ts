// A duration a timer waits for is at most 24 days (2^31 - 1 ms): Node fires a longer timer after 1 ms, so
// alerts.evaluationInterval: 30d evaluated every rule every millisecond (a core kept 20-60% busy, the store queried
// all the while), gpu.interval: 30d polled without pause, and server.workerTimeout: 30d killed every worker of
// serve --workers as it started, while check-config said "ok".
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from './index.js';

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

describe('storage.flushInterval and a blank host', () => {
  it('refuses a flushInterval over 24 days (Node fired it after 1 ms: a write per millisecond)', () => {
    const r = validateConfig({ storage: { flushInterval: '30d' } });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.issues).toEqual([
        expect.objectContaining({ path: 'storage.flushInterval', message: expect.stringMatching(/at most 24d/) }),
      ]);
    expect(validateConfig({ storage: { flushInterval: '24d' } }).ok).toBe(true);
  });

  it('refuses LLMSCOPE_HOST=" " (taken as a non-loopback host) as LLMSCOPE_PORT=" " is refused', () => {
    for (const v of [' ', '', ' 0.0.0.0']) {
      const r = validateConfig({ server: { host: v } });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.issues).toEqual([expect.objectContaining({ path: 'server.host' })]);
    }
    expect(() => loadConfig({ env: { LLMSCOPE_HOST: ' ' } })).toThrow(
      'server.host (from the environment variable LLMSCOPE_HOST=" "): a host name or IP address',
    );
    for (const v of ['127.0.0.1', '0.0.0.0', '::', 'localhost'])
      expect(validateConfig({ server: { host: v } }).ok).toBe(true);
  });
});
