import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoAlerts, demoConfig, parseCycle } from './demo.js';

const urls = { sim: 'http://127.0.0.1:9/v1', dcgm: 'http://127.0.0.1:9400/metrics' };
const opts = { scenario: 'incident' as const, rps: 8, cycleMs: 600_000, hallucinationRate: 0.04 };
const dir = mkdtempSync(join(tmpdir(), 'llmscope-demo-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo config', () => {
  it('routes three providers to the simulator, captures content and scrapes the simulated DCGM exporter', () => {
    const c = demoConfig({ port: '0' }, opts, urls);
    expect(c.providers.map((p) => p.name)).toEqual(['openai', 'anthropic', 'vllm']);
    expect(new Set(c.providers.map((p) => p.baseUrl))).toEqual(new Set([urls.sim]));
    expect(c.telemetry.captureContent).toBe(true);
    expect(c.gpu.collector).toBe('dcgm');
    expect(c.gpu.dcgmUrls).toEqual([urls.dcgm]);
    expect(c.gpu.hosts[0]).toMatchObject({ host: 'gpu-node-1', providers: ['vllm'] });
    expect(c.alerts.evaluationInterval).toBe('10s');
    expect(c.alerts.overrides.HighErrorRate).toEqual({ for: '1m' });
    expect(c.alerts.overrides.SingleCallCostHigh).toEqual({ window: '180s' });
  });

  it("leaves what the user's config sets", () => {
    const file = join(dir, 'c.yaml');
    writeFileSync(
      file,
      'telemetry: {captureContent: false}\nalerts: {evaluationInterval: 1m}\ngpu: {collector: none}\n',
    );
    const c = demoConfig({ config: file }, opts, urls);
    expect(c.telemetry.captureContent).toBe(false);
    expect(c.alerts.evaluationInterval).toBe('1m');
    expect(c.alerts.overrides).toEqual({});
    expect(c.gpu.collector).toBe('none');
  });

  it('shortens windows only on a fast tempo', () => {
    const fast = demoAlerts(60_000);
    expect(fast.evaluationInterval).toBe('2s');
    expect(fast.overrides?.HighLatency).toEqual({ for: '6s', window: '1m' });
    expect(demoAlerts(600_000).overrides?.HighLatency).toEqual({ for: '1m' });
  });

  it('reads --incident-every', () => {
    expect(parseCycle('10m')).toBe(600_000);
    expect(parseCycle('90s')).toBe(90_000);
    expect(parseCycle('120')).toBe(120_000);
    expect(() => parseCycle('5s')).toThrow(/--incident-every/);
    expect(() => parseCycle('soon')).toThrow(/--incident-every/);
  });
});
