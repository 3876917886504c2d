// AlertStateStore on PostgreSQL, shared by every replica: the elected evaluator writes active alerts and the
// notification log here, so the replica that takes over when it dies continues its firing alerts (same fired_at)
// and knows what each receiver was already told. Tables of its own, through the store's `alerts` migrations.

import type { PostgresBackend } from '../../store/backend.js';
import type { PgMigration } from '../../store/postgres/migrations.js';
import type {
  ActiveAlert,
  AlertEvent,
  AlertStateStore,
  NotificationRecord,
  NotifyLogEntry,
  SilenceRecord,
  TimeRange,
} from './types.js';

export const ALERTS_NAMESPACE = 'alerts';

export const ALERT_STATE_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'active alerts, history, notification log and silences',
    up: `
CREATE TABLE alert_active (
  rule_id text NOT NULL, fingerprint text NOT NULL, body text NOT NULL, PRIMARY KEY (rule_id, fingerprint));
CREATE TABLE alert_events (
  id bigserial PRIMARY KEY, time bigint NOT NULL, kind text NOT NULL, rule_id text NOT NULL, body text NOT NULL);
CREATE INDEX alert_events_time ON alert_events (time);
CREATE TABLE alert_nflog (key text PRIMARY KEY, sent_at bigint NOT NULL, body text NOT NULL);
CREATE TABLE alert_notifications (
  id bigserial PRIMARY KEY, time bigint NOT NULL, receiver text NOT NULL, result text NOT NULL, body text NOT NULL);
CREATE INDEX alert_notifications_time ON alert_notifications (time);
CREATE TABLE alert_silences (id text PRIMARY KEY, ends_at bigint NOT NULL, body text NOT NULL);
`,
  },
];

export class PostgresAlertStateStore implements AlertStateStore {
  readonly kind = 'postgres' as const;

  constructor(private readonly backend: PostgresBackend) {}

  /** Creates the tables (safe on every start, and from every replica at once). */
  async migrate(): Promise<void> {
    await this.backend.migrations.register(ALERTS_NAMESPACE, ALERT_STATE_MIGRATIONS);
  }

  private async bodies<T>(text: string, values: unknown[] = []): Promise<T[]> {
    const r = await this.backend.pool.query<{ body: string }>(text, values);
    return r.rows.map((x) => JSON.parse(x.body) as T);
  }

  loadActive(): Promise<ActiveAlert[]> {
    return this.bodies<ActiveAlert>('SELECT body FROM alert_active');
  }

  async saveActive(alerts: readonly ActiveAlert[]): Promise<void> {
    const c = await this.backend.pool.connect();
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      await c.query('DELETE FROM alert_active');
      if (alerts.length > 0)
        await c.query(
          'INSERT INTO alert_active (rule_id, fingerprint, body) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT (rule_id, fingerprint) DO UPDATE SET body = EXCLUDED.body',
          [alerts.map((a) => a.ruleId), alerts.map((a) => a.fingerprint), alerts.map((a) => JSON.stringify(a))],
        );
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw err;
    } finally {
      c.release(broken);
    }
  }

  async appendEvents(events: readonly AlertEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.backend.pool.query(
      'INSERT INTO alert_events (time, kind, rule_id, body) SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[])',
      [
        events.map((e) => e.time),
        events.map((e) => e.kind),
        events.map((e) => e.ruleId),
        events.map((e) => JSON.stringify(e)),
      ],
    );
  }

  listEvents(q: TimeRange): Promise<AlertEvent[]> {
    return this.bodies<AlertEvent>(
      'SELECT body FROM alert_events WHERE time >= $1 AND time < $2 ORDER BY time DESC, id DESC LIMIT $3',
      [q.from, q.to, q.limit ?? 100_000],
    );
  }

  loadNotifyLog(): Promise<NotifyLogEntry[]> {
    return this.bodies<NotifyLogEntry>('SELECT body FROM alert_nflog');
  }

  async putNotifyLog(entry: NotifyLogEntry): Promise<void> {
    await this.backend.pool.query(
      `INSERT INTO alert_nflog (key, sent_at, body) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET sent_at = EXCLUDED.sent_at, body = EXCLUDED.body`,
      [entry.key, entry.sentAt, JSON.stringify(entry)],
    );
  }

  async appendNotification(n: NotificationRecord): Promise<void> {
    await this.backend.pool.query(
      'INSERT INTO alert_notifications (time, receiver, result, body) VALUES ($1, $2, $3, $4)',
      [n.time, n.receiver, n.result, JSON.stringify(n)],
    );
  }

  listNotifications(q: TimeRange): Promise<NotificationRecord[]> {
    return this.bodies<NotificationRecord>(
      'SELECT body FROM alert_notifications WHERE time >= $1 AND time < $2 ORDER BY time DESC, id DESC LIMIT $3',
      [q.from, q.to, q.limit ?? 100_000],
    );
  }

  listSilences(): Promise<SilenceRecord[]> {
    return this.bodies<SilenceRecord>('SELECT body FROM alert_silences');
  }

  async putSilence(s: SilenceRecord): Promise<void> {
    await this.backend.pool.query(
      `INSERT INTO alert_silences (id, ends_at, body) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET ends_at = EXCLUDED.ends_at, body = EXCLUDED.body`,
      [s.id, s.endsAt, JSON.stringify(s)],
    );
  }

  async prune(before: number): Promise<void> {
    await this.backend.pool.query(
      `WITH e AS (DELETE FROM alert_events WHERE time < $1), n AS (DELETE FROM alert_notifications WHERE time < $1),
       l AS (DELETE FROM alert_nflog WHERE sent_at < $1)
       DELETE FROM alert_silences WHERE ends_at < $1`,
      [before],
    );
  }
}
