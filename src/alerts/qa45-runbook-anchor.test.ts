// A rule of the user's own got a runbook_url of docs/alerts.md#<its name in lower case>, a heading that does not exist
// (QA45): a dead link in every notification it sent. Only the default rules have runbook headings; another rule's link
// goes to the rule kinds' section. Every default rule's anchor is a heading of docs/alerts.md.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertsConfigOf } from './config.js';
import { DEFAULT_PACK } from './default-pack.js';
import { compileRules } from './rules.js';

const BASE = 'https://github.com/llmscope/llmscope/blob/main/docs/alerts.md';

/** The anchors GitHub makes of docs/alerts.md's headings: lower case, spaces to dashes, punctuation dropped. */
const anchors = new Set(
  readFileSync(new URL('../../docs/alerts.md', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => /^#{1,6} /.test(l))
    .map((l) =>
      l
        .replace(/^#+ /, '')
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
);

const runbooks = (rules: Parameters<typeof alertsConfigOf>[0]) =>
  Object.fromEntries(compileRules(alertsConfigOf(rules)).rules.map((r) => [r.id, r.annotations.runbook_url]));

describe('runbook_url', () => {
  it("points a rule of the user's own to the rule kinds, and a default rule to its own heading", () => {
    const urls = runbooks({
      defaultRules: false,
      slos: [],
      rules: [
        { name: 'CheckoutSlow', kind: 'latency_quantile', threshold: 3 },
        { name: 'HighErrorRate', kind: 'error_rate', threshold: 0.05 },
        { name: 'Linked', kind: 'error_rate', threshold: 0.05, annotations: { runbook_url: 'https://wiki/x' } },
      ],
    });
    expect(urls).toEqual({
      CheckoutSlow: `${BASE}#rule-kinds`,
      HighErrorRate: `${BASE}#higherrorrate`,
      Linked: 'https://wiki/x',
    });
  });

  it("keeps a rule's name as its anchor under a runbookBaseUrl of the user's own (their wiki's headings)", () => {
    const own = compileRules(
      alertsConfigOf({
        defaultRules: false,
        slos: [],
        runbookBaseUrl: 'https://wiki.example.com/runbooks/llm',
        rules: [{ name: 'CheckoutSlow', kind: 'latency_quantile', threshold: 3 }],
      }),
    ).rules.map((r) => r.annotations.runbook_url);
    expect(own).toEqual(['https://wiki.example.com/runbooks/llm#checkoutslow']);
  });

  it('links every default rule to a heading docs/alerts.md has', () => {
    const urls = Object.values(runbooks({}));
    expect(urls.length).toBeGreaterThanOrEqual(DEFAULT_PACK.length);
    for (const url of urls) expect(anchors, url).toContain(String(url).split('#')[1]);
  });
});
