// Google OAuth access tokens held by llmscope for a Vertex AI provider (providers[].googleCredentials): LLM-gateway mode,
// where the client (Claude Code with CLAUDE_CODE_SKIP_VERTEX_AUTH=1, a virtual key) sends no Google token of its own.
// The token is minted by google-auth-library, loaded on the first call that needs it (never by a setup without
// Google credentials), cached until near its expiry, and refreshed once for all calls waiting on it.
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { LlmscopeError } from '../errors.js';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** The token endpoint google-auth-library posts a service account's assertion to, whatever its key file says. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
/** A token is refreshed this long before it expires (google-auth-library's own margin), so no call carries a stale one. */
const REFRESH_EARLY_MS = 5 * 60_000;
/** After a failed fetch, calls are refused with its error for this long before another fetch is tried. */
const RETRY_AFTER_MS = 5_000;
/** A token whose answer named no expiry is asked for again (from the library's cache) after this long. */
const UNKNOWN_EXPIRY_MS = 60_000;

interface Logger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

interface TokenClient {
  getAccessToken(): Promise<{ token?: string | null }>;
  credentials?: { expiry_date?: number | null };
}

/** A service-account (or other google-auth-library) key file, read and checked when the config is loaded (and by check-config). */
export function readKeyFile(path: string, where: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `${where}: cannot read the Google credentials file ${path} (${e.code ?? 'not valid JSON'}); give the path of a service-account key JSON, or "adc" for Application Default Credentials`,
    );
  }
  const o = json as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || typeof o.type !== 'string')
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `${where}: ${path} is not a Google credentials file (no "type"); download a service account's key as JSON`,
    );
  if (o.type === 'service_account' && (typeof o.client_email !== 'string' || typeof o.private_key !== 'string'))
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `${where}: ${path} is a service account without client_email or private_key; download the account's key as JSON again`,
    );
  return o;
}

/** One provider's Google credentials and the access token they last gave. */
export class GoogleTokenSource {
  /** `Bearer <token>` while a token is held (read by upstreamHeaders once `ready` resolved). */
  header: string | null = null;
  private expiresAt = 0;
  private refreshing: Promise<void> | null = null;
  private failure: { at: number; error: LlmscopeError } | null = null;
  private client: Promise<TokenClient> | null = null;
  private readonly json: Record<string, unknown> | null;

  /** `source` is a key file's path or `adc`; a file is read and checked here, at startup. */
  constructor(
    readonly provider: string,
    readonly source: string,
    where: string,
  ) {
    this.json = source === 'adc' ? null : readKeyFile(source, where);
  }

  /**
   * Resolves once `header` holds a fresh token, or at once when the call goes on the client's own Authorization (sent
   * and forwarded); rejects with a 502 naming the failure when no token can be had.
   */
  async ready(incoming: IncomingHttpHeaders, forwardClientAuth: boolean, logger: Logger): Promise<void> {
    if (forwardClientAuth && incoming.authorization) return;
    const now = Date.now();
    if (this.header !== null && now < this.expiresAt - REFRESH_EARLY_MS) return;
    if (this.failure !== null && now - this.failure.at < RETRY_AFTER_MS) throw this.failure.error;
    this.refreshing ??= this.refresh(logger).finally(() => {
      this.refreshing = null;
    });
    await this.refreshing;
    if (this.header === null && this.failure !== null) throw this.failure.error;
  }

  /**
   * The upstream answered 401 to a call that carried `sent`: when that is this source's token (revoked, or expired
   * before its stated expiry), it is dropped and the next call mints another, rather than every call failing with it
   * until its expiry (Google's libraries refresh on a 401 too).
   */
  rejected(sent: unknown): void {
    if (sent === undefined || sent !== this.header) return;
    this.header = null;
    this.expiresAt = 0;
    this.client = null; // the library's client would answer the same cached token
  }

  private async refresh(logger: Logger): Promise<void> {
    try {
      this.client ??= this.createClient();
      const client = await this.client;
      const { token } = await client.getAccessToken();
      if (!token) throw new Error('the token endpoint answered no access_token');
      const expiry = client.credentials?.expiry_date;
      this.header = `Bearer ${token}`;
      this.expiresAt = typeof expiry === 'number' && expiry > 0 ? expiry : Date.now() + UNKNOWN_EXPIRY_MS;
      if (this.failure !== null)
        logger.info(
          { event: 'google_credentials_recovered', provider: this.provider },
          `Google credentials for provider "${this.provider}" give tokens again`,
        );
      this.failure = null;
    } catch (err) {
      const reason = clipReason(err);
      this.header = null;
      this.client = null; // a key file fixed on disk, or ADC set up, is read again on the next try
      // Logged once per outage, not for each call it refuses.
      if (this.failure === null)
        logger.warn(
          { event: 'google_credentials_failed', provider: this.provider, err: reason },
          `llmscope could not obtain a Google access token for provider "${this.provider}"`,
        );
      this.failure = {
        at: Date.now(),
        error: new LlmscopeError(
          'LLMSCOPE_ERR_UPSTREAM_UNREACHABLE',
          `llmscope could not obtain Google credentials for provider "${this.provider}" (${reason}); check providers[].googleCredentials (${this.source === 'adc' ? 'Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS or gcloud auth application-default login' : this.source}) and that its token endpoint is reachable`,
        ),
      };
    }
  }

  private async createClient(): Promise<TokenClient> {
    const { GoogleAuth } = await import('google-auth-library');
    const auth = new GoogleAuth(
      this.json === null
        ? { scopes: [CLOUD_PLATFORM_SCOPE] }
        : { credentials: this.json as never, scopes: [CLOUD_PLATFORM_SCOPE] },
    );
    const client = await auth.getClient();
    // A service account's own token_uri (a private or sovereign deployment's, a proxy's) is honoured, as Google's
    // Python and Go libraries do; google-auth-library for Node always posts to Google's.
    const tokenUri = this.json?.type === 'service_account' ? this.json.token_uri : undefined;
    if (typeof tokenUri === 'string' && tokenUri !== GOOGLE_TOKEN_URL)
      client.transporter.interceptors.request.add({
        resolved: async (opts) => {
          if (String(opts.url) === GOOGLE_TOKEN_URL) opts.url = new URL(tokenUri);
          return opts;
        },
      });
    return client as unknown as TokenClient;
  }
}

/** The failure's own words, short and on one line (google-auth-library's errors can quote a whole answer). */
function clipReason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const m = (e.message ?? String(err)).replace(/\s+/g, ' ').trim();
  const text = e.code && !m.includes(e.code) ? `${e.code}: ${m}` : m;
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
