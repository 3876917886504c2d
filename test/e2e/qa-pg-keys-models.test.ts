// Virtual keys with models on PostgreSQL, as a user moves to it (the built CLI; needs `npm run build`): keys made on a
// single SQLite node with `keys create --models` (one later revoked), `llmscope migrate` to PostgreSQL, then
// `serve` twice on that database. The migrated keys keep their models and revocation on both replicas; a key made
// through replica A's POST /api/keys with models is enforced by replica B (HTTP and the Responses WebSocket); `keys list` on
// PostgreSQL shows models; an OTLP trace with a GenAI retrieval span sent to A reads back from B with one call.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { killServe, type ServeProcess, startServeProcess, until } from './helpers.js';

const BIN = new URL('../../bin/llmscope.js', import.meta.url).pathname;

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    p.once('exit', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

async function createKey(config: string, args: string[]): Promise<string> {
  const r = await cli(['keys', 'create', '--config', config, '--json', ...args]);
  expect(r.code, r.err).toBe(0);
  return (JSON.parse(r.out) as { key: string }).key;
}

let pg: TestPostgres;
let sim: Simulator;
let pgConfig: string;
const serves: ServeProcess[] = [];
let limited = '';
let revoked = '';
let migrateOut = '';
let again: () => Promise<string>;
let sqliteConfig = '';
beforeAll(async () => {
  pg = await startPostgres();
  sim = await startSimulator({ port: 0, ttftMs: 1, tpotMs: 0, outputTokens: 3 });
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-qa-pg-keys-'));
  const sqlite = join(dir, 'node.db');
  const pgUrl = await pg.freshDatabaseUrl();
  const base = { providers: [{ name: 'sim', baseUrl: sim.url }], gpu: { collector: 'none' } };
  sqliteConfig = join(dir, 'sqlite.yaml');
  writeFileSync(sqliteConfig, JSON.stringify({ ...base, storage: { url: `sqlite:${sqlite}` } }));
  pgConfig = join(dir, 'pg.yaml');
  writeFileSync(pgConfig, JSON.stringify({ ...base, storage: { url: pgUrl } }));

  limited = await createKey(sqliteConfig, ['limited', '--models', 'gpt-4.1*']);
  revoked = await createKey(sqliteConfig, ['old']);
  const rv = await cli(['keys', 'revoke', 'old', '--config', sqliteConfig]);
  expect(rv.code, rv.err).toBe(0);
  const m = await cli(['migrate', '--from', `sqlite:${sqlite}`, '--to', pgUrl]);
  expect(m.code, m.err).toBe(0);
  migrateOut = m.out;
  again = async () => {
    const r = await cli(['migrate', '--from', `sqlite:${sqlite}`, '--to', pgUrl]);
    expect(r.code, r.err).toBe(0);
    return r.out;
  };

  for (let i = 0; i < 2; i++) serves.push(await startServeProcess({ LLMSCOPE_PORT: '0' }, ['-c', pgConfig]));
}, 120_000);
afterAll(async () => {
  for (const s of serves) killServe(s.proc);
  await sim?.close();
  await pg?.stop();
});

const client = (s: ServeProcess, key: string) => new OpenAI({ baseURL: `${s.base}/v1`, apiKey: key, maxRetries: 0 });
const ask = (s: ServeProcess, key: string, model: string) =>
  client(s, key)
    .chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })
    .then(
      () => 200,
      (e: unknown) => (e instanceof OpenAI.APIError ? (e.status ?? 0) : Promise.reject(e)),
    );
const ids = async (s: ServeProcess, key: string) => {
  const out: string[] = [];
  for await (const m of client(s, key).models.list()) out.push(m.id);
  return out.sort();
};

describe('virtual keys with models on PostgreSQL', () => {
  it('migrate carries the keys, their models and revocations, to both replicas', async () => {
    for (const s of serves) {
      expect(await ask(s, limited, 'gpt-4.1-mini')).toBe(200);
      expect(await ask(s, limited, 'gpt-4o')).toBe(403);
      expect(await ids(s, limited)).toEqual(['gpt-4.1', 'gpt-4.1-mini']);
      expect(await ask(s, revoked, 'gpt-4o')).toBe(401);
    }
    expect(migrateOut).toMatch(/keys\s+2 copied/);
    const list = await cli(['keys', 'list', '--config', pgConfig, '--all', '--json']);
    expect(list.code, list.err).toBe(0);
    const views = JSON.parse(list.out) as { name: string; models: string[]; status: string }[];
    expect(views.find((v) => v.name === 'limited')).toMatchObject({ models: ['gpt-4.1*'], status: 'active' });
    expect(views.find((v) => v.name === 'old')?.status).toBe('revoked');
  });

  it('a key made with models through replica A is enforced on replica B', async () => {
    const [a, b] = serves as [ServeProcess, ServeProcess];
    const r = await fetch(`${a.base}/api/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'via-api', models: ['claude-*', 'gpt-4o-mini'] }),
    });
    const made = (await r.json()) as { key: string; models: string[] };
    expect(r.status, JSON.stringify(made)).toBe(201);
    expect(made.models).toEqual(['claude-*', 'gpt-4o-mini']);
    expect(await ask(b, made.key, 'gpt-4o-mini')).toBe(200);
    expect(await ask(b, made.key, 'gpt-4.1')).toBe(403);
    const listed = (await (await fetch(`${b.base}/api/keys`)).json()) as { keys: { name: string; models: string[] }[] };
    expect(listed.keys.find((k) => k.name === 'via-api')?.models).toEqual(['claude-*', 'gpt-4o-mini']);

    // keys create --models straight on PostgreSQL: enforced by both replicas
    const viaCli = await createKey(pgConfig, ['cli-pg', '--models', 'gpt-4o-mini']);
    for (const s of serves) {
      expect(await ask(s, viaCli, 'gpt-4o-mini')).toBe(200);
      expect(await ask(s, viaCli, 'gpt-4.1')).toBe(403);
    }

    // the Responses API's WebSocket mode on B with that key: a model outside its list is an error event 403, one in
    // it completes; the response is one call in the shared database, read back through A
    const ws = new ResponsesWS(new OpenAI({ baseURL: `${b.base}/v1`, apiKey: made.key, maxRetries: 0 }));
    const events: { type: string; status?: number; response?: { id: string } }[] = [];
    ws.on('event', (e) => events.push(e as never));
    ws.on('error', () => {}); // the refusal's error event, read from events
    ws.send({ type: 'response.create', model: 'gpt-4.1', input: 'hi' } as never);
    const refused = await until(() => events.find((e) => e.type === 'error'), 10_000, 5);
    expect(refused.status).toBe(403);
    ws.send({ type: 'response.create', model: 'gpt-4o-mini', input: 'hi' } as never);
    const done = await until(() => events.find((e) => e.type === 'response.completed'), 10_000, 5);
    ws.close();
    const keyId = listed.keys.find((k) => k.name === 'via-api') as unknown as { id: string };
    const rows = await until(async () => {
      const j = (await (await fetch(`${a.base}/api/requests?endpoint=responses`)).json()) as {
        data: { request_id: string; status: string; model: string }[];
      };
      return j.data.length >= 2 ? j.data : undefined;
    });
    // recorded as the HTTP route records the same refusal (the chat call to gpt-4.1 above)
    const http = (await (await fetch(`${a.base}/api/requests?endpoint=chat.completions&model=gpt-4.1`)).json()) as {
      data: { status: string; http_status: number }[];
    };
    const refusal = http.data.find((r) => r.http_status === 403);
    expect(refusal).toBeDefined();
    expect(rows.map((r) => r.status).sort()).toEqual([refusal?.status, 'ok'].sort());
    const ok = rows.find((r) => r.status === 'ok');
    expect(ok).toMatchObject({ model: 'gpt-4o-mini' });
    expect(done.response?.id).toBeTruthy();
    const byKey = await (await fetch(`${a.base}/api/cost/summary?range=1h&group_by=key`)).text();
    expect(byKey).toContain(keyId.id);
  });

  it('an OTLP trace with a GenAI retrieval span, sent to A, reads back from B: one call, the retrieval a span', async () => {
    const [a, b] = serves as [ServeProcess, ServeProcess];
    const trace = 'be'.repeat(16);
    const t0 = (BigInt(Date.now()) - 1000n) * 1_000_000n;
    const at = (ms: number) => String(t0 + BigInt(ms) * 1_000_000n);
    const kv = (key: string, v: string | number) => ({
      key,
      value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) },
    });
    const span = (id: string, parent: string | null, name: string, from: number, to: number, attrs: unknown[]) => ({
      traceId: trace,
      spanId: id,
      ...(parent ? { parentSpanId: parent } : {}),
      name,
      kind: 1,
      startTimeUnixNano: at(from),
      endTimeUnixNano: at(to),
      attributes: attrs,
    });
    const root = '4000000000000001';
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [kv('service.name', 'qa-pg-rag')] },
          scopeSpans: [
            {
              spans: [
                span(root, null, 'rag.answer', 0, 900, [kv('gen_ai.operation.name', 'invoke_agent')]),
                span('4000000000000002', root, 'retrieval kb-main', 10, 120, [
                  kv('gen_ai.operation.name', 'retrieval'),
                  kv('gen_ai.provider.name', 'openai'),
                  kv('gen_ai.request.model', 'text-embedding-3-small'),
                  kv('gen_ai.retrieval.query.text', 'refund for card 4242?'),
                ]),
                span('4000000000000003', root, 'chat gpt-4o-mini', 130, 850, [
                  kv('gen_ai.operation.name', 'chat'),
                  kv('gen_ai.provider.name', 'openai'),
                  kv('gen_ai.request.model', 'gpt-4o-mini'),
                  kv('gen_ai.usage.input_tokens', 300),
                  kv('gen_ai.usage.output_tokens', 20),
                ]),
              ],
            },
          ],
        },
      ],
    };
    const sent = await fetch(`${a.base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(sent.status).toBe(200);
    const text = await until(async () => {
      const r = await fetch(`${b.base}/api/traces/${trace}`);
      return r.ok ? r.text() : undefined;
    });
    const page = JSON.parse(text) as { calls: { model: string }[] };
    expect(page.calls.map((c) => c.model)).toEqual(['gpt-4o-mini']);
    expect(text).toContain('retrieval kb-main');
    expect(text).not.toContain('4242');
  });

  it('a second migrate (after the last stop) revokes on PostgreSQL a key revoked on the node since', async () => {
    const rv = await cli(['keys', 'revoke', 'limited', '--config', sqliteConfig]);
    expect(rv.code, rv.err).toBe(0);
    expect(await again()).toMatch(/keys\s+0 copied, 1 revoked or rotated since, 1 already there/);
    for (const s of serves) await until(async () => ((await ask(s, limited, 'gpt-4.1')) === 401 ? true : undefined));
  });
});
