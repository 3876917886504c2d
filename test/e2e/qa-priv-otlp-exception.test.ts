// Content capture off (the default) keeps no text of a prompt: that holds for the exception events of the spans an
// instrumented app sends to /v1/traces too. An SDK's exception repeats the upstream's error, which may quote the prompt
// (OpenAI's Python SDK: `Error code: 400 - {'error': {'message': "Invalid 'messages[0].content': ..."}}`); its
// exception.message and exception.stacktrace are scrubbed as a call's error message is (quotes and the call's words
// elided), on the call's span and on the trace's other spans (a tool step), while the exception's type stays.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreBackend } from '../../src/store/index.js';
import { type Stack, startStack, until } from './helpers.js';

const PROMPT = 'Describe the Zorvath bridge over the quillmoss river in Tessaridge';
const WORDS = ['Zorvath', 'quillmoss', 'Tessaridge', 'Brontevale'];

function everyRow(b: StoreBackend): string {
  if (b.kind !== 'sqlite') throw new Error('this test runs on SQLite');
  const tables = b.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  return tables
    .map(({ name }) => `${name}: ${JSON.stringify(b.db.prepare(`SELECT * FROM "${name}"`).all())}`)
    .join('\n');
}

const kv = (key: string, v: string | number) => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) },
});

describe('content capture off: exception events of OTLP spans', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ config: { telemetry: { captureContent: false } } as never });
  });
  afterAll(() => s?.close());

  it('keep the exception type and none of the prompt’s or the tool’s words', async () => {
    const trace = 'c3'.repeat(16);
    const t0 = BigInt(Date.now()) * 1_000_000n;
    const quoted = `Error code: 400 - {'error': {'message': "Invalid 'messages[0].content': ${PROMPT}", 'type': 'invalid_request_error'}}`;
    const span = (id: string, name: string, attributes: unknown[], message: string, parent?: string) => ({
      traceId: trace,
      spanId: id,
      ...(parent ? { parentSpanId: parent } : {}),
      name,
      kind: 3,
      startTimeUnixNano: String(t0),
      endTimeUnixNano: String(t0 + 300_000_000n),
      attributes,
      status: { code: 2 },
      events: [
        {
          name: 'exception',
          timeUnixNano: String(t0 + 200_000_000n),
          attributes: [
            kv('exception.type', 'openai.BadRequestError'),
            kv('exception.message', message),
            kv(
              'exception.stacktrace',
              `Traceback (most recent call last):\n  File "app.py", line 9\nopenai.BadRequestError: ${message}`,
            ),
          ],
        },
      ],
    });
    const r = await request(`${s.base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [kv('service.name', 'bridge-app')] },
            scopeSpans: [
              {
                spans: [
                  span(
                    '4000000000000001',
                    'chat gpt-4o-mini',
                    [
                      kv('gen_ai.operation.name', 'chat'),
                      kv('gen_ai.system', 'openai'),
                      kv('gen_ai.request.model', 'gpt-4o-mini'),
                      kv('gen_ai.prompt.0.role', 'user'),
                      kv('gen_ai.prompt.0.content', PROMPT),
                      kv('gen_ai.usage.input_tokens', 14),
                    ],
                    `${quoted}; flagged: Zorvath bridge in Tessaridge`,
                  ),
                  span(
                    '4000000000000002',
                    'execute_tool paint',
                    [kv('gen_ai.operation.name', 'execute_tool'), kv('gen_ai.tool.name', 'paint')],
                    "tool paint failed for painter 'Brontevale'",
                    '4000000000000001',
                  ),
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
    const text = async (path: string) => (await request(`${s.base}${path}`)).body.text();
    // The call and the tool span kept with it, once recorded.
    const traced = await until(
      async () => {
        await s.app.ctx.recorder.flush();
        const t = await text(`/api/traces/${trace}`);
        return t.includes('execute_tool paint') ? t : null;
      },
      10_000,
      50,
    );
    const list = JSON.parse(await text(`/api/requests?q=${trace}`)) as { data: { request_id: string }[] };
    expect(list.data).toHaveLength(1);
    const detail = await text(`/api/requests/${list.data[0]?.request_id}`);
    const places = { trace: traced, detail, tables: everyRow(s.app.ctx.store.backend) };
    // The exceptions are kept, with their type and the upstream's own words.
    expect(places.detail).toContain('openai.BadRequestError');
    expect(places.detail).toContain('Error code: 400');
    expect(places.trace).toContain('tool paint failed for painter');
    for (const [where, t] of Object.entries(places))
      for (const w of WORDS) expect(t, `${w} in ${where}`).not.toContain(w);
  });
});
