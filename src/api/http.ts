// Moved to src/http/ (neutral ground for the gateway, the API and the dashboard); this re-export keeps the
// modules that still import from here building until each moves its import.
export {
  type Handler,
  type HttpContext,
  Router,
  readBody,
  readJson,
  sendError,
  sendJson,
} from '../http/index.js';
