// What a call keeps of its log lines: the lines the logger wrote (after its level filter and redaction) that carry
// its request_id, at most maxLines per call (the rest counted), each at most maxLineBytes, batched to the store;
// a store that fails loses them counted, never throwing into the logging call.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CallLogRow } from '../store/store.js';
import { CallLogs, truncatedLine } from './call-logs.js';
import { requestContext } from './context.js';
import { createLogger } from './logging.js';

function collect(opts: Partial<ConstructorParameters<typeof CallLogs>[0]> = {}) {
  const batches: CallLogRow[][] = [];
  const drops: number[] = [];
  const logs = new CallLogs({ maxLines: 50, lingerMs: 1, onDrop: (n) => drops.push(n), ...opts });
  logs.attach((rows) => {
    batches.push(rows);
  });
  const rows = () => batches.flat();
  return { logs, batches, drops, rows };
}

function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

describe('CallLogs', () => {
  it("keeps the logger's lines that carry a request_id, as written, and no other", async () => {
    const { logs, rows } = collect();
    const out = sink();
    const logger = createLogger({ destination: out, tee: (s) => logs.note(s), level: 'info' });
    logger.info({ event: 'boot' }, 'no call');
    requestContext.run({ request_id: 'r1', trace_id: 't1', span_id: 's1', provider: 'p', model: 'm' }, () => {
      logger.warn({ event: 'upstream_cut', authorization: 'Bearer sk-secret' }, 'cut');
      logger.debug({ event: 'below_level' }, 'not written, not kept');
    });
    logger.info({ event: 'budget_blocked', request_id: 'r2' }, 'named by hand');
    await logs.flush();
    const written = out.text.trim().split('\n');
    expect(written).toHaveLength(3);
    expect(rows().map((r) => [r.requestId, r.line])).toEqual([
      ['r1', written[1]],
      ['r2', written[2]],
    ]);
    // the same redaction as stdout
    expect(rows()[0]?.line).toContain('"authorization":"[redacted]"');
    expect(rows()[0]?.line).not.toContain('sk-secret');
  });

  it('splits a batch of lines and reads escaped ids; request_completed lines (the record itself) are not kept', async () => {
    const { logs, rows } = collect();
    const lines = [
      '{"level":"warn","event":"upstream_cut","request_id":"a","msg":"cut"}',
      '{"level":"info","event":"other","msg":"no id here"}',
      '{"level":"info","event":"request_completed","request_id":"a","msg":"request completed"}',
      '{"level":"warn","event":"budget_blocked","request_id":"b\\"q","msg":"blocked"}',
      '{"log.level":"info","@timestamp":"x","ecs.version":"8.11.0","event.action":"request_completed","event.kind":"event","event.dataset":"llmscope.requests","request_id":"c","message":"request completed"}',
      '{"level":"warn","event":"judge_failed","request_id":"c","msg":"request_completed\\",\\" in the message"}',
    ];
    logs.note(`${lines.join('\n')}\n`);
    await logs.flush();
    expect(rows().map((r) => [r.requestId, r.line])).toEqual([
      ['a', lines[0]],
      ['b"q', lines[3]],
      ['c', lines[5]],
    ]);
    expect(new Set(rows().map((r) => r.seq)).size).toBe(3);
  });

  it('keeps at most maxLines per call and counts the rest in one row per batch', async () => {
    const { logs, rows } = collect();
    for (let i = 0; i < 120; i++) logs.note(`{"request_id":"busy","n":${i}}\n`);
    logs.note('{"request_id":"quiet","n":0}\n');
    await logs.flush();
    const busy = rows().filter((r) => r.requestId === 'busy');
    expect(busy.filter((r) => r.line !== null).map((r) => JSON.parse(r.line as string).n)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(busy.filter((r) => r.line === null).map((r) => r.dropped)).toEqual([70]);
    expect(rows().filter((r) => r.requestId === 'quiet')).toHaveLength(1);
  });

  it('cuts a line over maxLineBytes to its leading fields, marked, under the limit', async () => {
    const { logs, rows } = collect({ maxLineBytes: 4096 });
    const big = JSON.stringify({
      level: 'warn',
      time: '2026-12-06T12:00:00.000Z',
      event: 'evaluator_failed',
      request_id: 'long',
      err: 'x'.repeat(10_000),
      more: { nested: 'y'.repeat(5000) },
      msg: 'evaluator failed',
    });
    logs.note(`${big}\n`);
    await logs.flush();
    const line = rows()[0]?.line as string;
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(4096);
    const o = JSON.parse(line);
    expect(o).toMatchObject({
      level: 'warn',
      event: 'evaluator_failed',
      request_id: 'long',
      msg: 'evaluator failed',
      truncated: true,
      line_bytes: Buffer.byteLength(big),
    });
    expect(o.err).toBe(`${'x'.repeat(256)}…`);
    expect(truncatedLine('not json', 100)).toBe('{"truncated":true,"line_bytes":8}');
  });

  it('counts what a failing store loses and what does not fit while it waits; never throws', async () => {
    const drops: number[] = [];
    const logs = new CallLogs({ maxLines: 50, capacity: 3, lingerMs: 1, onDrop: (n) => drops.push(n) });
    for (let i = 0; i < 5; i++) logs.note(`{"request_id":"r${i}"}\n`); // not attached yet: 3 wait, 2 dropped
    expect(drops).toEqual([1, 1]);
    logs.attach(() => {
      throw new Error('database is locked');
    });
    await logs.flush();
    expect(drops).toEqual([1, 1, 3]);
  });

  it('does nothing with maxLines 0', async () => {
    const { logs, rows } = collect({ maxLines: 0 });
    logs.note('{"request_id":"r"}\n');
    await logs.flush();
    expect(rows()).toEqual([]);
  });
});
