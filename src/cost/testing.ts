// A complete LlmCall (src/calls/testing.ts), and a gateway admission, with plain defaults, for tests of the cost
// capability.
import type { Admission } from '../gateway/proxy.js';

export { fakeCall } from '../calls/testing.js';

/** A chat call's admission by `user` (100 output tokens at most), as budgets see it. */
export function fakeAdmission(user: string): Admission {
  return {
    requestId: 'r',
    endpoint: 'chat.completions',
    model: 'gpt-4o-mini',
    provider: 'openai',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], max_tokens: 100 },
    headers: {},
    attribution: { user, team: null, feature: null, session: null, apiKeyId: null },
    forwardClientAuth: true,
    state: {},
  };
}
