// Fetching /api/*: JSON with the session cookie, errors as values, and the two answers the dashboard treats
// specially — 401 (sign in again) and 404 (that capability is not in this build or not configured). A route the
// signed-in principal may not call (./access.ts) is not asked for: it answers 403 here, without a request.
import { type Denial, denied, deniedText, routeKey } from './access.js';

export type Result<T> =
  | { ok: true; data: T }
  | {
      ok: false;
      status: number;
      message: string /** Set when the dashboard did not ask: the principal may not. */;
      denied?: Denial;
    };

/** Set when any call answers 401, so the shell can say "sign in" once instead of every panel failing. */
export const auth = { unauthorized: false, onUnauthorized: (): void => {} };

/** The signed-in session's CSRF token (a cookie the server set at login), echoed on every write. */
function csrfHeader(method: string): Record<string, string> {
  if (method === 'GET') return {};
  const m = /(?:^|;\s*)llmscope_csrf=([^;]+)/.exec(document.cookie);
  return m?.[1] ? { 'x-llmscope-csrf': decodeURIComponent(m[1]) } : {};
}

async function call<T>(method: string, path: string, body?: unknown): Promise<Result<T>> {
  const key = routeKey(method, path);
  const no = key ? denied(key) : null;
  if (key && no) return { ok: false, status: 403, message: deniedText(no, key), denied: no };
  let r: Response;
  try {
    r = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        ...(body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json' }),
        ...csrfHeader(method),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    return { ok: false, status: 0, message: `cannot reach llmscope (${(err as Error).message})` };
  }
  if (r.status === 401) {
    auth.unauthorized = true;
    auth.onUnauthorized();
  }
  let json: unknown = null;
  try {
    json = await r.json();
  } catch {
    // not JSON (e.g. a proxy's error page)
  }
  if (!r.ok) {
    const message =
      (json as { error?: { message?: string } } | null)?.error?.message ?? `${method} ${path}: HTTP ${r.status}`;
    return { ok: false, status: r.status, message };
  }
  return { ok: true, data: json as T };
}

export const get = <T>(path: string) => call<T>('GET', path);
export const post = <T>(path: string, body: unknown) => call<T>('POST', path, body);
export const del = <T>(path: string) => call<T>('DELETE', path);

/** Query string from an object, skipping empty values. */
export function qs(params: Record<string, string | number | null | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** A short reason for an empty state when a call failed. */
export function why(r: { status: number; message: string; denied?: Denial }, what: string): string {
  if (r.denied) return r.message;
  if (r.status === 404) return `no ${what} yet — this llmscope does not serve it (capability not enabled)`;
  if (r.status === 401) return 'sign in with the admin token to see this';
  return `could not load ${what}: ${r.message}`;
}

/**
 * Why an action (a create, an expire, a label) failed, for the message beside its button: what the server said,
 * never a load's wording ("could not load", or a 404 read as a capability this build lacks: the thing acted on is
 * gone). `doing` completes "could not …", e.g. "expire the silence".
 */
export function failed(r: { status: number; message: string; denied?: Denial }, doing: string): string {
  if (r.denied) return r.message;
  if (r.status === 401) return 'sign in with the admin token to do this';
  return `could not ${doing}: ${r.message}`;
}
