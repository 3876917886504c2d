// The GPU signals in the alert engine: the app assembled with the gpu module reading a fake nvidia-smi (GPU 0 at 20%
// utilization and 25% memory, GPU 1 at 92% and 98%) on a test clock, and the engine evaluating the default
// GpuUnderutilized rule and a memory rule through the signal registry the module registered with.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alertsConfigOf, type RuleInput } from '../alerts/config.js';
import { Engine } from '../alerts/engine.js';
import { compileRules } from '../alerts/rules.js';
import { MemoryAlertStateStore } from '../alerts/state/index.js';
import { ManualClock } from '../alerts/testing.js';
import { validateConfig } from '../config/index.js';
import { type App, createApp } from '../server.js';
import { buildGpuModule, type GpuModule } from './module.js';
import { fakeNvidiaSmi } from './testing.js';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);
const MIN = 60_000;

const memoryHigh: RuleInput = {
  name: 'GpuMemoryHigh',
  kind: 'gpu_memory',
  window: '5m',
  op: '>',
  threshold: 0.95,
  for: '5m',
  severity: 'warning',
};

interface Harness {
  gpu: GpuModule;
  clock: ManualClock;
  engine: Engine;
}

const open: App[] = [];
afterEach(async () => {
  for (const app of open.splice(0)) await app.close();
});

async function harness(rules: RuleInput[], gpu: Record<string, unknown> = {}): Promise<Harness> {
  const dir = fakeNvidiaSmi({ fixture: 'nvidia-smi-2gpu-mixed.txt' });
  const r = validateConfig({
    storage: { url: 'sqlite::memory:' },
    telemetry: { logLevel: 'silent' },
    gpu: { collector: 'nvidia-smi', nvidiaSmiPath: join(dir, 'nvidia-smi'), hostname: 'gpu-node-1', ...gpu },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const clock = new ManualClock(T0);
  let gpuModule: GpuModule | undefined;
  const app = await createApp(r.config, {
    clock,
    modules: [
      async (ctx) => {
        gpuModule = await buildGpuModule(ctx);
        return gpuModule;
      },
    ],
  });
  open.push(app);
  const compiled = compileRules(alertsConfigOf({ slos: [], evaluationInterval: '1m', rules }));
  expect(compiled.issues).toEqual([]);
  const engine = new Engine({
    rules: compiled.rules,
    store: app.ctx.store,
    state: new MemoryAlertStateStore(),
    signals: app.ctx.signals,
    evaluationIntervalMs: MIN,
  });
  return { gpu: gpuModule as GpuModule, clock, engine };
}

/** Polls nvidia-smi and evaluates the rules once a minute, minutes `from` to `to`; returns the alerts of `names`. */
async function run(h: Harness, from: number, to: number, names: string[]) {
  for (let m = from; m <= to; m++) {
    h.clock.t = T0 + m * MIN;
    await h.gpu.pollAll();
    await h.engine.evaluate(h.clock.t);
  }
  return h.engine
    .activeAlerts()
    .filter((a) => names.includes(a.labels.alertname as string))
    .map((a) => ({ name: a.labels.alertname, gpu: a.labels.gpu, host: a.labels.host, state: a.state, value: a.value }))
    .sort((a, b) => `${a.name}${a.gpu}`.localeCompare(`${b.name}${b.gpu}`));
}

describe('gpu_utilization signal', () => {
  it('the default GpuUnderutilized rule is pending on the GPU at 20%, fires after 30 minutes, and spares the busy one', async () => {
    const h = await harness([]);
    expect(await run(h, 0, 29, ['GpuUnderutilized'])).toEqual([
      { name: 'GpuUnderutilized', gpu: '0', host: 'gpu-node-1', state: 'pending', value: expect.closeTo(0.2, 6) },
    ]);
    expect(await run(h, 30, 30, ['GpuUnderutilized'])).toEqual([
      { name: 'GpuUnderutilized', gpu: '0', host: 'gpu-node-1', state: 'firing', value: expect.closeTo(0.2, 6) },
    ]);
    const rule = h.engine.rules.find((r) => r.name === 'GpuUnderutilized');
    expect(rule?.severity).toBe('info');
  });

  it('reads the hosts gpu.hosts says serve a filtered model', async () => {
    const util: RuleInput = { name: 'LlamaGpuIdle', kind: 'gpu_utilization', threshold: 0.8, for: '0s' };
    const h = await harness(
      [
        { ...util, filter: { model: 'llama-3-70b' } },
        { ...util, name: 'MistralGpuIdle', filter: { model: 'mistral-7b' } },
      ],
      { hosts: [{ host: 'gpu-node-1', models: ['llama-*'] }] },
    );
    const active = await run(h, 0, 2, ['LlamaGpuIdle', 'MistralGpuIdle']);
    expect(active.map((a) => [a.name, a.gpu, a.state])).toEqual([['LlamaGpuIdle', '0', 'firing']]);
    expect(h.engine.ruleHealth().find((x) => x.ruleId === 'MistralGpuIdle')?.health).toBe('nodata');
  });
});

describe('gpu_memory signal', () => {
  it('fires on the GPU with 98% of its memory used, not on the one at 25%', async () => {
    const h = await harness([memoryHigh]);
    expect(await run(h, 0, 4, ['GpuMemoryHigh'])).toEqual([
      {
        name: 'GpuMemoryHigh',
        gpu: '1',
        host: 'gpu-node-1',
        state: 'pending',
        value: expect.closeTo(79872 / 81559, 6),
      },
    ]);
    expect(await run(h, 5, 5, ['GpuMemoryHigh'])).toEqual([
      { name: 'GpuMemoryHigh', gpu: '1', host: 'gpu-node-1', state: 'firing', value: expect.closeTo(79872 / 81559, 6) },
    ]);
  });
});
