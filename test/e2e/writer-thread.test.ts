// storage.writerThread: on a SQLite file, calls (and spend and quality records) are written by the store's writer
// thread by default, and on the event loop with `writerThread: false`; either way every call is stored once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/store/index.js';
import { startStack } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'llmscope-writer-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('storage.writerThread', () => {
  for (const writerThread of [undefined, false] as const) {
    it(`${writerThread === undefined ? 'default (on)' : 'false'}: stores every call once, written ${writerThread === false ? 'on the event loop' : 'by the thread'}`, async () => {
      const s = await startStack({
        sim: { ttftMs: 0, tpotMs: 0, outputTokens: 4 },
        config: {
          storage: {
            url: `sqlite:${join(dir, `${String(writerThread)}.db`)}`,
            ...(writerThread === false ? { writerThread } : {}),
          },
        } as never,
      });
      try {
        const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
        await Promise.all(
          Array.from({ length: 20 }, () =>
            client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
          ),
        );
        await s.waitForCalls(20);
        await s.app.ctx.recorder.flush();
        const store = s.app.ctx.store as SqliteStore;
        expect((await store.listCalls({ limit: 100 })).items).toHaveLength(20);
        const thread = await store.callWriterThread();
        if (writerThread === false) expect(thread).toBeNull();
        else expect(thread).not.toBeNull();
      } finally {
        await s.close();
      }
    });
  }
});
