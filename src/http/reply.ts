// JSON replies and the one place an error becomes an OpenAI-shaped HTTP answer.
import type { ServerResponse } from 'node:http';
import { renderError } from '../errors.js';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Renders any error as an OpenAI-shaped JSON error (unless headers were already sent). */
export function sendError(res: ServerResponse, err: unknown, headers: Record<string, string> = {}): void {
  const r = renderError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, r.status, r.body, { ...headers, ...r.headers });
}
