// A span re-sent across the upgrade that made OTLP call ids time-led (src/store/otlp-ids.ts): the release before
// stored it as otlp-<trace_id>-<span_id>; this one names it otlp-<start>-<trace_id>-<span_id>, and still counts it once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { SqliteStore } from '../store/index.js';
import { earlierRows, earlierSchema } from '../store/sqlite/testing.js';
import { requestIdOf, spanToCall } from './map.js';
import type { OtlpSpan } from './model.js';
import { OtlpReceiver } from './receiver.js';

const dir = mkdtempSync(join(tmpdir(), 'llmscope-otlp-ids-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const span = (spanId: string, startMs: number): OtlpSpan => ({
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId,
  parentSpanId: null,
  name: 'chat gpt-4o-mini',
  kind: 3,
  startNs: BigInt(startMs) * 1_000_000n + 250_000n,
  endNs: BigInt(startMs + 1200) * 1_000_000n,
  attributes: {
    'gen_ai.operation.name': 'chat',
    'gen_ai.system': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.usage.input_tokens': 12,
    'gen_ai.usage.output_tokens': 3,
  },
  events: [],
  status: { code: 0, message: '' },
  resource: {},
  scope: { name: '', version: '' },
});

describe('OTLP call ids across the upgrade', () => {
  it('a batch re-sent after the upgrade counts once; its new spans get time-led ids', async () => {
    const path = join(dir, 'llmscope.db');
    const now = Date.now();
    const before = span('b7ad6b7169203331', now - 60_000);
    // the previous release (core schema 7) took `before` under the old id form
    const old = new SqliteStore(path, { writerThread: false });
    earlierSchema(old.db, 7);
    await old.insertCalls([{ ...spanToCall(before, null), requestId: `otlp-${before.traceId}-${before.spanId}` }]);
    earlierRows(old.db);
    await old.close();

    const store = new SqliteStore(path, { writerThread: false });
    await store.migrate();
    const recorded: LlmCall[] = [];
    const r = new OtlpReceiver({
      recorder: { record: (c) => void recorded.push(c) },
      store,
      registry: new Registry(),
      bodyLimit: 1 << 20,
    });
    const fresh = span('b7ad6b7169203332', now);
    const out = await r.accept([before, fresh]);
    expect(out.counts).toMatchObject({ call: 1, duplicate: 1 });
    expect(recorded.map((c) => c.requestId)).toEqual([requestIdOf(fresh)]);
    expect(requestIdOf(fresh)).toMatch(/^otlp-[0-9a-f]{12}-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203332$/);
    await store.insertCalls(recorded);
    // sent again once both are stored: both duplicates
    const again = new OtlpReceiver({
      recorder: { record: (c) => void recorded.push(c) },
      store,
      registry: new Registry(),
      bodyLimit: 1 << 20,
    });
    expect((await again.accept([before, fresh])).counts).toMatchObject({ call: 0, duplicate: 2 });
    await store.close();
  });
});
