// The /v1 gateway's own routes, for every listener that serves them (the single process in server.ts, and each
// worker under `serve --workers`): a wire format's call route, a path passed through to its provider, GET /v1/models.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Endpoint } from '../calls/index.js';
import type { Config } from '../config/index.js';
import { LlmscopeError } from '../errors.js';
import { checkGatewayCrossSite, checkGatewayLoopbackHost } from '../http/index.js';
import { gatewayRoute, passThroughRoute } from '../providers/index.js';
import { sendModels } from './models.js';
import { answerRequestId, type GatewayProxy } from './proxy.js';
import type { Upstream } from './upstream.js';

/**
 * Refuses a request whose path has an empty segment (`//v1/traces`, `/v1/responses//cancel`), before its URL is
 * parsed: `new URL('//v1/traces', base)` reads `v1` as a host and `/traces` as the path, and collapsing the slashes
 * could make another route of it (`/v1/responses/cancel`). A 404 in the shape of the route the path would be
 * without them, naming that path (a client's base URL ending in `/` is the usual cause). True when refused.
 */
/**
 * The endpoint whose wire format a path's errors take: a call route's, a pass-through path's format (Anthropic's
 * count_tokens, and its /v1/files when `headers` carry `anthropic-version`; Gemini's countTokens), Gemini's for any
 * other /v1beta path, else OpenAI's.
 */
export function routeEndpointOf(path: string, headers?: IncomingHttpHeaders): Endpoint {
  const pass = passThroughRoute(path, headers)?.adapter;
  const route = gatewayRoute(path);
  // A route whose endpoint is another format's too (Gemini's embeddings): its own format's first endpoint.
  const own = route && !route.adapter.routes[path] ? (route.adapter.endpoints?.[0] ?? route.endpoint) : route?.endpoint;
  return (
    own ??
    (pass ? ((Object.values(pass.routes)[0] ?? pass.endpoints?.[0]) as Endpoint) : undefined) ??
    (path.startsWith('/v1beta/') ? 'generate_content' : 'chat.completions')
  );
}

/**
 * Checks that a gateway request trusted for coming over loopback addresses llmscope by a loopback name (DNS
 * rebinding, docs/security.md) and, when it would go upstream on llmscope's own provider key, was not forwarded by a proxy
 * for a remote client; when it does not, answers its 403 in the route's own error shape (Anthropic's on
 * /v1/messages, Google's on /v1beta) and returns true.
 */
export function refuseNonLoopbackHost(
  proxy: GatewayProxy,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): boolean {
  try {
    checkGatewayLoopbackHost(req, path, () => proxy.relaysOwnKey());
    return false;
  } catch (err) {
    if (!(err instanceof LlmscopeError)) throw err;
    proxy.refuse(res, routeEndpointOf(path, req.headers), err);
    return true;
  }
}

/**
 * Refuses a gateway request a browser page of another site sent without a key of its own (checkGatewayCrossSite,
 * docs/security.md): its 403 in the route's own error shape. True when refused.
 */
export function refuseCrossSite(
  proxy: GatewayProxy,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  corsOrigins: readonly string[],
): boolean {
  try {
    checkGatewayCrossSite(req, path, corsOrigins);
    return false;
  } catch (err) {
    if (!(err instanceof LlmscopeError)) throw err;
    answerRequestId(req, res);
    proxy.refuse(res, routeEndpointOf(path, req.headers), err);
    return true;
  }
}

export function refuseEmptySegment(proxy: GatewayProxy, req: IncomingMessage, res: ServerResponse): boolean {
  const raw = req.url ?? '/';
  if (raw[0] !== '/') return false; // absolute-form (a forward proxy's request line): parsed as it is
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  if (!path.includes('//')) return false;
  const meant = path.replace(/\/{2,}/g, '/');
  proxy.refuse(
    res,
    routeEndpointOf(meant, req.headers),
    new LlmscopeError(
      'LLMSCOPE_ERR_NOT_FOUND',
      `no route at ${req.method} ${path}: a path with an empty segment (two slashes together) is not served; did you mean ${meant}? (check that the client's base URL does not end in "/" where the client adds one)`,
    ),
  );
  return true;
}

// The first segments of the gateway's OpenAI and Anthropic routes, as a client whose base URL lacks /v1 sends them.
const V1_ROUTES =
  /^\/(chat|completions|embeddings|responses|messages|models|moderations|audio|images|files|batches|uploads|realtime)(\/|$)/;
const PLAIN_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * A gateway route sent with a base URL one /v1 short or one too many (the commonest set-up mistakes: an OpenAI
 * client's base URL set to http://host:port, an Anthropic one's to http://host:port/v1): answered 404 in the route's
 * error shape, naming the path meant and the base URL to set, instead of the dashboard's "unknown route" or "no
 * page or file". True when it answered.
 */
export function refuseBaseUrlMistake(
  proxy: GatewayProxy,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  forwarded = false,
): boolean {
  // A base URL ending in /api (llmscope's own API, not the gateway's) is taken off first: /api/v1/chat/completions.
  const api = path.startsWith('/api/');
  const rest = api ? path.slice(4) : path;
  const once = rest.startsWith('/v1/') && V1_ROUTES.test(rest.slice(3));
  const twice = !api && rest.startsWith('/v1/v1/') && V1_ROUTES.test(rest.slice(6));
  const meant = twice ? rest.slice(3) : api && once ? rest : V1_ROUTES.test(rest) ? `/v1${rest}` : null;
  if (meant === null) return false;
  // `forwarded`: the recorder of `serve --workers`, whose workers pass the client's Host and scheme on.
  const first = (h: string | string[] | undefined): string | undefined =>
    (Array.isArray(h) ? h[0] : h)?.split(',')[0]?.trim();
  const host = (forwarded && first(req.headers['x-forwarded-host'])) || req.headers.host;
  const scheme = forwarded
    ? first(req.headers['x-forwarded-proto']) === 'https'
      ? 'https'
      : 'http'
    : (req.socket as { encrypted?: boolean }).encrypted
      ? 'https'
      : 'http';
  const root = host !== undefined && PLAIN_HOST.test(host) ? `${scheme}://${host}` : `${scheme}://HOST:PORT`;
  const endpoint = routeEndpointOf(meant, req.headers);
  const anthropic = endpoint === 'messages' || req.headers['anthropic-version'] !== undefined;
  const advice = anthropic
    ? `Anthropic's SDKs add /v1 themselves: set the client's base URL to ${root}`
    : `set the client's base URL to ${root}/v1 (OpenAI's SDKs add the rest)`;
  proxy.refuse(
    res,
    endpoint,
    new LlmscopeError(
      'LLMSCOPE_ERR_NOT_FOUND',
      `unknown route ${req.method} ${path}: did you mean ${req.method} ${meant}? ${api ? "/api is llmscope's own API, not the gateway: " : ''}${advice}`,
    ),
  );
  return true;
}

const MODEL_PATH = '/v1/models/';
const decodedId = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** The parts of a request's target the gateway's routes read. */
export type RequestTarget = Pick<URL, 'pathname' | 'search'>;

/**
 * A target of letters, digits and `-_~:/` (and dots, but no `.` or `..` segment): its URL path is itself, as
 * `new URL` would give it (nothing to percent-encode, decode, resolve or strip), and it has no query. Not one that
 * starts `//`, which a URL reads as a host (`//v1/chat/completions`: host v1, path /chat/completions).
 */
const PLAIN_TARGET = /^\/(?!\/)[A-Za-z0-9._~:/-]*$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

/**
 * A request's target as the gateway reads it: a plain path (every SDK's call route, `/v1/chat/completions`) as it
 * came, without the URL parse per call (about 1 µs); anything else as `new URL(target, 'http://llmscope')` reads it.
 */
export function requestTarget(raw: string): RequestTarget {
  if (PLAIN_TARGET.test(raw) && !DOT_SEGMENT.test(raw)) return { pathname: raw, search: '' };
  return new URL(raw, 'http://llmscope');
}

/**
 * Answers `req` when `url` is one of the gateway's routes: true when answered at once (a call is handed to the proxy,
 * which never throws), a promise for the answer (pass-through, model list), false when the path is not the gateway's
 * and the caller serves it.
 */
export function serveGateway(
  proxy: GatewayProxy,
  req: IncomingMessage,
  res: ServerResponse,
  url: RequestTarget,
  upstreams: ReadonlyMap<string, Upstream>,
  routes: Config['routes'],
): boolean | Promise<void> {
  const path = url.pathname;
  // Gateway routes come from the providers' adapters (src/providers/), one per wire format.
  const route = gatewayRoute(path);
  if (route) {
    // Stored chat completions' list (the openai SDK's chat.completions.list) is a GET on the call route: passed through.
    if (req.method === 'GET' && route.endpoint === 'chat.completions')
      return proxy.passThrough(req, res, route.adapter, `/chat/completions${url.search}`, null, true);
    if (req.method !== 'POST') {
      answerRequestId(req, res);
      proxy.refuse(
        res,
        route.endpoint,
        new LlmscopeError('LLMSCOPE_ERR_METHOD_NOT_ALLOWED', `${path} takes POST, not ${req.method}`),
        route.adapter,
      );
    } else proxy.handle(req, res, route.endpoint, route.adapter);
    return true;
  }
  const passThrough = passThroughRoute(path, req.headers);
  if (passThrough)
    return proxy.passThrough(
      req,
      res,
      passThrough.adapter,
      passThrough.path + url.search,
      passThrough.model,
      passThrough.fallback,
      passThrough.vertex,
      req.method === 'POST' ? passThrough.spends : null,
    );
  const one = path.startsWith(MODEL_PATH) && path.length > MODEL_PATH.length;
  if (path !== '/v1/models' && !one) return false;
  answerRequestId(req, res);
  // An Anthropic client (its SDKs always send anthropic-version; models.list, models.retrieve) reads llmscope's errors
  // here in Anthropic's shape, as on its other routes.
  const anthropic = req.headers['anthropic-version'] !== undefined;
  // HEAD as GET (node sends no body for it); any other method is refused naming the ones taken, not 404.
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const err = new LlmscopeError('LLMSCOPE_ERR_METHOD_NOT_ALLOWED', `${path} takes GET or HEAD, not ${req.method}`, {
      headers: { allow: 'GET, HEAD' },
    });
    if (!anthropic) throw err;
    proxy.refuse(res, 'messages', err);
    return true;
  }
  // One model (the OpenAI and Anthropic SDKs' models.retrieve); an id may hold a slash (vLLM's org/model).
  // A virtual key with `models` sees only those (LiteLLM's behaviour); without a key, or a key without models, all.
  const answer = proxy
    .allowedModels(req)
    .then((allowed) =>
      sendModels(
        res,
        upstreams,
        routes,
        req.headers,
        one ? decodedId(path.slice(MODEL_PATH.length)) : undefined,
        allowed,
      ),
    );
  return anthropic
    ? answer.catch((err: unknown) => {
        if (!(err instanceof LlmscopeError)) throw err;
        proxy.refuse(res, 'messages', err);
      })
    : answer;
}
