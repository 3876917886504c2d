// Request bodies: read with a limit (413 past it, without buffering the rest), JSON with a content-type check.
import type { IncomingMessage } from 'node:http';
import { LlmscopeError } from '../errors.js';

/**
 * The client went away before its request body was whole (it closed or reset the connection mid-upload, or sent
 * less than its Content-Length and hung up): nobody is left to answer, and nothing failed on llmscope's side, so it
 * is no error to log (a gateway call ends `cancelled`, 499 client_closed_request).
 */
export class ClientClosedError extends Error {
  readonly code = 'client_closed_request';
  constructor() {
    super('the client closed the connection before its request body was complete');
  }
}

/** Whether `err` came of the client leaving mid-request (its body cut), not of anything llmscope did. */
export function clientClosed(req: IncomingMessage, err: unknown): boolean {
  return err instanceof ClientClosedError || (!req.complete && req.destroyed);
}

/** Reads the whole body as a Buffer, refusing (413) past `limit` bytes without buffering the rest. */
export function readBody(
  req: IncomingMessage,
  limit: number,
  advice = 'send a smaller body or raise server.bodyLimit in the config',
): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit, advice));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit, advice));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    req.on('error', (e) => {
      if (failed) return;
      failed = true;
      reject(req.complete ? e : new ClientClosedError());
    });
    // A connection closed mid-body without an 'error' (or before any data) must not leave the read waiting forever.
    req.on('close', () => {
      if (failed || req.complete) return;
      failed = true;
      reject(new ClientClosedError());
    });
  });
}

function tooLarge(limit: number, advice: string): LlmscopeError {
  return new LlmscopeError(
    'LLMSCOPE_ERR_BODY_TOO_LARGE',
    `request body is larger than the limit of ${limit} bytes; ${advice}`,
  );
}

/**
 * Refuses a JSON body sent with a content-encoding (gzip, deflate, br): it would be parsed as its compressed bytes
 * and quoted back as invalid JSON. The gateway routes and the JSON /api routes take uncompressed bodies.
 */
export function refuseEncodedJson(req: IncomingMessage): void {
  const enc = req.headers['content-encoding'];
  if (enc === undefined || enc === '' || enc.trim().toLowerCase() === 'identity') return;
  req.resume();
  throw new LlmscopeError(
    'LLMSCOPE_ERR_UNSUPPORTED_MEDIA_TYPE',
    `this route takes an uncompressed JSON body, got content-encoding "${enc.trim().toLowerCase().slice(0, 64)}"; send it without content-encoding`,
  );
}

/** Parses a JSON request body, requiring a JSON content type; errors say what to fix. */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const ct = String(req.headers['content-type'] ?? '');
  if (!/^application\/(.+\+)?json\b/i.test(ct)) {
    req.resume();
    throw new LlmscopeError(
      'LLMSCOPE_ERR_UNSUPPORTED_MEDIA_TYPE',
      `expected a JSON body with content-type application/json, got ${ct ? `"${ct}"` : 'no content-type'}`,
    );
  }
  refuseEncodedJson(req);
  const buf = await readBody(req, limit);
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_JSON',
      `request body is not valid JSON (${(err as Error).message}); send a JSON object`,
    );
  }
}
