// QA19: GPUs as a platform team runs them, through `llmscope serve` (bin/llmscope.js, i.e. dist/) with a fake
// `nvidia-smi` on PATH printing recorded output, as on a GPU host.
import { afterEach, describe, expect, it } from 'vitest';
import { fakeNvidiaSmi } from '../../src/gpu/testing.js';
import { getJson, killServe, type ServeRun, startServeWithConfig, until } from './helpers.js';

let runs: ServeRun[] = [];
afterEach(async () => {
  for (const r of runs) killServe(r.proc);
  runs = [];
});

interface GpuAnswer {
  available: boolean;
  collectors: Array<{ kind: string; status: string; reason: string | null }>;
  gpus: Array<{ host: string; gpu: string; utilization: number | null }>;
}

describe('serve with a GPU fallen off the bus', () => {
  it('keeps reading the other seven GPUs and names the lost one (nvidia-smi exit 15)', async () => {
    // nvidia-smi prints "Unable to determine the device handle for GPU 0000:3B:00.0: GPU is lost ..." in place of
    // GPU 2's line, the seven other GPUs' readings around it, and exits 15.
    const smi = fakeNvidiaSmi({ fixture: 'nvidia-smi-8gpu-lost.txt', exitCode: 15 });
    const run = await startServeWithConfig({
      prefix: 'llmscope-qa19-lost-',
      config: {
        server: { host: '127.0.0.1' },
        storage: { url: 'sqlite::memory:' },
        gpu: { collector: 'nvidia-smi', interval: '200ms', hostname: 'dgx-1' },
      },
      env: { PATH: `${smi}:${process.env.PATH}` },
    });
    runs.push(run);
    const body = await until(async () => {
      const b = await getJson<GpuAnswer>(`${run.base}/api/gpu`);
      return b.collectors[0]?.status !== 'pending' ? b : undefined;
    });
    expect(body.collectors).toEqual([
      expect.objectContaining({
        kind: 'nvidia-smi',
        status: 'ok',
        reason: 'nvidia-smi could not read GPU 0000:3B:00.0: GPU is lost. Reboot the system to recover this GPU',
      }),
    ]);
    expect(body.available).toBe(true);
    expect(body.gpus.map((g) => g.gpu)).toEqual(['0', '1', '3', '4', '5', '6', '7']);
    const metrics = await (await fetch(`${run.base}/metrics`)).text();
    expect(metrics.split('\n').filter((l) => l.startsWith('gpu_utilization_ratio{'))).toHaveLength(7);
    expect(metrics).toContain('gpu_utilization_ratio{gpu="3",host="dgx-1"} 0.98');
    expect(metrics).toContain('llmscope_gpu_collector_errors_total{collector="nvidia-smi"} 0');
    // Said once in the log, not on every poll.
    await new Promise((r) => setTimeout(r, 600));
    const lines = run.stdout
      .join('')
      .split('\n')
      .filter((l) => l.includes('"event":"gpu_unreadable"'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 'warn', gpus: 7 });
  });
});
