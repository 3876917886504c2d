// In-memory AlertStateStore: for tests, backtests, and stores without SQLite (state is then lost on restart).
import type {
  ActiveAlert,
  AlertEvent,
  AlertStateStore,
  NotificationRecord,
  NotifyLogEntry,
  SilenceRecord,
  TimeRange,
} from './types.js';

/** History kept in memory at most (oldest dropped first). */
const MAX_HISTORY = 50_000;

export class MemoryAlertStateStore implements AlertStateStore {
  readonly kind = 'memory' as const;
  private active: ActiveAlert[] = [];
  private events: AlertEvent[] = [];
  private readonly nflog = new Map<string, NotifyLogEntry>();
  private notifications: NotificationRecord[] = [];
  private readonly silences = new Map<string, SilenceRecord>();

  async loadActive(): Promise<ActiveAlert[]> {
    return structuredClone(this.active);
  }

  async saveActive(alerts: readonly ActiveAlert[]): Promise<void> {
    this.active = structuredClone([...alerts]);
  }

  async appendEvents(events: readonly AlertEvent[]): Promise<void> {
    this.events.push(...structuredClone([...events]));
    if (this.events.length > MAX_HISTORY) this.events = this.events.slice(-MAX_HISTORY);
  }

  async listEvents(q: TimeRange): Promise<AlertEvent[]> {
    return inRange(this.events, q);
  }

  async loadNotifyLog(): Promise<NotifyLogEntry[]> {
    return structuredClone([...this.nflog.values()]);
  }

  async putNotifyLog(entry: NotifyLogEntry): Promise<void> {
    this.nflog.set(entry.key, structuredClone(entry));
  }

  async appendNotification(n: NotificationRecord): Promise<void> {
    this.notifications.push(structuredClone(n));
    if (this.notifications.length > MAX_HISTORY) this.notifications = this.notifications.slice(-MAX_HISTORY);
  }

  async listNotifications(q: TimeRange): Promise<NotificationRecord[]> {
    return inRange(this.notifications, q);
  }

  async listSilences(): Promise<SilenceRecord[]> {
    return structuredClone([...this.silences.values()]);
  }

  async putSilence(s: SilenceRecord): Promise<void> {
    this.silences.set(s.id, structuredClone(s));
  }

  async prune(before: number): Promise<void> {
    this.events = this.events.filter((e) => e.time >= before);
    this.notifications = this.notifications.filter((n) => n.time >= before);
    for (const [k, e] of this.nflog) if (e.sentAt < before) this.nflog.delete(k);
    for (const [k, s] of this.silences) if (s.endsAt < before) this.silences.delete(k);
  }
}

function inRange<T extends { time: number }>(list: readonly T[], q: TimeRange): T[] {
  const out: T[] = [];
  for (let i = list.length - 1; i >= 0; i--) {
    const x = list[i] as T;
    if (x.time >= q.from && x.time < q.to) out.push(structuredClone(x));
    if (q.limit !== undefined && out.length >= q.limit) break;
  }
  return out;
}
