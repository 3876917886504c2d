// Start-up warnings for alert receivers whose secret's environment variable is unset, on the assembled app as
// `serve` builds it: a page receiver (it only logs) and an email receiver without its SMTP user or password (it sends
// without SMTP authentication), each warned once with the variable's name, as `llmscope check-config` warns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModules } from '../../src/cli/modules.js';
import { type Stack, startStack } from './helpers.js';

const USER = 'LLMSCOPE_TEST_UNSET_SMTP_USER';
const PASS = 'LLMSCOPE_TEST_UNSET_SMTP_PASSWORD';
const PD = 'LLMSCOPE_TEST_UNSET_PD_KEY';

describe('alert receivers with unset secret variables at start-up', () => {
  let s: Stack;
  beforeAll(async () => {
    for (const v of [USER, PASS, PD]) delete process.env[v];
    s = await startStack({
      app: { modules: builtinModules() },
      config: {
        alerts: {
          receivers: [
            { name: 'page', pagerduty: { routingKeyEnv: PD } },
            {
              name: 'notify',
              email: {
                to: 'team@example.com',
                from: 'llmscope@example.com',
                smtp: { host: '127.0.0.1', port: 2525, userEnv: USER, passwordEnv: PASS },
              },
            },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('logs a warning naming each unset variable and what the receiver does instead', () => {
    const warnings = s.logs
      .filter((l) => l.event === 'alert_receiver_unavailable')
      .map((l) => ({ level: l.level, msg: l.msg }));
    expect(warnings).toEqual([
      {
        level: 'warn',
        msg: `receiver page: environment variable ${PD} (PagerDuty routing key) is not set; it logs instead`,
      },
      {
        level: 'warn',
        msg: `receiver notify: environment variable ${USER} (SMTP user) is not set; it sends without SMTP authentication`,
      },
      {
        level: 'warn',
        msg: `receiver notify: environment variable ${PASS} (SMTP password) is not set; it sends without SMTP authentication`,
      },
    ]);
  });
});
