// Vertex AI's paths, shared by the formats Vertex serves: Gemini (publishers/google, gemini/) and Claude
// (publishers/anthropic, anthropic/). A Vertex path names the project, location, publisher and model
// (`/v1/projects/{p}/locations/{l}/publishers/{publisher}/models/{model}:{method}`) and goes upstream as sent, under a
// provider whose baseUrl is the Vertex host.

/** Only paths under these are tried against a format's Vertex pattern (the other routes' hot path: a compare or two). */
export const isVertex = (path: string): boolean =>
  path.startsWith('/v1/p') || path.startsWith('/v1beta1/')
    ? path.startsWith('/v1/projects/') ||
      path.startsWith('/v1/publishers/') ||
      path.startsWith('/v1beta1/projects/') ||
      path.startsWith('/v1beta1/publishers/')
    : false;

/** True when a segment of `path`, decoded, is `.` or `..` (it would name another path once normalised upstream). */
export function hasDotSegment(path: string): boolean {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    /* as sent */
  }
  return decoded.split('/').some((seg) => seg === '.' || seg === '..');
}

/** Characters a path segment takes as they are (RFC 3986 pchar), and `/` between a tuned model's segments. */
const PATH_UNSAFE = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/gu;

/** A model as it goes in the upstream path: percent-encoded (UTF-8) where a path needs it, its slashes kept. */
export const modelInPath = (model: string): string =>
  model.replace(PATH_UNSAFE, (c) => {
    let out = '';
    for (const b of Buffer.from(c)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    return out;
  });

/**
 * Vertex AI's API hosts: regional (`us-east5-aiplatform.googleapis.com`), global (`aiplatform.googleapis.com`) and
 * multi-region (`aiplatform.us.rep.googleapis.com`), as @anthropic-ai/vertex-sdk and @google/genai name them.
 */
const VERTEX_HOST = /^(?:[a-z0-9-]+-)?aiplatform(?:\.[a-z0-9-]+\.rep)?\.googleapis\.com$/;

/**
 * True when a provider's baseUrl is a Vertex AI host: a call on a Vertex path goes to such a provider of its format
 * first (by its routes and models, or to the one such provider that names no models), then to any provider of the
 * format whose models match.
 */
export function isVertexBaseUrl(baseUrl: string): boolean {
  try {
    return VERTEX_HOST.test(new URL(baseUrl).hostname.toLowerCase());
  } catch {
    return false;
  }
}
