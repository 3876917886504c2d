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
