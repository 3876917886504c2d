// The one mapping from zod issues to llmscope's coded errors, and the one query-string parser built on it.
import type { z } from 'zod';
import { type ErrorCode, LlmscopeError, missingIsRequired } from '../errors.js';

export interface FromZodOptions {
  /** Appended after the issues: how to fix it (e.g. which time formats are accepted). */
  hint?: string;
  /** The raw values, so a message can quote what was sent (query strings; never bodies, which may be large). */
  given?: Record<string, string>;
  /** How many issues the message lists at most (default 10). */
  max?: number;
}

/**
 * A coded error listing what zod found: `"limit": expected an integer from 1 to 500, got "0"; ...`.
 * `param` is the first issue's field (its top-level name for query strings, the dotted path for bodies).
 */
export function fromZod(err: z.ZodError, code: ErrorCode, opts: FromZodOptions = {}): LlmscopeError {
  const issues = err.issues.slice(0, opts.max ?? 10);
  const query = code === 'LLMSCOPE_ERR_INVALID_QUERY';
  const parts = issues.map((i) => {
    const path = i.path.map(String).join('.');
    const got = opts.given?.[String(i.path[0] ?? '')];
    const quoted = got === undefined ? '' : `, got "${got.slice(0, 100)}"`;
    return `${path ? `"${path}"` : query ? '(query)' : '(body)'}: ${i.message}${quoted}`;
  });
  const more = err.issues.length > issues.length ? ` (and ${err.issues.length - issues.length} more)` : '';
  const first = err.issues[0];
  const param = first ? (query ? String(first.path[0] ?? '') : first.path.map(String).join('.')) : '';
  return new LlmscopeError(
    code,
    `invalid ${query ? 'query parameter' : 'body'} ${parts.join('; ')}${more}${opts.hint ? `; ${opts.hint}` : ''}`,
    { param: param || null },
  );
}

/**
 * Parses a URL's query string with a zod object schema. Empty values count as absent (a form's blank field
 * means "no filter"); a repeated parameter keeps its last value; failures are LLMSCOPE_ERR_INVALID_QUERY.
 */
export function parseQuery<T extends z.ZodType>(schema: T, url: URL, hint?: string): z.infer<T> {
  const raw: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (v !== '') raw[k] = v;
  const r = schema.safeParse(raw, { error: missingIsRequired });
  if (!r.success) throw fromZod(r.error, 'LLMSCOPE_ERR_INVALID_QUERY', { hint, given: raw });
  return r.data;
}

/** Parses a request body with a zod schema; failures are LLMSCOPE_ERR_INVALID_BODY naming each field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown, hint?: string): z.infer<T> {
  const r = schema.safeParse(body, { error: missingIsRequired });
  if (!r.success) throw fromZod(r.error, 'LLMSCOPE_ERR_INVALID_BODY', { hint });
  return r.data;
}
