// OIDC sign-in against a small issuer written here (discovery, JWKS, /authorize, /token with PKCE S256 checked, RS256
// ID tokens): the code flow gives a session whose role and team scope come from the user's groups; a user in none of
// the mapped groups, a callback without the pending sign-in's cookie or with another state, and an issuer's refusal
// give no session; the ID token's nonce and signature are checked.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/server.js';
import { configOf } from './helpers.js';

const CLIENT_ID = 'llmscope-test';
const CLIENT_SECRET = 'oidc-client-secret-0123456789';
const ADMIN = 'oidc-test-admin-token';
process.env['LLMSCOPE_TEST_OIDC_SECRET'] = CLIENT_SECRET;

interface User {
  sub: string;
  email: string;
  groups: string[];
}

/** A minimal OpenID provider: enough of discovery, authorization and token endpoints for the code flow with PKCE. */
class TestIssuer {
  readonly server: Server;
  url = '';
  /** Who signs in at /authorize next. */
  user: User = { sub: 'u1', email: 'ann@example.com', groups: [] };
  /** Set to make /authorize answer with an error instead. */
  refuse: string | null = null;
  /** Set to sign ID tokens with this nonce instead of the one asked for. */
  forceNonce: string | null = null;
  readonly pkceChecked: boolean[] = [];
  private readonly keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  private readonly codes = new Map<string, { challenge: string; nonce: string; redirect: string; user: User }>();

  constructor() {
    this.server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', this.url);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (u.pathname === '/.well-known/openid-configuration')
        return json(200, {
          issuer: this.url,
          authorization_endpoint: `${this.url}/authorize`,
          token_endpoint: `${this.url}/token`,
          jwks_uri: `${this.url}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        });
      if (u.pathname === '/jwks')
        return json(200, {
          keys: [{ ...this.keys.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }],
        });
      if (u.pathname === '/authorize') {
        const p = u.searchParams;
        const back = new URL(p.get('redirect_uri') ?? '');
        back.searchParams.set('state', p.get('state') ?? '');
        if (this.refuse) {
          back.searchParams.set('error', this.refuse);
          back.searchParams.set('error_description', 'the user said no <b>');
        } else {
          if (p.get('client_id') !== CLIENT_ID || p.get('code_challenge_method') !== 'S256' || !p.get('code_challenge'))
            return json(400, { error: 'invalid_request' });
          const code = randomBytes(16).toString('hex');
          this.codes.set(code, {
            challenge: p.get('code_challenge') as string,
            nonce: p.get('nonce') ?? '',
            redirect: p.get('redirect_uri') as string,
            user: this.user,
          });
          back.searchParams.set('code', code);
        }
        res.writeHead(302, { location: back.href });
        return res.end();
      }
      if (u.pathname === '/token' && req.method === 'POST') {
        let body = '';
        req.on('data', (c: Buffer) => {
          body += c.toString();
        });
        req.on('end', () => {
          const f = new URLSearchParams(body);
          const basic = req.headers.authorization?.replace(/^Basic /, '');
          const [id, secret] = basic
            ? Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent)
            : [f.get('client_id'), f.get('client_secret')];
          if (id !== CLIENT_ID || secret !== CLIENT_SECRET) return json(401, { error: 'invalid_client' });
          const c = this.codes.get(f.get('code') ?? '');
          this.codes.delete(f.get('code') ?? '');
          if (!c || c.redirect !== f.get('redirect_uri')) return json(400, { error: 'invalid_grant' });
          const ok =
            createHash('sha256')
              .update(f.get('code_verifier') ?? '')
              .digest('base64url') === c.challenge;
          this.pkceChecked.push(ok);
          if (!ok) return json(400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
          const now = Math.floor(Date.now() / 1000);
          const idToken = this.jwt({
            iss: this.url,
            aud: CLIENT_ID,
            sub: c.user.sub,
            email: c.user.email,
            groups: c.user.groups,
            nonce: this.forceNonce ?? c.nonce,
            iat: now,
            exp: now + 300,
          });
          json(200, { access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: idToken });
        });
        return;
      }
      json(404, { error: 'not_found' });
    });
  }

  private jwt(claims: Record<string, unknown>): string {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = `${enc({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${enc(claims)}`;
    return `${head}.${sign('sha256', Buffer.from(head), this.keys.privateKey).toString('base64url')}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise((ok) => s.close(ok));
  return port;
}

const cookiesOf = (h: string | string[] | undefined): string[] => ([] as string[]).concat(h ?? []);
const jar = (cookies: string[]) => cookies.map((c) => c.split(';')[0]).join('; ');

let issuer: TestIssuer;
let app: App;
let base: string;

/** The browser's part of a sign-in: to llmscope, to the issuer, back to the callback. */
async function signIn(user: User | null, tamper?: (callback: URL, pendingCookie: string) => [URL, string]) {
  if (user) issuer.user = user;
  const start = await request(`${base}/auth/oidc/login?hash=${encodeURIComponent('#/requests')}`);
  await start.body.dump();
  expect(start.statusCode).toBe(302);
  const pending = jar(cookiesOf(start.headers['set-cookie']));
  expect(pending).toMatch(/^llmscope_oidc=/);
  const authorize = new URL(start.headers.location as string);
  expect(authorize.origin).toBe(issuer.url);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  const atIssuer = await request(authorize.href);
  await atIssuer.body.dump();
  let callback = new URL(atIssuer.headers.location as string);
  let cookie = pending;
  if (tamper) [callback, cookie] = tamper(callback, pending);
  const back = await request(callback.href, { headers: cookie ? { cookie } : {} });
  const text = await back.body.text();
  return { status: back.statusCode, text, cookie: jar(cookiesOf(back.headers['set-cookie'])) };
}

async function api(path: string, cookie: string) {
  const r = await request(`${base}${path}`, { headers: { cookie } });
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  issuer = new TestIssuer();
  await issuer.start();
  const port = await freePort();
  const config = configOf({
    server: { host: '0.0.0.0', port, adminToken: ADMIN, shutdownGrace: '1s' },
    storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
    telemetry: { logLevel: 'silent' },
    auth: {
      oidc: {
        issuer: issuer.url,
        clientId: CLIENT_ID,
        clientSecretEnv: 'LLMSCOPE_TEST_OIDC_SECRET',
        redirectUrl: `http://127.0.0.1:${port}/auth/oidc/callback`,
        groups: [
          { group: 'llm-admins', role: 'admin' },
          { group: 'search-team', role: 'viewer', teams: ['search'] },
        ],
      },
    },
  } as never);
  app = await createApp(config);
  await app.listen();
  base = `http://127.0.0.1:${port}`;
  const ingest = await request(`${base}/api/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      calls: ['search', 'billing'].map((team, i) => ({
        request_id: `${team}-call`,
        started_at: new Date(Date.now() - 10_000 + i).toISOString(),
        provider: 'openai',
        model: 'gpt-4o-mini',
        team,
      })),
    }),
  });
  expect(ingest.statusCode).toBe(202);
  await ingest.body.dump();
  await app.ctx.recorder.flush();
}, 30_000);

afterAll(async () => {
  await app?.close();
  await new Promise((ok) => issuer?.server.close(ok));
});

describe('OIDC sign-in', () => {
  it('the login page offers it', async () => {
    const r = await request(`${base}/`);
    expect(r.statusCode).toBe(401);
    expect(await r.body.text()).toContain('href="/auth/oidc/login"');
  });

  it('a group mapped to a team scope gives a session that sees that team only', async () => {
    const s = await signIn({ sub: 'u-s', email: 'sam@example.com', groups: ['other', 'search-team'] });
    expect(s.status).toBe(200);
    expect(issuer.pkceChecked.at(-1)).toBe(true);
    // A page that moves on by itself (same-site), back to the page the sign-in started from.
    expect(s.text).toContain('url=/#/requests');
    expect(s.cookie).toMatch(/llmscope_session=v1\./);
    const list = await api('/api/requests', s.cookie);
    expect(list.status).toBe(200);
    expect((list.body['data'] as { team: string }[]).map((c) => c.team)).toEqual(['search']);
    expect((await api('/api/requests/billing-call', s.cookie)).status).toBe(404);
    // a viewer: the admin's audit log is not for it
    expect((await api('/api/audit', s.cookie)).status).toBe(403);
  });

  it('an admin group gives an admin session; a user in no mapped group gets none', async () => {
    const a = await signIn({ sub: 'u-a', email: 'ada@example.com', groups: ['llm-admins'] });
    expect(a.status).toBe(200);
    const keys = await api('/api/requests', a.cookie);
    expect((keys.body['data'] as unknown[]).length).toBe(2);
    const none = await signIn({ sub: 'u-n', email: 'ned@example.com', groups: ['marketing'] });
    expect(none.status).toBe(403);
    expect(none.text).toContain('none of the groups');
    expect(none.cookie).not.toMatch(/llmscope_session=v1/);
  });

  it('without the pending sign-in, with another state, a wrong nonce or a refusal: no session', async () => {
    const user = { sub: 'u-s', email: 'sam@example.com', groups: ['search-team'] };
    const noCookie = await signIn(user, (cb) => [cb, '']);
    expect(noCookie.status).toBe(400);
    expect(noCookie.cookie).not.toMatch(/llmscope_session=v1/);
    const otherState = await signIn(user, (cb, c) => {
      cb.searchParams.set('state', 'not-the-state');
      return [cb, c];
    });
    expect(otherState.status).toBe(401);
    expect(otherState.cookie).not.toMatch(/llmscope_session=v1/);
    // A cookie whose signature does not match is no pending sign-in.
    const forged = await signIn(user, (cb, c) => [cb, c.replace(/\.[\w-]+$/, '.AAAA')]);
    expect(forged.status).toBe(400);
    issuer.forceNonce = 'another-nonce';
    const badNonce = await signIn(user);
    issuer.forceNonce = null;
    expect(badNonce.status).toBe(401);
    expect(badNonce.cookie).not.toMatch(/llmscope_session=v1/);
    issuer.refuse = 'access_denied';
    const refused = await signIn(user);
    issuer.refuse = null;
    expect(refused.status).toBe(401);
    expect(refused.text).toContain('the user said no &lt;b&gt;');
  });

  it('a changed group mapping ends the sessions signed in under the old one (after a restart with it)', async () => {
    const a = await signIn({ sub: 'u-m', email: 'mo@example.com', groups: ['llm-admins'] });
    expect((await api('/api/audit', a.cookie)).status).toBe(200);
    // llmscope restarted with the same admin token, once with the same mapping, once with llm-admins made viewers
    const restart = async (groups: unknown[]) => {
      const port = await freePort();
      const other = await createApp(
        configOf({
          server: { host: '0.0.0.0', port, adminToken: ADMIN, shutdownGrace: '1s' },
          storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
          telemetry: { logLevel: 'silent' },
          auth: {
            oidc: {
              issuer: issuer.url,
              clientId: CLIENT_ID,
              clientSecretEnv: 'LLMSCOPE_TEST_OIDC_SECRET',
              redirectUrl: `http://127.0.0.1:${port}/auth/oidc/callback`,
              groups,
            },
          },
        } as never),
      );
      await other.listen();
      try {
        const r = await request(`http://127.0.0.1:${port}/api/me`, { headers: { cookie: a.cookie } });
        return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
      } finally {
        await other.close();
      }
    };
    const same = await restart([
      { group: 'llm-admins', role: 'admin' },
      { group: 'search-team', role: 'viewer', teams: ['search'] },
    ]);
    expect(same).toMatchObject({ status: 200, body: { name: 'oidc:mo@example.com', role: 'admin' } });
    // The session carried the role mapped at sign-in: it was still an admin's for up to sessionTtl (12 h).
    const demoted = await restart([
      { group: 'llm-admins', role: 'viewer' },
      { group: 'search-team', role: 'viewer', teams: ['search'] },
    ]);
    expect(demoted.status).toBe(401);
  });

  it('each sign-in through the issuer, and each refused one, is in the audit log', async () => {
    const logins = (await app.ctx.audit.list({ action: 'login', limit: 500 })).entries;
    expect(logins.filter((e) => e.result === 'ok').map((e) => e.actor)).toContain('oidc:ada@example.com');
    expect(logins.find((e) => e.actor === 'oidc:ada@example.com')?.role).toBe('admin');
    expect(logins.filter((e) => e.result === 'denied').map((e) => e.detail?.['reason'])).toEqual(
      expect.arrayContaining(['oidc_no_group', 'oidc_invalid', 'oidc_refused']),
    );
  });
});
