// Who may see the dashboard and /api: everyone on a loopback bind; otherwise the admin token, as a bearer
// header or the session cookie the login page sets. Token comparisons are constant-time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Constant-time string equality (over SHA-256 digests, so unequal lengths take the same time too). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

function cookieValue(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(/;\s*/)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq) === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1));
      } catch {
        return null;
      }
    }
  }
  return null;
}

export class AdminAuth {
  constructor(
    private readonly token: string | undefined,
    private readonly open: boolean,
  ) {}

  authorized(req: IncomingMessage, url: URL): boolean {
    if (this.open || !this.token) return this.open;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && safeEqual(auth.slice(7), this.token)) return true;
    const cookie = cookieValue(req, 'llmscope_token');
    if (cookie !== null && safeEqual(cookie, this.token)) return true;
    const q = url.searchParams.get('token');
    return q !== null && url.pathname === '/' && safeEqual(q, this.token);
  }

  /** After a login by query string, moves the token into the cookie and the browser back to `/`. */
  finishLogin(url: URL, res: ServerResponse): boolean {
    const q = url.searchParams.get('token');
    if (this.open || !q) return false;
    res.writeHead(302, {
      location: '/',
      'set-cookie': `llmscope_token=${encodeURIComponent(q)}; HttpOnly; SameSite=Strict; Path=/`,
    });
    res.end();
    return true;
  }

  sendLoginPage(res: ServerResponse): void {
    res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
    res.end(LOGIN_PAGE);
  }
}

const LOGIN_PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>llmscope — sign in</title></head>
<body style="font-family:system-ui;max-width:28rem;margin:4rem auto">
<h1>llmscope</h1><p>This dashboard needs the admin token (server.adminToken).</p>
<form method="get" action="/"><input name="token" type="password" placeholder="admin token" autofocus style="width:100%;padding:.5rem">
<button style="margin-top:.5rem;padding:.5rem 1rem">Sign in</button></form></body></html>`;
