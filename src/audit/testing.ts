// Test helper: an audit log in memory, for contexts assembled by hand in unit tests.
import pino from 'pino';
import { AuditLog } from './log.js';
import { MemoryAuditStore } from './storage/memory.js';

export function memoryAudit(now: () => number = Date.now): AuditLog {
  return new AuditLog(new MemoryAuditStore(), { logger: pino({ level: 'silent' }), now, trustProxy: false });
}
