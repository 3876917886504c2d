// AuditStore on PostgreSQL, shared by every replica: one table under the `audit` migration namespace, whose
// triggers refuse UPDATE and DELETE (and TRUNCATE), so history is only ever appended to.
import type { PgMigration, PostgresBackend } from '../../store/index.js';
import { entryOfRow, whereOf } from './sqlite.js';
import type { AuditPage, AuditQuery, AuditStore, NewAuditEntry } from './types.js';
import { AUDIT_COLUMNS, AUDIT_NAMESPACE, auditValues, pageOf, pageSizeOf } from './types.js';

export const PG_AUDIT_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'append-only audit log',
    up: `
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at bigint NOT NULL,
  actor text COLLATE "C" NOT NULL,
  role text,
  action text COLLATE "C" NOT NULL,
  target text,
  ip text,
  user_agent text,
  result text NOT NULL,
  detail text
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
`,
  },
];

export class PostgresAuditStore implements AuditStore {
  readonly kind = 'postgres' as const;

  constructor(private readonly backend: PostgresBackend) {}

  async migrate(): Promise<void> {
    await this.backend.migrations.register(AUDIT_NAMESPACE, PG_AUDIT_MIGRATIONS);
  }

  async append(e: NewAuditEntry): Promise<number> {
    const r = await this.backend.pool.query<{ id: string }>(
      `INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      auditValues(e),
    );
    return Number(r.rows[0]?.id);
  }

  async list(q: AuditQuery): Promise<AuditPage> {
    const limit = pageSizeOf(q);
    const w = whereOf(q, (i) => `$${i}`);
    const r = await this.backend.pool.query(
      `SELECT * FROM audit_log ${w.sql} ORDER BY id DESC LIMIT $${w.values.length + 1}`,
      [...w.values, limit + 1],
    );
    return pageOf(r.rows.map(entryOfRow), limit);
  }
}
