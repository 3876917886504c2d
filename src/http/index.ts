// Neutral HTTP helpers shared by the gateway, the API and the dashboard: replies, bodies, the /api router,
// zod mapping, static files, health, metrics and the admin's sessions.

export {
  ADMIN_NAME,
  hashToken,
  type Principal,
  principalOf,
  ROLES,
  ROUTE_ACCESS,
  type Role,
  type RouteAccess,
  roleAllows,
  routeAccess,
  type Scope,
  type ScopeRule,
  type TokenPrincipal,
  TokenTable,
} from './access.js';
export {
  AdminAuth,
  type AuthOptions,
  CSRF_COOKIE,
  CSRF_HEADER,
  checkGatewayCrossSite,
  checkGatewayLoopbackHost,
  checkLoopbackHost,
  isLoopbackHost,
  OIDC_COOKIE,
  SESSION_COOKIE,
  safeEqual,
} from './auth.js';
export {
  ClientClosedError,
  clientClosed,
  dropRest,
  PARSE_AS_IT_COMES,
  readBody,
  readJson,
  readJsonBody,
  refuseEncodedJson,
  watchBodyIdle,
} from './body.js';
export { type ReadinessProbe, sendHealth, sendReadiness, type WorkersReadiness } from './health.js';
export { parseJsonInTurns } from './json-stream.js';
export { isLingering, LINGER, type LingerBounds, lingeringClose, lingerOnClose } from './linger.js';
export { createListener, schemeOf, type TlsFiles } from './listener.js';
export { principalWire, registerMeRoute } from './me.js';
export { sendMetrics } from './metrics.js';
export { issuerAllowed, OidcClient, type OidcGroupRule, type OidcSettings } from './oidc.js';
export { internalErrorId, sendError, sendJson } from './reply.js';
export { type Handler, type HttpContext, type RouteMatch, Router } from './router.js';
export {
  LocalSessionRevocations,
  type SessionRevocations,
  SharedSessionRevocations,
} from './sessions.js';
export { findUiRoot, loadStaticSite, type StaticSite } from './static.js';
export { type WebHandler, type WebParts, webHandler } from './web.js';
export { type FromZodOptions, fromZod, parseBody, parseQuery } from './zod.js';
