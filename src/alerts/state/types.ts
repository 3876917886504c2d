// What the alert engine and dispatcher persist so a restart neither re-pages nor forgets: active alerts (with their
// pending/firing clocks), the notification log (what each receiver was last told about each group), silences,
// and history (state changes and notifications) for GET /api/alerts, the noise report and backtests.

export type AlertState = 'pending' | 'firing';

export interface ActiveAlert {
  ruleId: string;
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertState;
  value: number;
  /** When the condition started holding (pending since). */
  activeAt: number;
  firedAt: number | null;
  /** Last evaluation at which the condition held. */
  lastSeenAt: number;
  /** keep_firing_for: when the condition stopped holding while firing. */
  keepFiringSince: number | null;
}

export type AlertEventKind = 'pending' | 'firing' | 'resolved' | 'pending_aborted';

export interface AlertEvent {
  time: number;
  kind: AlertEventKind;
  ruleId: string;
  alertname: string;
  fingerprint: string;
  labels: Record<string, string>;
  value: number;
  activeAt: number;
  firedAt: number | null;
}

export interface NotifyLogEntry {
  /** Group key + receiver. */
  key: string;
  firing: string[];
  resolved: string[];
  sentAt: number;
}

export interface NotificationRecord {
  time: number;
  receiver: string;
  groupKey: string;
  status: 'firing' | 'resolved';
  alertnames: string[];
  firing: number;
  resolved: number;
  result: 'success' | 'failure';
  error?: string;
}

export interface SilenceRecord {
  id: string;
  /** Matchers in Alertmanager's text form. */
  matchers: string[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
  createdAt: number;
  updatedAt: number;
}

export interface TimeRange {
  from: number;
  to: number;
  limit?: number;
}

export interface AlertStateStore {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  loadActive(): Promise<ActiveAlert[]>;
  /** Replaces the set of active alerts. */
  saveActive(alerts: readonly ActiveAlert[]): Promise<void>;
  appendEvents(events: readonly AlertEvent[]): Promise<void>;
  /** Newest first. */
  listEvents(q: TimeRange): Promise<AlertEvent[]>;
  loadNotifyLog(): Promise<NotifyLogEntry[]>;
  putNotifyLog(entry: NotifyLogEntry): Promise<void>;
  appendNotification(n: NotificationRecord): Promise<void>;
  /** Newest first. */
  listNotifications(q: TimeRange): Promise<NotificationRecord[]>;
  listSilences(): Promise<SilenceRecord[]>;
  putSilence(s: SilenceRecord): Promise<void>;
  /** Drops history, notification log entries and expired silences older than `before`. */
  prune(before: number): Promise<void>;
}
