import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ConfigInput, validateConfig } from '../config/index.js';
import { checkConfig } from './check-config.js';
import { keysCreate } from './keys.js';
import { startupChecks, storageUrlProblem } from './startup-checks.js';

const cfg = (input: ConfigInput) => {
  const r = validateConfig(input);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
};
const keyed = { name: 'openai', baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'OPENAI_API_KEY' };
const offLoopback = { host: '0.0.0.0', adminToken: 'a-long-admin-token' };
const hash = `sha256:${'a'.repeat(64)}`;

describe('startupChecks', () => {
  it('warns when server.workers is more than the host has cores, and says what auto would run', () => {
    const on = (workers: number | 'auto', cores: number) =>
      startupChecks(cfg({ server: { workers } }), {}, 0, cores).warnings.filter((w) => w.path === 'server.workers');
    expect(on(8, 4)).toEqual([
      {
        path: 'server.workers',
        message: expect.stringContaining('8 gateway workers on a host with 4 cores'),
      },
    ]);
    expect(on(8, 4)[0]?.message).toContain('"auto" runs 3 here');
    expect(on(4, 4)).toEqual([]);
    expect(on(1, 1)).toEqual([]);
    expect(on('auto', 1)).toEqual([]);
  });

  it('rejects a storage URL serve cannot open, such as mysql://', () => {
    const r = startupChecks(cfg({ storage: { url: 'mysql://u:p@db/llm' } }));
    expect(r.errors.map((e) => e.path)).toEqual(['storage.url']);
    expect(r.errors[0]?.message).toContain('is not supported');
    expect(storageUrlProblem('sqlite:')).toContain('names no file');
    expect(storageUrlProblem('postgres://u:p@h:5432/db')).toBeNull();
    expect(storageUrlProblem('sqlite:./x.db')).toBeNull();
  });

  it('off loopback needs the admin token', () => {
    const r = startupChecks(cfg({ server: { host: '0.0.0.0' } }));
    expect(r.errors.map((e) => e.path)).toContain('server.adminToken');
  });

  it('refuses an open relay: off loopback, a server-side key, no virtual keys', () => {
    const r = startupChecks(cfg({ server: offLoopback, providers: [keyed] }), { OPENAI_API_KEY: 'sk-x' });
    expect(r.errors).toHaveLength(1);
    const e = r.errors[0];
    expect(e?.path).toBe('keys');
    expect(e?.message).toContain('providers[0].apiKeyEnv');
    expect(e?.message).toContain('anyone who can reach this port');
    expect(e?.message).toContain('server.allowUnauthenticatedGateway: true');
    expect(e?.message).toContain('virtual keys');
  });

  it('counts a credential header as a server-side key', () => {
    const p = { name: 'a', baseUrl: 'https://x.example/v1', headers: { 'X-Api-Key': 'k' } };
    const r = startupChecks(cfg({ server: offLoopback, providers: [p] }));
    expect(r.errors[0]?.message).toContain('providers[0].headers.X-Api-Key');
  });

  it('allows the relay with virtual keys, with the explicit opt-in, on loopback, or without a server-side key', () => {
    const env = { OPENAI_API_KEY: 'sk-x' };
    const ok = (c: ConfigInput) => expect(startupChecks(cfg(c), env).errors).toEqual([]);
    ok({ server: offLoopback, providers: [keyed], keys: [{ id: 'k1', hash }] });
    ok({ server: { ...offLoopback, allowUnauthenticatedGateway: true }, providers: [keyed] });
    ok({ server: { host: '127.0.0.1' }, providers: [keyed] });
    ok({ server: offLoopback, providers: [{ name: 'sim', baseUrl: 'http://127.0.0.1:9/v1' }] });
  });

  it('warns about a key variable that is not set and about no providers', () => {
    const r = startupChecks(cfg({ providers: [keyed] }), {});
    expect(r.warnings.map((w) => w.path)).toEqual(['providers[0].apiKeyEnv']);
    expect(startupChecks(cfg({}), {}).warnings.map((w) => w.path)).toEqual(['providers']);
    const keys = cfg({ providers: [keyed], keys: [{ id: 'app', keyEnv: 'APP_KEY' }] });
    expect(startupChecks(keys, { OPENAI_API_KEY: 'x' }).warnings).toEqual([
      { path: 'keys[0].keyEnv', message: expect.stringContaining('virtual key "app" is disabled') },
    ]);
  });
});

describe('checkConfig runs the start-up checks too', () => {
  const run = async (yaml: string, env: NodeJS.ProcessEnv = {}, dir = mkdtempSync(join(tmpdir(), 'llmscope-cc-'))) => {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, yaml);
    const out: string[] = [];
    const err: string[] = [];
    const code = await checkConfig(file, { out: (s) => out.push(s), err: (s) => err.push(s), env });
    return { code, out: out.join(''), err: err.join(''), file };
  };

  it('warns about alert receivers whose secret variable is not set (serve starts; they would only log)', async () => {
    const yaml =
      'providers: [{ name: openai, baseUrl: http://127.0.0.1:9/v1 }]\n' +
      'alerts:\n  receivers:\n' +
      '    - { name: page, pagerduty: { routingKeyEnv: PD_KEY } }\n' +
      '    - { name: chat, slack: { urlEnv: SLACK_URL } }\n' +
      '    - { name: hook, webhook: { url: https://hooks.example.com/x } }\n' +
      '    - name: notify\n      email: { to: [a@example.com], from: b@example.com, smtp: { host: smtp.example.com, userEnv: SMTP_USER, passwordEnv: SMTP_PASSWORD } }\n';
    const r = await run(yaml);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`${r.file}: warning: alerts.receivers[0].pagerduty.routingKeyEnv: PD_KEY (PagerDuty`);
    expect(r.err).toContain('alerts.receivers[1].slack.urlEnv: SLACK_URL');
    expect(r.err).not.toContain('receivers[2]');
    expect(r.err).toContain('alerts.receivers[3].email.smtp.userEnv: SMTP_USER (SMTP user) is not set');
    expect(r.err).toContain('sends without SMTP authentication');
    const all = { PD_KEY: 'k', SLACK_URL: 'https://hooks.slack.com/x', SMTP_USER: 'u', SMTP_PASSWORD: 'p' };
    expect((await run(yaml, all)).err).not.toContain('alerts.receivers');
    expect((await run(`${yaml}  enabled: false\n`)).err).not.toContain('alerts.receivers');
  });

  it('counts one provider and one route in the singular (QA49: README\'s example config read "ok (3 providers, 1 routes)")', async () => {
    const one = await run(
      'providers: [{ name: vllm, baseUrl: http://127.0.0.1:9/v1 }]\nroutes: [{ model: fast, provider: vllm, upstreamModel: m }]\n',
    );
    expect(one.code).toBe(0);
    expect(one.out).toBe(`${one.file}: ok (1 provider, 1 route)\n`);
    const two = await run(
      'providers: [{ name: a, baseUrl: http://127.0.0.1:9/v1 }, { name: b, baseUrl: http://127.0.0.1:8/v1 }]\n',
    );
    expect(two.out).toBe(`${two.file}: ok (2 providers, 0 routes)\n`);
  });

  it('fails a mysql:// store with the path', async () => {
    const r = await run('storage:\n  url: mysql://x/y\n');
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${r.file}: storage.url:`);
    expect(r.out).toBe('');
  });

  it('fails an open relay and passes once opted in', async () => {
    const base =
      'server:\n  host: 0.0.0.0\n  adminToken: abcdefghijk\nproviders:\n  - name: openai\n    baseUrl: https://api.openai.com/v1\n    apiKeyEnv: K\n';
    expect((await run(base, { K: 'x' })).code).toBe(1);
    const opted = await run(base.replace('abcdefghijk\n', 'abcdefghijk\n  allowUnauthenticatedGateway: true\n'), {
      K: 'x',
    });
    expect(opted.code).toBe(0);
    expect(opted.out).toContain(': ok (1 provider,');
  });

  it('fails an auth.tokens tokenEnv that is unset or short, and auth.oidc without what serve needs', async () => {
    const tokens =
      'auth:\n  tokens:\n    - { name: team-search, role: viewer, teams: [search], tokenEnv: SEARCH_TOKEN }\n';
    const unset = await run(tokens);
    expect(unset.code).toBe(1);
    expect(unset.err).toContain(
      `${unset.file}: auth.tokens[0].tokenEnv: the environment variable SEARCH_TOKEN is not set`,
    );
    expect((await run(tokens, { SEARCH_TOKEN: 'short' })).err).toContain('shorter than 16 characters');
    expect((await run(tokens, { SEARCH_TOKEN: '0123456789abcdef' })).code).toBe(0);
    const oidc =
      'auth:\n  oidc:\n    issuer: https://login.example.com\n    clientId: llmscope\n    clientSecretEnv: OIDC_SECRET\n' +
      '    redirectUrl: https://llmscope.example.com/auth/oidc/callback\n    groups: [{ group: admins, role: admin }]\n';
    const o = await run(oidc);
    expect(o.code).toBe(1);
    expect(o.err).toContain('auth.oidc: auth.oidc needs server.adminToken');
    expect(o.err).toContain('auth.oidc.clientSecretEnv: the environment variable OIDC_SECRET is not set');
    expect((await run(`server:\n  adminToken: abcdefghijklmnop\n${oidc}`, { OIDC_SECRET: 's' })).code).toBe(0);
  });

  it('counts virtual keys kept in the store (llmscope keys create): then it is no open relay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-cc-'));
    const db = join(dir, 'llmscope.db');
    const yaml =
      `storage:\n  url: sqlite:${db}\n` +
      'server:\n  host: 0.0.0.0\n  adminToken: abcdefghijk\nproviders:\n  - name: openai\n    baseUrl: https://api.openai.com/v1\n    apiKeyEnv: K\n';
    const before = await run(yaml, { K: 'x' }, dir);
    expect(before.code).toBe(1);
    expect(before.err).toContain('no virtual keys are configured or stored');
    // Counting keys never creates a store that is not there yet.
    expect(existsSync(db)).toBe(false);
    writeFileSync(join(dir, 'c.yaml'), yaml);
    const io = { out: () => {}, err: () => {}, env: { K: 'x' } };
    expect(await keysCreate('app', { config: join(dir, 'c.yaml') }, io)).toBe(0);
    const after = await run(yaml, { K: 'x' }, dir);
    expect(after.err).toBe('');
    expect(after.code).toBe(0);
  });
});
