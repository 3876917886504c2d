// A complete LlmCall (src/calls/testing.ts), and a gateway admission, with plain defaults, for tests of the cost
// capability; serve's app with the cost module alone, and a metric's value read from its registry.
import type { Registry } from 'prom-client';
import { type ConfigInput, validateConfig } from '../config/index.js';
import type { Admission } from '../gateway/proxy.js';
import { type App, createApp } from '../server.js';
import { createCostModule } from './index.js';

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

/**
 * serve's app with the cost module alone: an in-memory SQLite store, an upstream never called, no GPU poller.
 * `config` adds to (or replaces a part of) that config; `log` takes each write of its log. Close it after.
 */
export async function startCostApp(config: ConfigInput = {}, log: (text: string) => void = () => {}): Promise<App> {
  const r = validateConfig({
    server: { host: '127.0.0.1', port: 0 },
    providers: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9/v1' }],
    storage: { url: 'sqlite::memory:' },
    gpu: { collector: 'none' },
    ...config,
  } as ConfigInput);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return createApp(r.config, { modules: [createCostModule], logDestination: { write: (s: string) => void log(s) } });
}

/** A metric's value summed over its series whose labels include `labels` (0 when it is not registered). */
export async function metricSum(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  return (await m.get()).values
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((n, v) => n + v.value, 0);
}
