// A route's groupBy naming no label Alertmanager can have (`not-a-label`, `team name`) passed check-config; the built-in
// engine grouped by a label no alert carries (every alert of the route in one group), and amtool check-config refused
// the exported alertmanager.yml ('invalid label name "not-a-label" in group_by list'), so Alertmanager would not start
// on it (QA45, amtool 0.25). Such a groupBy is refused at its path; label names and '...' are taken.
import { describe, expect, it } from 'vitest';
import { alertsConfigIssues } from './testing.js';

const issuesOf = (route: unknown): string[] => alertsConfigIssues({ route });

describe('route groupBy takes label names', () => {
  it('refuses a groupBy entry that is no label name, at the root and in a child route', () => {
    expect(
      issuesOf({
        groupBy: ['alertname', 'not-a-label'],
        routes: [{ matchers: ['severity=critical'], receiver: 'page', groupBy: ['team name'] }],
      }),
    ).toEqual([
      'alerts.route.groupBy[1]: a label name such as model, or "..." (one group per alert)',
      'alerts.route.routes[0].groupBy[0]: a label name such as model, or "..." (one group per alert)',
    ]);
  });

  it("takes label names and '...'", () => {
    expect(
      issuesOf({ groupBy: ['alertname', 'model', '_x1'], routes: [{ receiver: 'page', groupBy: ['...'] }] }),
    ).toEqual([]);
  });
});
