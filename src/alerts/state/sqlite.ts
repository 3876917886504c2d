// SQLite AlertStateStore on the store's own database (better-sqlite3 handle), in tables of its own.
import type { Database, Statement } from 'better-sqlite3';
import type { SqliteMigration } from '../../store/index.js';
import type {
  ActiveAlert,
  AlertEvent,
  AlertStateStore,
  NotificationRecord,
  NotifyLogEntry,
  SilenceRecord,
  TimeRange,
} from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alert_active (
  fingerprint TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (rule_id, fingerprint)
);
CREATE TABLE IF NOT EXISTS alert_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  kind TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_events_time ON alert_events (time);
CREATE TABLE IF NOT EXISTS alert_nflog (
  key TEXT PRIMARY KEY,
  sent_at INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_notifications (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  receiver TEXT NOT NULL,
  result TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_notifications_time ON alert_notifications (time);
CREATE TABLE IF NOT EXISTS alert_silences (
  id TEXT PRIMARY KEY,
  ends_at INTEGER NOT NULL,
  body TEXT NOT NULL
);
`;

/** The `alerts` namespace's SQLite migrations; never edit a shipped one, add a new version. */
export const SQLITE_ALERT_STATE_MIGRATIONS: readonly SqliteMigration[] = [
  { version: 1, name: 'active alerts, history, notification log, silences', up: SCHEMA },
];

export class SqliteAlertStateStore implements AlertStateStore {
  readonly kind = 'sqlite' as const;
  private readonly s: {
    loadActive: Statement<[]>;
    clearActive: Statement<[]>;
    putActive: Statement<[string, string, string]>;
    putEvent: Statement<[number, string, string, string]>;
    listEvents: Statement<[number, number, number]>;
    loadNflog: Statement<[]>;
    putNflog: Statement<[string, number, string]>;
    putNotification: Statement<[number, string, string, string]>;
    listNotifications: Statement<[number, number, number]>;
    listSilences: Statement<[]>;
    putSilence: Statement<[string, number, string]>;
  };

  /**
   * On the app's store, `register` (its backend's migrations, bound to the `alerts` namespace) versions the schema
   * in schema_migrations as on PostgreSQL; the tables are created here either way (IF NOT EXISTS).
   */
  constructor(
    private readonly db: Database,
    register?: (migrations: readonly SqliteMigration[]) => void,
  ) {
    register?.(SQLITE_ALERT_STATE_MIGRATIONS);
    db.exec(SCHEMA);
    this.s = {
      loadActive: db.prepare('SELECT body FROM alert_active'),
      clearActive: db.prepare('DELETE FROM alert_active'),
      putActive: db.prepare('INSERT OR REPLACE INTO alert_active (rule_id, fingerprint, body) VALUES (?, ?, ?)'),
      putEvent: db.prepare('INSERT INTO alert_events (time, kind, rule_id, body) VALUES (?, ?, ?, ?)'),
      listEvents: db.prepare(
        'SELECT body FROM alert_events WHERE time >= ? AND time < ? ORDER BY time DESC, id DESC LIMIT ?',
      ),
      loadNflog: db.prepare('SELECT body FROM alert_nflog'),
      putNflog: db.prepare('INSERT OR REPLACE INTO alert_nflog (key, sent_at, body) VALUES (?, ?, ?)'),
      putNotification: db.prepare('INSERT INTO alert_notifications (time, receiver, result, body) VALUES (?, ?, ?, ?)'),
      listNotifications: db.prepare(
        'SELECT body FROM alert_notifications WHERE time >= ? AND time < ? ORDER BY time DESC, id DESC LIMIT ?',
      ),
      listSilences: db.prepare('SELECT body FROM alert_silences'),
      putSilence: db.prepare('INSERT OR REPLACE INTO alert_silences (id, ends_at, body) VALUES (?, ?, ?)'),
    };
  }

  async loadActive(): Promise<ActiveAlert[]> {
    return bodies<ActiveAlert>(this.s.loadActive.all());
  }

  async saveActive(alerts: readonly ActiveAlert[]): Promise<void> {
    this.db.transaction(() => {
      this.s.clearActive.run();
      for (const a of alerts) this.s.putActive.run(a.ruleId, a.fingerprint, JSON.stringify(a));
    })();
  }

  async appendEvents(events: readonly AlertEvent[]): Promise<void> {
    if (events.length === 0) return;
    this.db.transaction(() => {
      for (const e of events) this.s.putEvent.run(e.time, e.kind, e.ruleId, JSON.stringify(e));
    })();
  }

  async listEvents(q: TimeRange): Promise<AlertEvent[]> {
    return bodies<AlertEvent>(this.s.listEvents.all(q.from, q.to, q.limit ?? 100_000));
  }

  async loadNotifyLog(): Promise<NotifyLogEntry[]> {
    return bodies<NotifyLogEntry>(this.s.loadNflog.all());
  }

  async putNotifyLog(entry: NotifyLogEntry): Promise<void> {
    this.s.putNflog.run(entry.key, entry.sentAt, JSON.stringify(entry));
  }

  async appendNotification(n: NotificationRecord): Promise<void> {
    this.s.putNotification.run(n.time, n.receiver, n.result, JSON.stringify(n));
  }

  async listNotifications(q: TimeRange): Promise<NotificationRecord[]> {
    return bodies<NotificationRecord>(this.s.listNotifications.all(q.from, q.to, q.limit ?? 100_000));
  }

  async listSilences(): Promise<SilenceRecord[]> {
    return bodies<SilenceRecord>(this.s.listSilences.all());
  }

  async putSilence(s: SilenceRecord): Promise<void> {
    this.s.putSilence.run(s.id, s.endsAt, JSON.stringify(s));
  }

  async prune(before: number): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM alert_events WHERE time < ?').run(before);
      this.db.prepare('DELETE FROM alert_notifications WHERE time < ?').run(before);
      this.db.prepare('DELETE FROM alert_nflog WHERE sent_at < ?').run(before);
      this.db.prepare('DELETE FROM alert_silences WHERE ends_at < ?').run(before);
    })();
  }
}

function bodies<T>(rows: unknown[]): T[] {
  return rows.map((r) => JSON.parse((r as { body: string }).body) as T);
}
