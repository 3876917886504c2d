// The AuditStore contract: what every backend (memory, SQLite, PostgreSQL) must do, run by storage.test.ts over
// each. `make` returns a migrated store.
import { describe, expect, it } from 'vitest';
import type { AuditStore, NewAuditEntry } from './types.js';

const T = Date.UTC(2026, 0, 15, 10, 0, 0);

const entry = (i: number, over: Partial<NewAuditEntry> = {}): NewAuditEntry => ({
  at: T + i * 1000,
  actor: i % 2 ? 'ann' : 'bob',
  role: i % 2 ? 'admin' : 'operator',
  action: (['login', 'silence.create', 'review.label'] as const)[i % 3] as string,
  target: `thing:${i}`,
  ip: '10.0.0.1',
  userAgent: 'curl/8',
  result: i % 5 === 4 ? 'denied' : 'ok',
  detail: i % 2 ? { n: i, why: 'because' } : null,
  ...over,
});

export function auditContract(name: string, make: () => Promise<AuditStore>): void {
  describe(`AuditStore contract: ${name}`, () => {
    it('appends entries with increasing ids and reads them back field for field, newest first', async () => {
      const s = await make();
      const a = await s.append(entry(1));
      const b = await s.append(entry(2));
      expect(b).toBeGreaterThan(a);
      const page = await s.list({});
      expect(page.nextCursor).toBeNull();
      expect(page.entries).toEqual([
        { id: b, ...entry(2) },
        { id: a, ...entry(1) },
      ]);
    });

    it('filters by time, actor, action and result, and pages with a cursor', async () => {
      const s = await make();
      for (let i = 0; i < 30; i++) await s.append(entry(i));
      const byActor = await s.list({ actor: 'ann', limit: 500 });
      expect(byActor.entries).toHaveLength(15);
      expect(byActor.entries.every((e) => e.actor === 'ann')).toBe(true);
      expect((await s.list({ action: 'login', limit: 500 })).entries.map((e) => e.target)).toEqual(
        Array.from({ length: 10 }, (_, k) => `thing:${27 - 3 * k}`),
      );
      expect((await s.list({ result: 'denied', limit: 500 })).entries).toHaveLength(6);
      const window = await s.list({ from: T + 10_000, to: T + 20_000, limit: 500 });
      expect(window.entries.map((e) => e.at)).toEqual(Array.from({ length: 10 }, (_, k) => T + (19 - k) * 1000));
      expect((await s.list({ actor: 'ann', action: 'login', from: T + 3000, limit: 500 })).entries.length).toBe(5);

      const seen: string[] = [];
      let before: number | undefined;
      for (let n = 0; n < 10; n++) {
        const p = await s.list({ limit: 7, before });
        seen.push(...p.entries.map((e) => e.target as string));
        if (p.nextCursor === null) break;
        before = p.nextCursor;
      }
      expect(seen).toEqual(Array.from({ length: 30 }, (_, k) => `thing:${29 - k}`));
    });

    it('keeps a page within [1, 500]', async () => {
      const s = await make();
      for (let i = 0; i < 3; i++) await s.append(entry(i));
      expect((await s.list({ limit: 0 })).entries).toHaveLength(1);
      expect((await s.list({ limit: 10_000 })).entries).toHaveLength(3);
    });
  });
}
