// One JSON POST with a timeout, for the HTTP notifiers; the result is a value, never a throw.
import { request } from 'undici';
import type { NotifyResult } from './notifier.js';

export async function postJson(
  url: string,
  body: unknown,
  timeoutMs = 10_000,
): Promise<NotifyResult & { status?: number }> {
  try {
    const r = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'llmscope-alerts' },
      body: JSON.stringify(body),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await r.body.text();
    if (r.statusCode >= 200 && r.statusCode < 300) return { ok: true, status: r.statusCode };
    return { ok: false, status: r.statusCode, error: `HTTP ${r.statusCode}: ${text.slice(0, 200)}` };
  } catch (err) {
    return { ok: false, error: (err as Error)?.message ?? String(err) };
  }
}

/** host:port of a URL, for logs (never the path or query, which may carry a token). */
export function origin(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid url)';
  }
}
