// One registry of llmscope's own coded errors, and the one place that renders any error in OpenAI's shape.
// Codes are never reused once retired; every code is documented in docs/errors.md (a test keeps them in step).

export type OpenAiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'budget_exceeded'
  | 'upstream_error'
  | 'timeout_error'
  | 'server_error';

interface ErrorSpec {
  status: number;
  type: OpenAiErrorType;
  /** The OpenAI-shaped `code` field. */
  code: string;
}

export const ERRORS = {
  LLMSCOPE_ERR_INVALID_JSON: { status: 400, type: 'invalid_request_error', code: 'invalid_json' },
  LLMSCOPE_ERR_INVALID_BODY: { status: 400, type: 'invalid_request_error', code: 'invalid_body' },
  LLMSCOPE_ERR_MISSING_MODEL: { status: 400, type: 'invalid_request_error', code: 'missing_model' },
  LLMSCOPE_ERR_INVALID_METADATA: { status: 400, type: 'invalid_request_error', code: 'invalid_metadata' },
  LLMSCOPE_ERR_UNROUTABLE_MODEL: { status: 404, type: 'invalid_request_error', code: 'model_not_found' },
  LLMSCOPE_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, type: 'invalid_request_error', code: 'unsupported_media_type' },
  LLMSCOPE_ERR_BODY_TOO_LARGE: { status: 413, type: 'invalid_request_error', code: 'request_too_large' },
  LLMSCOPE_ERR_HEADERS_TOO_LARGE: { status: 431, type: 'invalid_request_error', code: 'request_headers_too_large' },
  LLMSCOPE_ERR_MALFORMED_REQUEST: { status: 400, type: 'invalid_request_error', code: 'malformed_request' },
  LLMSCOPE_ERR_REQUEST_TIMEOUT: { status: 408, type: 'invalid_request_error', code: 'request_timeout' },
  LLMSCOPE_ERR_NOT_FOUND: { status: 404, type: 'not_found_error', code: 'not_found' },
  LLMSCOPE_ERR_METHOD_NOT_ALLOWED: { status: 405, type: 'invalid_request_error', code: 'method_not_allowed' },
  LLMSCOPE_ERR_UPGRADE_REFUSED: { status: 426, type: 'invalid_request_error', code: 'websocket_not_supported' },
  LLMSCOPE_ERR_INVALID_QUERY: { status: 400, type: 'invalid_request_error', code: 'invalid_query' },
  LLMSCOPE_ERR_UNAUTHORIZED: { status: 401, type: 'authentication_error', code: 'unauthorized' },
  LLMSCOPE_ERR_INVALID_API_KEY: { status: 401, type: 'authentication_error', code: 'invalid_api_key' },
  LLMSCOPE_ERR_CSRF_REJECTED: { status: 403, type: 'permission_error', code: 'csrf_rejected' },
  LLMSCOPE_ERR_FORBIDDEN: { status: 403, type: 'permission_error', code: 'forbidden' },
  LLMSCOPE_ERR_HOST_REJECTED: { status: 403, type: 'permission_error', code: 'host_not_allowed' },
  LLMSCOPE_ERR_MODEL_NOT_ALLOWED: { status: 403, type: 'permission_error', code: 'model_not_allowed' },
  LLMSCOPE_ERR_BUDGET_EXCEEDED: { status: 429, type: 'budget_exceeded', code: 'budget_exceeded' },
  LLMSCOPE_ERR_RATE_LIMITED: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  LLMSCOPE_ERR_KEY_NAME_TAKEN: { status: 409, type: 'invalid_request_error', code: 'key_name_taken' },
  LLMSCOPE_ERR_KEY_STORE_UNAVAILABLE: { status: 503, type: 'server_error', code: 'key_store_unavailable' },
  LLMSCOPE_ERR_STORE_UNAVAILABLE: { status: 503, type: 'server_error', code: 'store_unavailable' },
  LLMSCOPE_ERR_UPSTREAM_UNREACHABLE: { status: 502, type: 'upstream_error', code: 'upstream_unreachable' },
  LLMSCOPE_ERR_UPSTREAM_TIMEOUT: { status: 504, type: 'timeout_error', code: 'upstream_timeout' },
  LLMSCOPE_ERR_SHUTTING_DOWN: { status: 503, type: 'server_error', code: 'shutting_down' },
  LLMSCOPE_ERR_OVERLOADED: { status: 503, type: 'server_error', code: 'overloaded' },
  LLMSCOPE_ERR_CONFIG_INVALID: { status: 500, type: 'server_error', code: 'config_invalid' },
  LLMSCOPE_ERR_INTERNAL: { status: 500, type: 'server_error', code: 'internal_error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** An error llmscope raises itself; `message` says what was wrong and how to fix it. */
export class LlmscopeError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: OpenAiErrorType;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { param?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'LlmscopeError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.type = ERRORS[code].type;
    this.param = opts.param ?? null;
    this.headers = opts.headers ?? {};
  }
}

export interface OpenAiErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/** Turns any thrown value into a status and an OpenAI-shaped body; unknown errors never leak a stack. */
export function renderError(err: unknown): { status: number; body: OpenAiErrorBody; headers: Record<string, string> } {
  if (err instanceof LlmscopeError) {
    return {
      status: err.status,
      headers: err.headers,
      body: { error: { message: err.message, type: err.type, code: ERRORS[err.code].code, param: err.param } },
    };
  }
  return {
    status: 500,
    headers: {},
    body: {
      error: {
        message: 'llmscope hit an internal error; the details are in its log under this request_id.',
        type: 'server_error',
        code: 'internal_error',
        param: null,
      },
    },
  };
}

/**
 * A JSON.parse error's message without the text it quotes: V8 quotes the start of what it could not read
 * (`Unexpected token 'Z', "Zorvath ac"... is not valid JSON`), and that is the caller's body, while llmscope's own
 * messages are recorded whole, content capture off or not (they name a provider, a model or a limit, never a call's
 * text). What went wrong (the token, a position) stays.
 */
export function jsonErrorText(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.replace(/, (?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/, '');
}

/**
 * A zod parse's error map for what people read (`schema.safeParse(x, { error: missingIsRequired })`): a required
 * field that is absent reads `required (a string), missing` rather than zod's `Invalid input: expected string,
 * received undefined` (QA27). Other issues, and messages a schema sets itself, keep their text.
 */
export function missingIsRequired(issue: { code?: string; input?: unknown; expected?: unknown }): string | undefined {
  if (issue.code !== 'invalid_type' || issue.input !== undefined) return undefined;
  const expected = String(issue.expected ?? 'value');
  return `required (${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}), missing`;
}

/**
 * The error of a union none of whose forms matched, for what people read (zod's own word is 'Invalid input'):
 * `required (<forms>), missing` when absent, `expected <forms>` otherwise (`z.union([...], { error: formsError(F) })`).
 */
export function formsError(forms: string): (issue: { input?: unknown }) => string {
  return (issue) => (issue.input === undefined ? `required (${forms}), missing` : `expected ${forms}`);
}
