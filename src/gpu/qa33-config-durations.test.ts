// gpu.interval and gpu.timeout that are not durations are reported at their paths (QA33). check-config and serve
// with `gpu: { interval: often }` stopped at 'llmscope: not a duration: often', naming no path and hiding every
// other problem of the file: the 'at least 100ms' check read the value as a duration although it was none.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/index.js';

describe('gpu durations in the config', () => {
  it.each([
    ['interval', 'often'],
    ['timeout', 'soon'],
  ])("gpu.%s: %s is an issue at its path, beside the file's other problems", (key, value) => {
    const r = validateConfig({ gpu: { [key]: value }, server: { port: 'abc' } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.issues.map((i) => i.path);
    expect(paths).toContain(`gpu.${key}`);
    expect(paths).toContain('server.port');
  });

  it('still refuses too short a duration, and takes a good one', () => {
    const short = validateConfig({ gpu: { interval: '50ms', timeout: '5ms' } });
    expect(short.ok).toBe(false);
    if (!short.ok)
      expect(short.issues).toEqual(
        expect.arrayContaining([
          { path: 'gpu.interval', message: 'at least 100ms' },
          { path: 'gpu.timeout', message: 'at least 10ms' },
        ]),
      );
    expect(validateConfig({ gpu: { interval: '30s', timeout: '2s' } }).ok).toBe(true);
  });
});

// Keys that take one of two forms are told both when given neither (QA33): 'server.trustProxy: Invalid input' and
// 'gpu.dcgmUrls[0]: Invalid input' were all check-config said of trustProxy: maybe and dcgmUrls: [5].
describe('config keys of two forms', () => {
  it('server.trustProxy and gpu.dcgmUrls[] given neither form say which forms they take', () => {
    const r = validateConfig({ server: { trustProxy: 'maybe' }, gpu: { dcgmUrls: [5, 'notaurl'] } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual(
      expect.arrayContaining([
        { path: 'server.trustProxy', message: "true, false, or the proxies' addresses, e.g. ['10.0.0.5']" },
        {
          path: 'gpu.dcgmUrls[0]',
          message: 'an exporter URL such as http://gpu-node-1:9400/metrics, or { url, host }',
        },
        {
          path: 'gpu.dcgmUrls[1]',
          message: 'an absolute http(s) URL such as http://gpu-node-1:9400/metrics',
        },
      ]),
    );
    const ok = validateConfig({
      server: { trustProxy: ['10.0.0.5'] },
      gpu: { dcgmUrls: ['http://g:9400/metrics', { url: 'http://h:9400/metrics', host: 'h' }] },
    });
    expect(ok.ok).toBe(true);
  });
});
