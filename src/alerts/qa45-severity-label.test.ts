// A rule's severity said twice, by `severity` and by `labels.severity` (how a Prometheus rule writes it), was read one
// way by the built-in engine (severity over labels: routed as warning) and the other by the exported rule (labels over
// severity: Alertmanager paged), and check-config said ok. Now a labels.severity naming a severity is the severity
// when `severity` is absent, and one that disagrees with `severity`, names no severity, or a labels.alertname other
// than the rule's name is refused at its path.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateConfig } from '../config/index.js';
import { alertsConfigOf } from './config.js';
import { alertLabels } from './engine.js';
import { exportFiles } from './export/files.js';
import { ALERTS_FILE } from './export/prometheus.js';
import { compileRules } from './rules.js';

const issuesOf = (alerts: unknown): string[] => {
  const r = validateConfig({ alerts });
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
};

describe('labels.severity and labels.alertname', () => {
  it('refuses a labels.severity that disagrees with severity or is no severity, and a labels.alertname', () => {
    const issues = issuesOf({
      defaultRules: false,
      rules: [
        { name: 'A', kind: 'error_rate', threshold: 0.1, severity: 'warning', labels: { severity: 'critical' } },
        { name: 'B', kind: 'error_rate', threshold: 0.1, labels: { severity: 'page' } },
        { name: 'C', kind: 'error_rate', threshold: 0.1, labels: { alertname: 'Other' } },
      ],
    });
    expect(issues).toEqual([
      expect.stringMatching(
        /^alerts\.rules\[0\]\.labels\.severity: critical, where severity says warning: the built-in engine would route/,
      ),
      expect.stringMatching(/^alerts\.rules\[1\]\.labels\.severity: "page" is not a severity the routes know/),
      expect.stringMatching(/^alerts\.rules\[2\]\.labels\.alertname: an alert's alertname is its rule's name \("C"\)/),
    ]);
  });

  it('an override of a default rule that says severity in labels only is refused too', () => {
    expect(issuesOf({ overrides: { HighLatency: { labels: { severity: 'critical' } } } })).toEqual([
      expect.stringMatching(/^alerts\.overrides\.HighLatency\.labels\.severity: critical, where severity says warning/),
    ]);
  });

  it('takes a labels.severity alone as the severity, in the built-in engine and the exported rule alike', () => {
    const cfg = alertsConfigOf({
      defaultRules: false,
      slos: [],
      rules: [
        { name: 'Paged', kind: 'error_rate', threshold: 0.1, labels: { severity: 'critical', team: 'platform' } },
        { name: 'Same', kind: 'error_rate', threshold: 0.1, severity: 'info', labels: { severity: 'info' } },
      ],
    });
    const { rules, issues } = compileRules(cfg);
    expect(issues).toEqual([]);
    const builtIn = rules.map((r) => alertLabels(r, { labels: { model: 'm' }, value: 1, samples: 30 }).severity);
    expect(builtIn).toEqual(['critical', 'info']);
    const file = exportFiles('prometheus', cfg).find((f) => f.path === ALERTS_FILE);
    const exported = parse(file?.content ?? '').groups[0].rules.map(
      (r: { labels: { severity: string } }) => r.labels.severity,
    );
    expect(exported).toEqual(['critical', 'info']);
  });
});
