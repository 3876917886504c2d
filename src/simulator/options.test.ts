import { describe, expect, it } from 'vitest';
import { parseNumber, resolveSimulatorOptions, SIMULATOR_DEFAULTS, SimulatorOptionError } from './options.js';

describe('simulator options', () => {
  it('fills defaults and freezes the result', () => {
    const o = resolveSimulatorOptions({ ttftMs: 5, port: undefined });
    expect(o).toMatchObject({ ...SIMULATOR_DEFAULTS, ttftMs: 5, models: [...SIMULATOR_DEFAULTS.models] });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it.each([
    [{ ttftMs: -1 }, /ttftMs must be a number of milliseconds/],
    [{ tpotMs: Number.NaN }, /tpotMs must be/],
    [{ outputTokens: 2.5 }, /outputTokens must be an integer/],
    [{ errorRate: 1.5 }, /errorRate must be a share from 0 to 1/],
    [{ errorRate: 0.6, cutRate: 0.6 }, /add up to 1.2/],
    [{ port: 70000 }, /port must be an integer from 0 to 65535/],
    [{ seed: -3 }, /seed must be/],
    [{ embeddingDimensions: 0 }, /embeddingDimensions must be/],
    [{ host: '' }, /host must be/],
  ])('rejects %j', (opts, message) => {
    expect(() => resolveSimulatorOptions(opts)).toThrow(SimulatorOptionError);
    expect(() => resolveSimulatorOptions(opts)).toThrow(message);
  });

  it('parses numbers from text strictly', () => {
    expect(parseNumber('--ttft-ms', ' 120 ', 'ms')).toBe(120);
    expect(parseNumber('--error-rate', '0.05', 'rate')).toBe(0.05);
    expect(() => parseNumber('--ttft-ms', '12ms', 'ms')).toThrow('--ttft-ms must be a number of milliseconds');
    expect(() => parseNumber('--port', '', 'port')).toThrow('--port must be');
  });
});
