// The first hour with the real SDKs (QA21): a base URL one /v1 short (OpenAI's clients) or one too many (Anthropic's)
// is the commonest set-up mistake; the 404 it gets names the path meant and the base URL to set. Runs the built
// `llmscope serve --upstream` (npm run build first).

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killServe, type ServeProcess, startServeProcess } from './helpers.js';

let serve: ServeProcess;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmscope-qa21-'));
  // Nothing listens on the upstream: no call here should reach it.
  serve = await startServeProcess({ LLMSCOPE_PORT: '0' }, ['--upstream', 'http://127.0.0.1:9/v1'], { cwd: dir });
}, 90_000);
afterAll(() => {
  killServe(serve?.proc);
  rmSync(dir, { recursive: true, force: true });
});

async function errorOf(p: Promise<unknown>): Promise<{ status?: number; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { status?: number; message: string };
  }
  throw new Error('the call succeeded');
}

describe('a client base URL without /v1', () => {
  it("OpenAI's chat call: 404 naming /v1/chat/completions and the base URL to set", async () => {
    const client = new OpenAI({ baseURL: serve.base, apiKey: 'sk-demo', maxRetries: 0 });
    const err = await errorOf(
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }),
    );
    expect(err.status).toBe(404);
    expect(err.message).toContain('did you mean POST /v1/chat/completions?');
    expect(err.message).toContain(`set the client's base URL to ${serve.base}/v1`);
  });

  it("OpenAI's models.list() and responses.create: the same advice, not the dashboard's 'no page or file'", async () => {
    const client = new OpenAI({ baseURL: serve.base, apiKey: 'sk-demo', maxRetries: 0 });
    const list = await errorOf(client.models.list());
    expect(list.status).toBe(404);
    expect(list.message).toContain('did you mean GET /v1/models?');
    const resp = await errorOf(client.responses.create({ model: 'gpt-4o-mini', input: 'Hello' }));
    expect(resp.status).toBe(404);
    expect(resp.message).toContain('did you mean POST /v1/responses?');
  });

  it("a base URL ending in /api (llmscope's own API): the gateway's path, not the admin token's 401", async () => {
    for (const baseURL of [`${serve.base}/api`, `${serve.base}/api/v1`]) {
      const client = new OpenAI({ baseURL, apiKey: 'sk-demo', maxRetries: 0 });
      const err = await errorOf(
        client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }),
      );
      expect(err.status).toBe(404);
      expect(err.message).toContain(
        "did you mean POST /v1/chat/completions? /api is llmscope's own API, not the gateway",
      );
      expect(err.message).toContain(`set the client's base URL to ${serve.base}/v1`);
    }
  });

  it('the dashboard and /api are still where they were', async () => {
    expect((await fetch(`${serve.base}/`)).status).toBe(200);
    expect((await fetch(`${serve.base}/api/requests`)).status).toBe(200);
    const other = await fetch(`${serve.base}/nothing-here`);
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { message: string } }).error.message).toMatch(/no page or file/);
  });
});

describe('an Anthropic base URL ending in /v1', () => {
  it("404 in Anthropic's error shape, saying the SDK adds /v1 itself", async () => {
    const client = new Anthropic({ baseURL: `${serve.base}/v1`, apiKey: 'sk-ant-demo', maxRetries: 0 });
    const err = await errorOf(
      client.messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    );
    expect(err.status).toBe(404);
    const body = (err as unknown as { error: { type: string; error: { type: string; message: string } } }).error;
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('not_found_error');
    expect(body.error.message).toContain('did you mean POST /v1/messages?');
    expect(body.error.message).toContain(`set the client's base URL to ${serve.base}`);
  });

  it('an OpenAI base URL ending in /v1/v1: the path meant', async () => {
    const client = new OpenAI({ baseURL: `${serve.base}/v1/v1`, apiKey: 'sk-demo', maxRetries: 0 });
    const err = await errorOf(
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }),
    );
    expect(err.status).toBe(404);
    expect(err.message).toContain('did you mean POST /v1/chat/completions?');
  });
});

describe('a typo in a config key', () => {
  const BIN = new URL('../../bin/llmscope.js', import.meta.url).pathname;
  /** `llmscope check-config --config FILE` run as typed: its exit code and stderr. */
  const check = (yaml: string): { code: number; stderr: string } => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, yaml);
    try {
      execFileSync(process.execPath, [BIN, 'check-config', '--config', file], { stdio: 'pipe' });
      return { code: 0, stderr: '' };
    } catch (err) {
      const e = err as { status: number; stderr: Buffer };
      return { code: e.status, stderr: e.stderr.toString() };
    }
  };

  it('names the key meant: baseURL → baseUrl, provders → providers, prot → port', () => {
    const a = check('providers:\n  - name: x\n    baseURL: http://127.0.0.1:8081/v1\n');
    expect(a.code).toBe(1);
    expect(a.stderr).toContain('providers[0]: Unrecognized key: "baseURL"; did you mean "baseUrl"?');
    const b = check('provders:\n  - name: x\n    baseUrl: http://127.0.0.1:8081/v1\n');
    expect(b.stderr).toContain('(root): Unrecognized key: "provders"; did you mean "providers"?');
    const c = check('server: { prot: 9090 }\n');
    expect(c.stderr).toContain('server: Unrecognized key: "prot"; did you mean "port"?');
  });

  it('a key like none: the keys that section takes', () => {
    const r = check('storage: { path: ./x.db }\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/storage: Unrecognized key: "path"; this section takes url, /);
  });
});

describe('an upstream URL without a path', () => {
  it('serve --upstream http://host:port warns that calls will likely 404 and names the URL meant', async () => {
    // a folder of its own: the default store ./llmscope-data/llmscope.db is the first serve's (one serve per store)
    const run = await startServeProcess({ LLMSCOPE_PORT: '0' }, ['--upstream', 'http://127.0.0.1:9'], {
      cwd: mkdtempSync(join(dir, 'second-')),
    });
    try {
      expect(run.stderr()).toContain(
        "warning: providers[0].baseUrl: http://127.0.0.1:9 has no path, and llmscope appends only the route's own (/chat/completions)",
      );
      expect(run.stderr()).toContain('did you mean http://127.0.0.1:9/v1?');
    } finally {
      killServe(run.proc);
    }
  }, 90_000);

  it('a path (/v1) or a Vertex host (Gemini, or Claude on Vertex) gets no such warning', async () => {
    expect(serve.stderr()).not.toContain('has no path');
    const file = join(dir, 'vertex.yaml');
    writeFileSync(
      file,
      'providers:\n  - { name: vertex, type: gemini, baseUrl: https://us-central1-aiplatform.googleapis.com }\n' +
        '  - { name: vertex-claude, type: anthropic, baseUrl: https://us-east5-aiplatform.googleapis.com }\n',
    );
    const r = spawnSync(process.execPath, [
      new URL('../../bin/llmscope.js', import.meta.url).pathname,
      'check-config',
      '--config',
      file,
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toContain('ok');
    expect(r.stderr.toString()).not.toContain('has no path');
  });

  it("Anthropic's own host without /v1 is warned about, naming /messages", () => {
    const file = join(dir, 'anthropic.yaml');
    writeFileSync(file, 'providers:\n  - { name: claude, type: anthropic, baseUrl: https://api.anthropic.com }\n');
    const r = spawnSync(process.execPath, [
      new URL('../../bin/llmscope.js', import.meta.url).pathname,
      'check-config',
      '--config',
      file,
    ]);
    expect(r.stderr.toString()).toContain(
      "providers[0].baseUrl: https://api.anthropic.com has no path, and llmscope appends only the route's own (/messages)",
    );
  });
});

describe('serve --workers 2', () => {
  it("names the client's own address, not the recorder's internal one", async () => {
    const run = await startServeProcess(
      { LLMSCOPE_PORT: '0' },
      ['--upstream', 'http://127.0.0.1:9/v1', '--workers', '2'],
      { cwd: mkdtempSync(join(dir, 'workers-')) },
    );
    try {
      const r = await fetch(`${run.base}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(r.status).toBe(404);
      const body = (await r.json()) as { error: { message: string } };
      expect(body.error.message).toContain(`set the client's base URL to ${run.base}/v1`);
    } finally {
      killServe(run.proc);
    }
  }, 120_000);
});
