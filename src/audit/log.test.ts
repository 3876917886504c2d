// The audit log's listing shows every action recorded before it, even one whose entry is still being written: on
// SQLite an entry is appended on the writer thread, and a route answers (a sign-out's redirect) without waiting for it.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AuditLog } from './log.js';
import { MemoryAuditStore } from './storage/memory.js';
import type { NewAuditEntry } from './storage/types.js';

/** A store whose appends take `ms` to land, as one on a busy writer thread does. */
class SlowStore extends MemoryAuditStore {
  constructor(private readonly ms: number) {
    super();
  }
  override async append(e: NewAuditEntry): Promise<number> {
    await new Promise((r) => setTimeout(r, this.ms));
    return super.append(e);
  }
}

describe('AuditLog.list', () => {
  it('waits for the entries still being written, so an action just made is listed', async () => {
    const log = new AuditLog(new SlowStore(30), { logger: pino({ level: 'silent' }), now: () => 1, trustProxy: false });
    // recorded and not awaited, as the sign-in routes do
    void log.record('cli', { action: 'login' });
    void log.record('cli', { action: 'logout' });
    const page = await log.list({});
    expect(page.entries.map((e) => e.action)).toEqual(['logout', 'login']);
    // and nothing pending: the next list does not wait
    expect((await log.list({})).entries).toHaveLength(2);
  });
});
