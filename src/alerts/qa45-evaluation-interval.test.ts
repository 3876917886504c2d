// alerts.evaluationInterval: 0s (or 0) passed check-config, and serve then evaluated every rule every 100 ms (the
// timer's floor): a rollup query per rule ten times a second (QA45). It is refused at its path, as a zero
// groupInterval or repeatInterval is; a malformed one keeps its own message.
import { describe, expect, it } from 'vitest';
import { alertsConfigIssues } from './testing.js';

const issuesOf = (evaluationInterval: unknown): string[] => alertsConfigIssues({ evaluationInterval });

describe('alerts.evaluationInterval', () => {
  it('refuses 0', () => {
    expect(issuesOf('0s')).toEqual(['alerts.evaluationInterval: evaluationInterval must be longer than 0, e.g. 30s']);
    expect(issuesOf(0)).toEqual(['alerts.evaluationInterval: evaluationInterval must be longer than 0, e.g. 30s']);
  });

  it('takes a positive duration, and says a malformed one once', () => {
    expect(issuesOf('15s')).toEqual([]);
    expect(issuesOf('fast')).toEqual(['alerts.evaluationInterval: a duration like 500ms, 30s, 10m, 2h or 7d']);
  });
});
