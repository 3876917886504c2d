// A virtual key's models filter GET /v1/models under `llmscope serve --workers 2` (the built CLI) as in one process:
// the key is checked by the recorder process's hooks, and the models it may call come back to the worker that
// answers the list with the rest of the admission.
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/cost/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { killServe, type ServeProcess, startServeWithConfig } from './helpers.js';

const LIMITED = 'lsk_models_list_workers_limited_0123456';
const OPEN = 'lsk_models_list_workers_open_0123456789a';

let sim: Simulator;
let serve: ServeProcess;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 1, tpotMs: 1, outputTokens: 4 });
  serve = await startServeWithConfig({
    prefix: 'llmscope-models-workers-',
    workers: 2,
    config: (dir) => ({
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, 'app.db')}` },
      keys: [
        { id: 'limited', hash: hashKey(LIMITED), models: ['gpt-4.1*'] },
        { id: 'open', hash: hashKey(OPEN) },
      ],
      gpu: { collector: 'none' },
    }),
  });
}, 90_000);
afterAll(async () => {
  killServe(serve?.proc);
  await sim?.close();
});

const client = (key: string) => new OpenAI({ baseURL: `${serve.base}/v1`, apiKey: key, maxRetries: 0 });
const ids = async (key: string) => {
  const out: string[] = [];
  for await (const m of client(key).models.list()) out.push(m.id);
  return out.sort();
};

describe('GET /v1/models with a virtual key under serve --workers 2', () => {
  it('lists only the key’s models, on every worker; another model is 404', async () => {
    // several requests, so both workers answer some
    for (let n = 0; n < 6; n++) expect(await ids(LIMITED)).toEqual(['gpt-4.1', 'gpt-4.1-mini']);
    expect(await ids(OPEN)).toContain('gpt-4o');
    const err = await client(LIMITED)
      .models.retrieve('gpt-4o')
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe('model_not_found');
  });
});
