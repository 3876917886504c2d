// OpenAI's Files API and moderations, in their wire shapes, so an app that uploads a batch file or moderates its input
// runs against the simulator (and through llmscope's pass-through) offline. Files live in memory, bounded
// (MAX_FILES, MAX_FILE_BYTES in all); moderations do not classify: every input comes back not flagged, with small
// scores derived from its text, as a stand-in that keeps the answer's shape honest.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hash32 } from './text.js';
import { invalidRequest } from './wire.js';

/** Files kept at once (the oldest dropped first) and their bytes in all. */
export const MAX_FILES = 1000;
export const MAX_FILE_BYTES = 256 * 1024 * 1024;

interface StoredFile {
  id: string;
  bytes: Buffer;
  filename: string;
  purpose: string;
  createdAt: number;
}

const MODERATION_CATEGORIES = [
  'harassment',
  'harassment/threatening',
  'hate',
  'hate/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/instructions',
  'self-harm/intent',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
];

/** A JSON answer (nothing when the client is gone). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const fileObject = (f: StoredFile) => ({
  id: f.id,
  object: 'file',
  bytes: f.bytes.length,
  created_at: f.createdAt,
  expires_at: null,
  filename: f.filename,
  purpose: f.purpose,
  status: 'processed',
  status_details: null,
});

/** The simulator's files, in upload order. */
export class FileStore {
  private readonly files = new Map<string, StoredFile>();
  private total = 0;

  add(bytes: Buffer, filename: string, purpose: string): StoredFile {
    const f = {
      id: `file-${randomBytes(12).toString('hex')}`,
      bytes,
      filename,
      purpose,
      createdAt: Math.floor(Date.now() / 1000),
    };
    this.files.set(f.id, f);
    this.total += bytes.length;
    for (const [id, old] of this.files) {
      if (this.files.size <= MAX_FILES && this.total <= MAX_FILE_BYTES) break;
      this.files.delete(id);
      this.total -= old.bytes.length;
    }
    return f;
  }

  get(id: string): StoredFile | undefined {
    return this.files.get(id);
  }

  delete(id: string): boolean {
    const f = this.files.get(id);
    if (!f) return false;
    this.files.delete(id);
    this.total -= f.bytes.length;
    return true;
  }

  list(): StoredFile[] {
    return [...this.files.values()];
  }
}

const FILES = /^\/v1\/files(?:\/([^/]+)(\/content)?)?$/;

/** True when `method path` is one of the Files API's or moderations' routes (answered by `handlePlatform`). */
/**
 * A multipart/form-data body (a file upload, an audio file) as FormData; null once a 400 in OpenAI's shape answered a
 * body of another type or one that does not parse. `what` names the body in the message ("The file upload").
 */
export async function readForm(
  req: IncomingMessage,
  res: ServerResponse,
  raw: Buffer,
  what: string,
): Promise<FormData | null> {
  const ct = String(req.headers['content-type'] ?? '');
  if (!/^multipart\/form-data;/i.test(ct)) {
    sendJson(res, 400, invalidRequest(`${what} must be sent as multipart/form-data.`, 'file'));
    return null;
  }
  // An epilogue after the closing delimiter (RFC 2046 allows one, for parsers to ignore) is dropped first: undici's
  // FormData parser refuses a body with one.
  const boundary = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(ct);
  const close = boundary ? Buffer.from(`\r\n--${boundary[1] ?? boundary[2]}--`) : null;
  const end = close ? raw.indexOf(close) : -1;
  const body = close && end >= 0 ? raw.subarray(0, end + close.length) : raw;
  try {
    return await new Response(new Uint8Array(body), { headers: { 'content-type': ct } }).formData();
  } catch {
    sendJson(res, 400, invalidRequest('The multipart body could not be parsed.', 'file'));
    return null;
  }
}

export function isPlatformRoute(method: string, path: string): boolean {
  if (path === '/v1/moderations') return method === 'POST';
  const m = FILES.exec(path);
  if (!m) return false;
  if (!m[1]) return method === 'GET' || method === 'POST';
  return method === 'GET' || (method === 'DELETE' && !m[2]);
}

const notFound = (id: string) => invalidRequest(`No such File object: ${id}`, 'id');

/**
 * Answers a Files API or moderations request (`isPlatformRoute`): `raw` is its body (multipart for an upload, JSON
 * for moderations), `query` its query string.
 */
export async function handlePlatform(
  store: FileStore,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
  raw: Buffer,
  seed: number,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (path === '/v1/moderations') return moderate(res, raw, seed);
  const m = FILES.exec(path) as RegExpExecArray;
  const id = m[1] ? decodeURIComponent(m[1]) : null;
  if (id === null && method === 'POST') return upload(store, req, res, raw);
  if (id === null) {
    const purpose = query.get('purpose');
    let files = store.list().filter((f) => !purpose || f.purpose === purpose);
    if (query.get('order') !== 'asc') files = files.reverse();
    const after = query.get('after');
    if (after) {
      const at = files.findIndex((f) => f.id === after);
      files = at === -1 ? [] : files.slice(at + 1);
    }
    const limit = Math.min(Math.max(Number(query.get('limit') ?? 10000) || 10000, 1), 10000);
    const page = files.slice(0, limit);
    return sendJson(res, 200, {
      object: 'list',
      data: page.map(fileObject),
      first_id: page[0]?.id ?? null,
      last_id: page.at(-1)?.id ?? null,
      has_more: files.length > page.length,
    });
  }
  const f = store.get(id);
  if (method === 'DELETE') {
    if (!store.delete(id)) return sendJson(res, 404, notFound(id));
    return sendJson(res, 200, { id, object: 'file', deleted: true });
  }
  if (!f) return sendJson(res, 404, notFound(id));
  if (!m[2]) return sendJson(res, 200, fileObject(f));
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': f.bytes.length });
  res.end(f.bytes);
}

async function upload(store: FileStore, req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
  const form = await readForm(req, res, raw, 'The file upload');
  if (form === null) return;
  const file = form.get('file');
  const purpose = form.get('purpose');
  if (!(file instanceof Blob)) return sendJson(res, 400, invalidRequest("Missing required parameter: 'file'.", 'file'));
  if (typeof purpose !== 'string' || !purpose)
    return sendJson(res, 400, invalidRequest("Missing required parameter: 'purpose'.", 'purpose'));
  const name = file instanceof File ? file.name : 'file';
  const f = store.add(Buffer.from(await file.arrayBuffer()), name, purpose);
  return sendJson(res, 200, fileObject(f));
}

function moderate(res: ServerResponse, raw: Buffer, seed: number): void {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    sendJson(res, 400, invalidRequest('We could not parse the JSON body of your request.'));
    return;
  }
  const input = body?.input;
  const texts: { text: string; type: 'text' | 'image' }[] =
    typeof input === 'string'
      ? [{ text: input, type: 'text' }]
      : Array.isArray(input)
        ? input.map((x) =>
            typeof x === 'string'
              ? { text: x, type: 'text' as const }
              : x && typeof x === 'object' && (x as { type?: unknown }).type === 'image_url'
                ? { text: JSON.stringify(x), type: 'image' as const }
                : { text: String((x as { text?: unknown })?.text ?? ''), type: 'text' as const },
          )
        : [];
  if (texts.length === 0) {
    sendJson(res, 400, invalidRequest("Missing required parameter: 'input'.", 'input'));
    return;
  }
  const model = typeof body.model === 'string' && body.model ? body.model : 'omni-moderation-latest';
  const results = texts.map(({ text, type }) => {
    const categories: Record<string, boolean> = {};
    const scores: Record<string, number> = {};
    const applied: Record<string, string[]> = {};
    for (const c of MODERATION_CATEGORIES) {
      categories[c] = false;
      scores[c] = (hash32(seed, c, text) % 1000) / 1e6; // below 0.001: nothing flagged
      applied[c] = [type];
    }
    return { flagged: false, categories, category_scores: scores, category_applied_input_types: applied };
  });
  sendJson(res, 200, { id: `modr-${randomBytes(12).toString('hex')}`, model, results });
}
