// The /v1 gateway's own routes, for every listener that serves them (the single process in server.ts, and each
// worker under `serve --workers`): a wire format's call route, a path passed through to its provider, GET /v1/models.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/index.js';
import { LlmscopeError } from '../errors.js';
import { gatewayRoute, passThroughRoute } from '../providers/index.js';
import { sendModels } from './models.js';
import type { GatewayProxy } from './proxy.js';
import type { Upstream } from './upstream.js';

/**
 * Answers `req` when `url` is one of the gateway's routes: true when answered at once (a call is handed to the proxy,
 * which never throws), a promise for the answer (pass-through, model list), false when the path is not the gateway's
 * and the caller serves it.
 */
export function serveGateway(
  proxy: GatewayProxy,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  upstreams: ReadonlyMap<string, Upstream>,
  routes: Config['routes'],
): boolean | Promise<void> {
  const path = url.pathname;
  // Gateway routes come from the providers' adapters (src/providers/), one per wire format.
  const route = gatewayRoute(path);
  if (route) {
    if (req.method !== 'POST')
      proxy.refuse(
        res,
        route.endpoint,
        new LlmscopeError('LLMSCOPE_ERR_METHOD_NOT_ALLOWED', `${path} takes POST, not ${req.method}`),
      );
    else proxy.handle(req, res, route.endpoint);
    return true;
  }
  const passThrough = passThroughRoute(path);
  if (passThrough)
    return proxy.passThrough(req, res, passThrough.adapter, passThrough.path + url.search, passThrough.model);
  if (path === '/v1/models' && req.method === 'GET') return sendModels(res, upstreams, routes);
  return false;
}
