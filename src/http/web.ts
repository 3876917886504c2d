// Everything the server answers besides the gateway's /v1: health, /metrics, sign-in, /api and the dashboard,
// each behind the guard it needs.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LlmscopeError } from '../errors.js';
import type { AdminAuth } from './auth.js';
import { type ReadinessProbe, sendHealth, sendReadiness } from './health.js';
import type { Router } from './router.js';
import type { StaticSite } from './static.js';

export interface WebParts {
  auth: AdminAuth;
  api: Router;
  site: StaticSite;
  readiness: ReadinessProbe;
  /** Writes the Prometheus exposition. */
  metrics(res: ServerResponse): Promise<void>;
}

export type WebHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

export function webHandler(p: WebParts): WebHandler {
  const only = (method: string, req: IncomingMessage, path: string) => {
    if (req.method !== method)
      throw new LlmscopeError('LLMSCOPE_ERR_METHOD_NOT_ALLOWED', `${path} takes ${method}, not ${req.method}`, {
        headers: { allow: method },
      });
  };
  return async (req, res, url) => {
    const path = url.pathname;
    if (path === '/healthz' || path === '/readyz') {
      // Probes GET (or HEAD) them; a POST, DELETE or TRACE answered 200 "ok" said a route took it.
      if (req.method !== 'GET' && req.method !== 'HEAD')
        throw new LlmscopeError('LLMSCOPE_ERR_METHOD_NOT_ALLOWED', `${path} takes GET or HEAD, not ${req.method}`, {
          headers: { allow: 'GET, HEAD' },
        });
      return path === '/healthz' ? sendHealth(res) : sendReadiness(res, p.readiness);
    }
    if (path === '/metrics') {
      // HEAD as GET (a reachability probe), as /healthz and the dashboard take it: it was 405
      if (req.method !== 'GET' && req.method !== 'HEAD')
        throw new LlmscopeError('LLMSCOPE_ERR_METHOD_NOT_ALLOWED', `${path} takes GET or HEAD, not ${req.method}`, {
          headers: { allow: 'GET, HEAD' },
        });
      p.auth.guardMetrics(req);
      return p.metrics(res);
    }
    if (path.startsWith('/api/')) {
      // Its answers hold calls' prompts, users and spend: kept by no browser or proxy cache (a shared machine's disk
      // after sign-out), and read as nothing but their declared type; errors included.
      res.setHeader('cache-control', 'no-store');
      res.setHeader('x-content-type-options', 'nosniff');
      const principal = p.auth.guardApi(req, res);
      if (!principal) return;
      return p.api.dispatch(req, res, url, principal);
    }
    if (path === '/login') {
      only('POST', req, path);
      return p.auth.login(req, res);
    }
    if (path === '/auth/oidc/login') {
      only('GET', req, path);
      return p.auth.oidcStart(req, res, url);
    }
    if (path === '/auth/oidc/callback') {
      only('GET', req, path);
      return p.auth.oidcCallback(req, res, url);
    }
    if (path === '/logout') {
      only('POST', req, path);
      return p.auth.logout(req, res);
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (!p.auth.guardPage(req, res)) return;
      return p.site.serve(req, res, url);
    }
    throw new LlmscopeError('LLMSCOPE_ERR_NOT_FOUND', `unknown route ${req.method} ${path}`);
  };
}
