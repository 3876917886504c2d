// The keyset cursor of `listCalls`: an opaque base64url token of the last row's (started_at, request_id), so the
// next page starts strictly after it in (started_at DESC, request_id DESC) order — no OFFSET, no gaps, no repeats.
import { LlmscopeError } from '../errors.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface CursorPosition {
  startedAt: number;
  requestId: string;
}

export function encodeCursor(p: CursorPosition): string {
  return Buffer.from(JSON.stringify([p.startedAt, p.requestId]), 'utf8').toString('base64url');
}

/** Decodes a cursor; a token this store did not hand out is a 400, not a silent first page. */
export function decodeCursor(token: string): CursorPosition {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    v = null;
  }
  if (
    !Array.isArray(v) ||
    v.length !== 2 ||
    typeof v[0] !== 'number' ||
    !Number.isFinite(v[0]) ||
    typeof v[1] !== 'string'
  )
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_QUERY',
      'invalid query parameter cursor: not a cursor from this API; pass the next_cursor of the previous page unchanged',
      { param: 'cursor' },
    );
  return { startedAt: v[0], requestId: v[1] };
}

/** The page size to use: default 50, at least 1, at most 500. */
export function pageSize(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_PAGE_SIZE;
  return Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(limit)));
}

/**
 * The exclusive end of the byte-order range of the strings that start with `prefix` (`q=`, an id prefix): the prefix
 * with its last code point raised by one (past the surrogates), dropping trailing U+10FFFF. Both engines compare ids
 * bytewise in UTF-8, where code point order is byte order. (prefix + U+FFFF, the end before, left out the ids whose
 * next character is past it: an emoji, U+FFFF itself.) A prefix of U+10FFFF only has no end in UTF-8: its range is
 * closed with the largest code point, so an id of five or more U+10FFFF after it is missed.
 */
export function prefixEnd(prefix: string): string {
  const cps = Array.from(prefix);
  while (cps.length > 0) {
    const cp = (cps.pop() as string).codePointAt(0) as number;
    if (cp < 0x10ffff) return cps.join('') + String.fromCodePoint(cp === 0xd7ff ? 0xe000 : cp + 1);
  }
  return `${prefix}${'\u{10FFFF}'.repeat(4)}`;
}
