// JSON replies and the one place an error becomes an OpenAI-shaped HTTP answer.
import type { ServerResponse } from 'node:http';
import { renderError } from '../errors.js';
import { uuidv7 } from '../telemetry/ids.js';

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

/**
 * The id an internal error's answer and its log line share: the call's x-request-id where it has one, else a new
 * UUIDv7 sent as x-request-id (the 500 says "the details are in its log under this request_id"; /api answers had none).
 */
export function internalErrorId(res: ServerResponse): string {
  const had = res.getHeader('x-request-id');
  if (typeof had === 'string') return had;
  const id = uuidv7();
  if (!res.headersSent) res.setHeader('x-request-id', id);
  return id;
}
