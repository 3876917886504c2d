// Two receivers with one name passed check-config; serve and the exported alertmanager.yml both kept the later one
// alone, so notifications meant for the first went to the second's URL, unsaid (QA45). The second is refused at its
// name.
import { describe, expect, it } from 'vitest';
import { alertsConfigIssues } from './testing.js';

const issuesOf = (receivers: unknown[]): string[] => alertsConfigIssues({ receivers });

describe('receiver names', () => {
  it('refuses a second receiver of the same name', () => {
    expect(
      issuesOf([
        { name: 'page', webhook: { url: 'http://127.0.0.1:9/a' } },
        { name: 'notify', webhook: { url: 'http://127.0.0.1:9/b' } },
        { name: 'page', webhook: { url: 'http://127.0.0.1:9/c' } },
      ]),
    ).toEqual(['alerts.receivers[2].name: receivers[0] is named "page" too: give each receiver its own name']);
  });

  it('takes receivers of different names', () => {
    expect(
      issuesOf([
        { name: 'page', webhook: { url: 'http://127.0.0.1:9/a' } },
        { name: 'notify', webhook: { url: 'http://127.0.0.1:9/b' } },
      ]),
    ).toEqual([]);
  });
});
