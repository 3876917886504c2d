// GET /api/audit (admin): the audit log, newest first, filtered by time, actor, action and result, in keyset pages.
// There is deliberately no route that changes or removes an entry (and the tables refuse it too).
import { z } from 'zod';
import { LlmscopeError } from '../errors.js';
import { parseQuery, type Router, sendJson } from '../http/index.js';
import { timeParamSchema } from '../time.js';
import type { Audit } from './log.js';
import { AUDIT_RESULTS, type AuditEntry, MAX_AUDIT_PAGE } from './storage/index.js';

const time = timeParamSchema;

const query = z.object({
  from: time.optional(),
  to: time.optional(),
  actor: z.string().max(256).optional(),
  action: z.string().max(128).optional(),
  result: z.enum(AUDIT_RESULTS, { message: `expected one of ${AUDIT_RESULTS.join(', ')}` }).optional(),
  limit: z
    .string()
    .regex(/^\d+$/, { message: `expected an integer from 1 to ${MAX_AUDIT_PAGE}` })
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_AUDIT_PAGE, { message: `expected an integer from 1 to ${MAX_AUDIT_PAGE}` })
    .optional(),
  cursor: z
    .string()
    .regex(/^\d{1,16}$/, { message: 'expected the next_cursor of a previous page' })
    .optional(),
});

/** An entry in snake_case wire form, its time as ISO 8601. */
export function auditEntryToWire(e: AuditEntry) {
  return {
    id: e.id,
    time: new Date(e.at).toISOString(),
    actor: e.actor,
    role: e.role,
    action: e.action,
    target: e.target,
    ip: e.ip,
    user_agent: e.userAgent,
    result: e.result,
    detail: e.detail,
  };
}

export function registerAuditRoutes(api: Router, audit: Audit): void {
  api.get('/api/audit', async ({ res, url }) => {
    const q = parseQuery(query, url);
    if (q.from !== undefined && q.to !== undefined && q.from >= q.to)
      throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', 'invalid query parameters: "from" must be before "to"', {
        param: 'from',
      });
    const page = await audit.list({
      from: q.from,
      to: q.to,
      actor: q.actor,
      action: q.action,
      result: q.result,
      limit: q.limit,
      before: q.cursor === undefined ? undefined : Number(q.cursor),
    });
    sendJson(res, 200, {
      data: page.entries.map(auditEntryToWire),
      next_cursor: page.nextCursor === null ? null : String(page.nextCursor),
    });
  });
}
