// gpu_utilization and gpu_memory are ratios 0–1, while nvidia-smi, dcgm-exporter (DCGM_FI_DEV_GPU_UTIL) and most
// GPU dashboards print percent. A rule written `threshold: 30` for 30% fired on every GPU at all times (`<`), one
// written `threshold: 95` for memory never fired, and check-config said ok: such a threshold is refused at its path.
import { describe, expect, it } from 'vitest';
import { alertsConfigIssues } from './testing.js';

const issuesOf = (rules: unknown[]): string[] => alertsConfigIssues({ rules });

describe('GPU alert thresholds are ratios', () => {
  it('refuses a gpu_utilization or gpu_memory threshold outside 0–1, saying the ratio meant', () => {
    const issues = issuesOf([
      { name: 'GpuIdle', kind: 'gpu_utilization', op: '<', threshold: 30, window: '15m' },
      { name: 'GpuMemoryFull', kind: 'gpu_memory', threshold: 95 },
      { name: 'GpuNegative', kind: 'gpu_utilization', threshold: -0.1 },
    ]);
    expect(issues).toHaveLength(3);
    expect(issues[0]).toMatch(
      /^alerts\.rules\[0\]\.threshold: gpu_utilization is a ratio from 0 to 1 \(0\.3 for 30%\)/,
    );
    expect(issues[1]).toMatch(/^alerts\.rules\[1\]\.threshold: gpu_memory is a ratio from 0 to 1 \(0\.95 for 95%\)/);
    expect(issues[2]).toMatch(/^alerts\.rules\[2\]\.threshold: gpu_utilization is a ratio/);
  });

  it('takes 0, 1 and the ratios between, and leaves kinds that may pass 1 alone', () => {
    expect(
      issuesOf([
        { name: 'A', kind: 'gpu_utilization', op: '<', threshold: 0.3 },
        { name: 'B', kind: 'gpu_memory', threshold: 1 },
        { name: 'C', kind: 'gpu_utilization', threshold: 0 },
        { name: 'D', kind: 'budget_ratio', threshold: 1.2 },
      ]),
    ).toEqual([]);
  });

  it('refuses a rate threshold written in percent: error, refusal, hallucination and thumbs-down rates are shares', () => {
    // a rule written threshold: 5 for "5% of calls fail" could never fire, and check-config said ok
    const issues = issuesOf([
      { name: 'Errors', kind: 'error_rate', threshold: 5, window: '5m' },
      { name: 'Refusals', kind: 'refusal_rate', threshold: 20 },
      { name: 'Hallucinations', kind: 'hallucination_rate', threshold: 10 },
      { name: 'ThumbsDown', kind: 'thumbs_down_rate', threshold: 1.5 },
      { name: 'Fine', kind: 'error_rate', threshold: 0.05 },
    ]);
    expect(issues).toHaveLength(4);
    expect(issues[0]).toMatch(/^alerts\.rules\[0\]\.threshold: error_rate is a ratio from 0 to 1 \(0\.05 for 5%\)/);
    expect(issues.slice(1).map((i) => i.slice(0, 29))).toEqual([
      'alerts.rules[1].threshold: re',
      'alerts.rules[2].threshold: ha',
      'alerts.rules[3].threshold: th',
    ]);
  });
});
