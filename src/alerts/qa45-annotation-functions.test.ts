// An annotation calling a function Prometheus's templates lack ({{ $value | humanizePercent }}, a slip for
// humanizePercentage) passed check-config; `promtool check rules` then refused the exported alerts file ('function
// "humanizePercent" not defined'), and Prometheus loads none of a file it refuses, so every exported alert was lost,
// while the built-in engine sent the action raw in its notifications (QA45). Such an annotation is refused at its path.
import { describe, expect, it } from 'vitest';
import { unknownTemplateFunctions } from './template.js';
import { alertsConfigIssues } from './testing.js';

const issuesOf = (annotations: Record<string, string>): string[] =>
  alertsConfigIssues({ defaultRules: false, rules: [{ name: 'R', kind: 'error_rate', threshold: 0.1, annotations }] });

describe('annotation templates call only functions Prometheus has', () => {
  it('refuses an unknown function at its path, naming it', () => {
    expect(
      issuesOf({ summary: 'error rate {{ $value | humanizePercent }}', description: '{{ nosuchfn $value }}' }),
    ).toEqual([
      expect.stringMatching(
        /^alerts\.rules\[0\]\.annotations\.summary: "humanizePercent": no template function of Prometheus's/,
      ),
      expect.stringMatching(/^alerts\.rules\[0\]\.annotations\.description: "nosuchfn": no template function/),
    ]);
  });

  it('takes what Prometheus takes: pipes, calls, conditions, strings and comments', () => {
    const ok = [
      '{{ $value | humanizePercentage }} of {{ $labels.model }}',
      '{{ humanizeDuration $value }}',
      '{{ printf "%.2f (a|b) %s" $value $labels.model }}',
      '{{ if gt $value 0.5 }}most{{ else if eq $labels.model "x" }}x{{ else }}some{{ end }}',
      '{{ $labels.model | toUpper }} {{ with query "up" }}{{ . | first | value | humanize }}{{ end }}',
      '{{/* see (the runbook) first */}}{{- $value -}}',
      '{{ and (eq $labels.a "b") (lt $value 1.0) }}',
      // Prometheus 3.8+ (#17404): a label in a dashboard link; was refused as unknown
      'https://grafana/d/llm?var-model={{ $labels.model | urlQueryEscape }}',
    ];
    for (const t of ok) expect(unknownTemplateFunctions(t), t).toEqual([]);
    expect(issuesOf({ summary: ok.join(' ') })).toEqual([]);
  });
});
