import { describe, expect, it } from 'vitest';
import { matcherText, matches, parseMatcher } from './matchers.js';

describe('parseMatcher', () => {
  it('reads quoted values, escapes included, with the four operators', () => {
    expect(parseMatcher('severity="critical"')).toEqual({ name: 'severity', op: '=', value: 'critical' });
    expect(parseMatcher(' model != "a \\"b\\"" ')).toEqual({ name: 'model', op: '!=', value: 'a "b"' });
    expect(parseMatcher('model=~"gpt-4.*"')).toEqual({ name: 'model', op: '=~', value: 'gpt-4.*' });
    expect(parseMatcher('model!~""')).toEqual({ name: 'model', op: '!~', value: '' });
  });

  it('reads unquoted values as amtool and Alertmanager do (model=gpt-4o)', () => {
    expect(parseMatcher('model=gpt-4o')).toEqual({ name: 'model', op: '=', value: 'gpt-4o' });
    expect(parseMatcher('alertname!=HighLatency')).toEqual({ name: 'alertname', op: '!=', value: 'HighLatency' });
    expect(parseMatcher('model=~gpt-(4o|5).*')).toEqual({ name: 'model', op: '=~', value: 'gpt-(4o|5).*' });
    expect(parseMatcher('model=claude-sonnet-4-5@20250929')).toMatchObject({ value: 'claude-sonnet-4-5@20250929' });
    const m = parseMatcher('model=gpt-4o');
    expect(matches(m, { model: 'gpt-4o' })).toBe(true);
    expect(matches(m, { model: 'gpt-4o-mini' })).toBe(false);
    // written back quoted, as Alertmanager's own config files have them
    expect(matcherText(m)).toBe('model="gpt-4o"');
  });

  it('refuses what is not one matcher, naming the form it takes', () => {
    for (const bad of [
      'model',
      'model=',
      'model=gpt 4o',
      'model="gpt-4o',
      'model=a,b="c"',
      '1model="x"',
      'model={x}',
      'severity==critical',
      'model=a!b',
    ])
      expect(() => parseMatcher(bad), bad).toThrow(/is not a matcher like severity="critical"/);
    expect(() => parseMatcher('model=~(')).toThrow(/invalid regex/);
  });
});
