// In-memory AuditStore: the reference the SQLite and PostgreSQL stores are checked against (tests only).
import type { AuditEntry, AuditPage, AuditQuery, AuditStore, NewAuditEntry } from './types.js';
import { pageOf, pageSizeOf } from './types.js';

export class MemoryAuditStore implements AuditStore {
  readonly kind = 'memory' as const;
  private readonly entries: AuditEntry[] = [];

  async migrate(): Promise<void> {}

  async append(entry: NewAuditEntry): Promise<number> {
    const id = this.entries.length + 1;
    this.entries.push(structuredClone({ ...entry, id }));
    return id;
  }

  async list(q: AuditQuery): Promise<AuditPage> {
    const limit = pageSizeOf(q);
    const out: AuditEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length <= limit; i--) {
      const e = this.entries[i] as AuditEntry;
      if (q.before !== undefined && e.id >= q.before) continue;
      if (q.from !== undefined && e.at < q.from) continue;
      if (q.to !== undefined && e.at >= q.to) continue;
      if (q.actor !== undefined && e.actor !== q.actor) continue;
      if (q.action !== undefined && e.action !== q.action) continue;
      if (q.result !== undefined && e.result !== q.result) continue;
      out.push(structuredClone(e));
    }
    return pageOf(out, limit);
  }
}
