// GET/POST /api/keys (cost/key-routes.ts) and GET /api/audit (audit/routes.ts): the virtual keys as the admin
// dashboard lists them (never a secret, except `key` in the answer that made or rotated one) and the audit log.
import { z } from 'zod';
import { isoTime, maybe } from './common.js';

export const keyViewSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  source: z.enum(['store', 'config']),
  /** The key's first 12 characters; null for a config key. */
  prefix: maybe(z.string()),
  status: z.enum(['active', 'expired', 'revoked', 'disabled']),
  user: maybe(z.string()),
  team: maybe(z.string()),
  feature: maybe(z.string()),
  trust_headers: z.array(z.string()),
  rpm: maybe(z.number()),
  tpm: maybe(z.number()),
  created_at: maybe(isoTime),
  created_by: maybe(z.string()),
  expires_at: maybe(isoTime),
  revoked_at: maybe(isoTime),
  rotated_at: maybe(isoTime),
  /** Models its calls may name (names or `*` patterns); empty: every model. */
  models: z.array(z.string()),
});
export type KeyView = z.infer<typeof keyViewSchema>;

export const keyListSchema = z.strictObject({ keys: z.array(keyViewSchema) });
export type KeyList = z.infer<typeof keyListSchema>;

/** POST /api/keys (201) and POST /api/keys/{id}/rotate: the key's fields and its secret, this once. */
export const keyWithSecretSchema = keyViewSchema.extend({ key: z.string() });
export type KeyWithSecret = z.infer<typeof keyWithSecretSchema>;

export const auditEntrySchema = z.strictObject({
  id: z.number(),
  time: isoTime,
  actor: z.string(),
  role: maybe(z.string()),
  action: z.string(),
  target: maybe(z.string()),
  ip: maybe(z.string()),
  user_agent: maybe(z.string()),
  result: z.enum(['ok', 'denied', 'failed']),
  detail: maybe(z.record(z.string(), z.unknown())),
});
export type AuditEntryWire = z.infer<typeof auditEntrySchema>;

export const auditPageSchema = z.strictObject({
  data: z.array(auditEntrySchema),
  next_cursor: maybe(z.string()),
});
export type AuditPageWire = z.infer<typeof auditPageSchema>;
