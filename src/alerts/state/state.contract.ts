// The AlertStateStore contract: what every backend (memory, SQLite, PostgreSQL) must keep across a restart, run by
// state.test.ts over each. `make` returns a store ready to use (migrated).
import { describe, expect, it } from 'vitest';
import type { ActiveAlert, AlertEvent, AlertStateStore, NotificationRecord, SilenceRecord } from './types.js';

const T = Date.UTC(2025, 6, 15, 10, 0, 0);

const alert = (i: number, over: Partial<ActiveAlert> = {}): ActiveAlert => ({
  ruleId: `rule-${i}`,
  fingerprint: `fp-${i}`,
  labels: { alertname: `Alert${i}`, model: 'gpt-4o', severity: 'warning' },
  annotations: { summary: `value ${i}` },
  state: i % 2 ? 'firing' : 'pending',
  value: i + 0.5,
  activeAt: T + i,
  firedAt: i % 2 ? T + i + 60_000 : null,
  lastSeenAt: T + i + 120_000,
  keepFiringSince: null,
  ...over,
});

const event = (i: number): AlertEvent => ({
  time: T + i * 1000,
  kind: (['pending', 'firing', 'resolved', 'pending_aborted'] as const)[i % 4] as AlertEvent['kind'],
  ruleId: `rule-${i % 3}`,
  alertname: `Alert${i % 3}`,
  fingerprint: `fp-${i % 3}`,
  labels: { alertname: `Alert${i % 3}` },
  value: i,
  activeAt: T,
  firedAt: i % 4 === 1 ? T + i * 1000 : null,
});

const notification = (i: number, over: Partial<NotificationRecord> = {}): NotificationRecord => ({
  time: T + i * 1000,
  receiver: i % 2 ? 'page' : 'notify',
  groupKey: `{}:{alertname="Alert${i}"}`,
  status: i % 3 ? 'firing' : 'resolved',
  alertnames: [`Alert${i}`],
  firing: 1,
  resolved: 0,
  result: 'success',
  ...over,
});

const silence = (id: string, endsAt: number): SilenceRecord => ({
  id,
  matchers: ['alertname="Alert1"', 'model=~"gpt-.*"'],
  startsAt: T,
  endsAt,
  createdBy: 'ann',
  comment: 'deploy',
  createdAt: T,
  updatedAt: T,
});

export function alertStateContract(name: string, make: () => Promise<AlertStateStore>): void {
  describe(`AlertStateStore contract: ${name}`, () => {
    it('replaces the active set and reads it back field for field', async () => {
      const s = await make();
      expect(await s.loadActive()).toEqual([]);
      await s.saveActive([alert(1), alert(2, { keepFiringSince: T + 5 })]);
      await s.saveActive([alert(2, { keepFiringSince: T + 5 }), alert(3)]);
      const back = (await s.loadActive()).sort((a, b) => a.ruleId.localeCompare(b.ruleId));
      expect(back).toEqual([alert(2, { keepFiringSince: T + 5 }), alert(3)]);
      await s.saveActive([]);
      expect(await s.loadActive()).toEqual([]);
    });

    it('lists events and notifications newest first, within [from, to), up to a limit', async () => {
      const s = await make();
      await s.appendEvents([event(0), event(1), event(2)]);
      await s.appendEvents([event(3)]);
      expect(await s.listEvents({ from: T, to: T + 10_000 })).toEqual([event(3), event(2), event(1), event(0)]);
      expect(await s.listEvents({ from: T + 1000, to: T + 3000 })).toEqual([event(2), event(1)]);
      expect(await s.listEvents({ from: T, to: T + 10_000, limit: 2 })).toEqual([event(3), event(2)]);
      const failed = notification(2, { result: 'failure', error: 'HTTP 500' });
      for (const n of [notification(0), notification(1), failed]) await s.appendNotification(n);
      expect(await s.listNotifications({ from: T, to: T + 10_000 })).toEqual([
        failed,
        notification(1),
        notification(0),
      ]);
      expect(await s.listNotifications({ from: T + 1000, to: T + 10_000, limit: 1 })).toEqual([failed]);
    });

    it('keeps one notification log entry per key, the last put', async () => {
      const s = await make();
      await s.putNotifyLog({ key: 'g1:page', firing: ['a'], resolved: [], sentAt: T });
      await s.putNotifyLog({ key: 'g2:page', firing: ['b'], resolved: [], sentAt: T });
      await s.putNotifyLog({ key: 'g1:page', firing: [], resolved: ['a'], sentAt: T + 1 });
      const log = (await s.loadNotifyLog()).sort((a, b) => a.key.localeCompare(b.key));
      expect(log).toEqual([
        { key: 'g1:page', firing: [], resolved: ['a'], sentAt: T + 1 },
        { key: 'g2:page', firing: ['b'], resolved: [], sentAt: T },
      ]);
    });

    it('keeps silences by id (a put replaces), and prune drops only what ended or happened before', async () => {
      const s = await make();
      await s.putSilence(silence('s1', T + 1000));
      await s.putSilence(silence('s2', T + 100_000));
      await s.putSilence({ ...silence('s1', T + 2000), comment: 'extended' });
      const sil = (await s.listSilences()).sort((a, b) => a.id.localeCompare(b.id));
      expect(sil).toEqual([{ ...silence('s1', T + 2000), comment: 'extended' }, silence('s2', T + 100_000)]);

      await s.appendEvents([event(0), event(5)]);
      await s.appendNotification(notification(0));
      await s.appendNotification(notification(5));
      await s.putNotifyLog({ key: 'old', firing: [], resolved: [], sentAt: T });
      await s.putNotifyLog({ key: 'new', firing: [], resolved: [], sentAt: T + 5000 });
      await s.prune(T + 3000);
      expect(await s.listEvents({ from: 0, to: T + 10_000 })).toEqual([event(5)]);
      expect(await s.listNotifications({ from: 0, to: T + 10_000 })).toEqual([notification(5)]);
      expect((await s.loadNotifyLog()).map((e) => e.key)).toEqual(['new']);
      expect((await s.listSilences()).map((x) => x.id)).toEqual(['s2']);
    });
  });
}
