// The Notifier interface: delivers one grouped notification and reports the result as a value; it never throws
// into the dispatcher (failures are counted in llmscope_alert_notifications_total{result="failure"} and retried).
import type { NotifyAlert } from '../engine.js';

export interface Notification {
  receiver: string;
  /** firing while any alert in it fires. */
  status: 'firing' | 'resolved';
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalUrl: string;
  alerts: NotifyAlert[];
}

export interface NotifyResult {
  ok: boolean;
  error?: string;
}

export interface Notifier {
  /** webhook, pagerduty, slack, email or log. */
  readonly kind: string;
  send(n: Notification): Promise<NotifyResult>;
  close?(): Promise<void>;
}

/** Runs a notifier so that nothing it does can throw: errors and timeouts become a failed result. */
export async function safeSend(notifier: Notifier, n: Notification, timeoutMs = 30_000): Promise<NotifyResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      notifier.send(n),
      new Promise<NotifyResult>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, error: `timed out after ${timeoutMs} ms` }), timeoutMs);
        timer.unref?.();
      }),
    ]);
  } catch (err) {
    return { ok: false, error: (err as Error)?.message ?? String(err) };
  } finally {
    clearTimeout(timer);
  }
}
