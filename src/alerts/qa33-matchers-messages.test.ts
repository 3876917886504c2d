// Matchers that are missing or of the wrong type are told the forms they take (QA33): a config silence without
// matchers read 'alerts.silences[0].matchers: Invalid input' in check-config, and POST /api/alerts/silences with {}
// '"matchers": Invalid input' (zod's word for a union none of whose options matched). Both read matchersSchema.
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/index.js';
import { parseBody } from '../http/index.js';
import { matchersSchema } from './spec.js';

const FORMS = 'a list of matchers like ["severity=\\"critical\\"", "model=gpt-4o"], or a label → value map';

describe('matchers: what a missing or wrong one is told', () => {
  it('a config silence without matchers: required, with the forms', () => {
    const r = validateConfig({ alerts: { silences: [{ always: true, comment: 'x' }] } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toContainEqual({ path: 'alerts.silences[0].matchers', message: `required (${FORMS}), missing` });
  });

  it('a string or a number: expected the forms', () => {
    for (const bad of ['severity=critical', 5]) {
      const msg = (() => {
        try {
          parseBody(matchersSchema, bad);
        } catch (err) {
          return (err as Error).message;
        }
        return 'parsed';
      })();
      expect(msg).toBe(`invalid body (body): expected ${FORMS}`);
    }
  });

  it('a bad matcher in a list still names the matcher form, and good ones parse', () => {
    const r = matchersSchema.safeParse(['severity critical']);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('a matcher like severity="critical" or model=gpt-4o');
    expect(matchersSchema.parse(['model="a"'])).toEqual(['model="a"']);
    expect(matchersSchema.parse({ team: 'x' })).toEqual({ team: 'x' });
  });
});

// A silence's start or end that is no time read 'Invalid input' (QA33), in check-config and from the API.
describe('silence times: what a bad one is told', () => {
  const FORMS_T = 'an ISO 8601 time with a zone such as 2026-01-10T08:00:00Z, or epoch milliseconds';

  it('a config silence', () => {
    const r = validateConfig({ alerts: { silences: [{ matchers: ['a=b'], startsAt: 'x', endsAt: 'tomorrow' }] } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual(
      expect.arrayContaining([
        { path: 'alerts.silences[0].startsAt', message: FORMS_T },
        { path: 'alerts.silences[0].endsAt', message: FORMS_T },
      ]),
    );
  });
});
