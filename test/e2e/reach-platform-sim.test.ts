// The simulator answers OpenAI's Files API and moderations in their wire shapes, so an app that uploads a batch file
// or moderates its input runs offline through llmscope's pass-through: the real openai client uploads, lists,
// retrieves, downloads and deletes a file, and moderates, through llmscope exactly as against the simulator directly;
// none of it is recorded.
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

describe('reach: the simulator’s Files API and moderations, through llmscope', () => {
  let s: Stack;
  let gateway: OpenAI;
  let direct: OpenAI;

  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 0, tpotMs: 0 } });
    gateway = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    direct = new OpenAI({ baseURL: s.sim.url, apiKey: 'sk-test', maxRetries: 0 });
  });
  afterAll(() => s.close());

  it('upload, list with ?limit=, retrieve, content byte for byte, delete, then 404', async () => {
    const data = Buffer.concat([Buffer.from('{"custom_id":"r1","method":"POST"}\n'), Buffer.from([0, 255, 10])]);
    const f = await gateway.files.create({ file: await toFile(data, 'batch.jsonl'), purpose: 'batch' });
    expect(f).toMatchObject({ object: 'file', bytes: data.length, filename: 'batch.jsonl', purpose: 'batch' });
    expect(f.id).toMatch(/^file-/);
    const g = await gateway.files.create({ file: await toFile(Buffer.from('x'), 'b.txt'), purpose: 'assistants' });

    const page = await gateway.files.list({ limit: 1 });
    expect(page.data.map((x) => x.id)).toEqual([g.id]);
    expect(page.has_more).toBe(true);
    const batch = await gateway.files.list({ purpose: 'batch' });
    expect(batch.data.map((x) => x.id)).toEqual([f.id]);
    expect(await direct.files.retrieve(f.id)).toEqual(await gateway.files.retrieve(f.id));

    const content = await gateway.files.content(f.id);
    expect(content.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await content.arrayBuffer()).equals(data)).toBe(true);

    expect(await gateway.files.delete(f.id)).toEqual({ id: f.id, object: 'file', deleted: true });
    const gone = await gateway.files.retrieve(f.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError);
    expect((gone as Error).message).toContain(`No such File object: ${f.id}`);
    await gateway.files.delete(g.id);
  });

  it('moderations: one result per input, in the API’s shape, the same as direct', async () => {
    const r = await gateway.moderations.create({ model: 'omni-moderation-latest', input: ['hello', 'world'] });
    expect(r.model).toBe('omni-moderation-latest');
    expect(r.results).toHaveLength(2);
    const first = r.results[0] as (typeof r.results)[number];
    expect(first.flagged).toBe(false);
    expect(first.categories.violence).toBe(false);
    expect(first.category_scores.violence).toBeLessThan(0.001);
    expect(first.category_applied_input_types.violence).toEqual(['text']);
    const d = await direct.moderations.create({ model: 'omni-moderation-latest', input: ['hello', 'world'] });
    expect(d.results).toEqual(r.results);

    const bad = await gateway.moderations.create({ input: [] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('nothing of it is recorded', async () => {
    const r = await fetch(`${s.base}/api/requests?limit=100`);
    expect(((await r.json()) as { data: unknown[] }).data).toEqual([]);
    expect(s.calls).toEqual([]);
  });
});
