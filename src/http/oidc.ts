// OpenID Connect sign-in (`auth.oidc`, docs/security.md): the authorization code flow with PKCE (S256), state and
// nonce against any issuer that publishes its discovery document, through openid-client. The ID token's groups claim
// maps to a role and an optional team scope by the first matching `auth.oidc.groups` entry. The session itself is
// llmscope's usual signed cookie (src/http/auth.ts), carrying the mapped principal.
import * as client from 'openid-client';
import { LlmscopeError } from '../errors.js';
import type { Principal, Role } from './access.js';

export interface OidcGroupRule {
  /** A value of the groups claim. */
  group: string;
  role: Role;
  teams?: readonly string[];
  features?: readonly string[];
}

export interface OidcSettings {
  issuer: string;
  clientId: string;
  /** Absent: a public client (PKCE only). */
  clientSecret?: string;
  /** This llmscope's callback, as registered with the issuer: https://HOST/auth/oidc/callback. */
  redirectUrl: string;
  scopes: readonly string[];
  /** The claim listing the user's groups (a list of strings, or one string). */
  groupsClaim: string;
  /** The claim naming the user (its value, prefixed `oidc:`, is the principal's name); `sub` when it is absent. */
  nameClaim: string;
  /** Group → role and scope; the first entry whose group the user has wins. */
  groups: readonly OidcGroupRule[];
}

/** What the browser keeps between the redirect to the issuer and the way back (signed, in a short-lived cookie). */
export interface OidcPending {
  state: string;
  nonce: string;
  verifier: string;
  /** The dashboard page to return to. */
  back: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/;

/** Plain http is allowed only for an issuer on this machine (a development or test issuer). */
export function issuerAllowed(issuer: string): boolean {
  const u = new URL(issuer);
  return u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.test(u.hostname));
}

export class OidcClient {
  private discovered: Promise<client.Configuration> | null = null;

  constructor(readonly settings: OidcSettings) {
    if (!issuerAllowed(settings.issuer))
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `auth.oidc.issuer must be https (plain http only for an issuer on loopback), got ${settings.issuer}`,
      );
  }

  /** The issuer's metadata, fetched once (again after a failure). */
  private configuration(): Promise<client.Configuration> {
    if (!this.discovered) {
      const s = this.settings;
      const insecure = new URL(s.issuer).protocol === 'http:';
      this.discovered = client
        .discovery(
          new URL(s.issuer),
          s.clientId,
          s.clientSecret,
          s.clientSecret === undefined ? client.None() : undefined,
          insecure ? { execute: [client.allowInsecureRequests], timeout: 10 } : { timeout: 10 },
        )
        .catch((err: unknown) => {
          this.discovered = null;
          throw new LlmscopeError(
            'LLMSCOPE_ERR_UPSTREAM_UNREACHABLE',
            `the OIDC issuer ${s.issuer} could not be read (${(err as Error).message}); check auth.oidc.issuer`,
          );
        });
    }
    return this.discovered;
  }

  /** Where to send the browser, and what to keep until it comes back. */
  async start(back: string): Promise<{ url: URL; pending: OidcPending }> {
    const config = await this.configuration();
    const verifier = client.randomPKCECodeVerifier();
    const pending: OidcPending = { state: client.randomState(), nonce: client.randomNonce(), verifier, back };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUrl,
      scope: this.settings.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url, pending };
  }

  /**
   * Exchanges the code the issuer sent back (checking state, nonce and the PKCE verifier, and the ID token's
   * signature, issuer, audience and expiry) for the ID token's claims.
   */
  async finish(callback: URL, pending: OidcPending): Promise<Record<string, unknown>> {
    const config = await this.configuration();
    // The URL the issuer redirected to, whatever host and scheme the request arrived with behind a proxy.
    const current = new URL(this.settings.redirectUrl);
    current.search = callback.search;
    const tokens = await client.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims) throw new Error('the issuer sent no ID token');
    return claims as Record<string, unknown>;
  }

  /** The principal these claims map to, or null when none of the user's groups is in `auth.oidc.groups`. */
  principalOf(claims: Record<string, unknown>): Omit<Principal, 'kind'> | null {
    const raw = claims[this.settings.groupsClaim];
    const groups = Array.isArray(raw)
      ? raw.filter((g): g is string => typeof g === 'string')
      : typeof raw === 'string'
        ? [raw]
        : [];
    const rule = this.settings.groups.find((r) => groups.includes(r.group));
    if (!rule) return null;
    const named = claims[this.settings.nameClaim];
    const who = typeof named === 'string' && named ? named : String(claims['sub'] ?? 'unknown');
    const scope =
      rule.teams || rule.features
        ? { ...(rule.teams ? { teams: rule.teams } : {}), ...(rule.features ? { features: rule.features } : {}) }
        : null;
    return { name: `oidc:${who}`.slice(0, 200), role: rule.role, scope };
  }
}
