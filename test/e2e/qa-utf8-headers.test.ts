// UTF-8 in the attribution headers (x-llmscope-user/-team/-feature/-session, x-llmscope-meta-*), sent as raw bytes:
// Node reads header bytes as latin1, so "fé" was recorded as "fÃ©" in the store and in llm_cost_usd_total's
// feature label. Now decoded when the bytes are valid UTF-8; other bytes (a latin1 client) are kept as they came.
import { connect } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack } from './helpers.js';

/** One HTTP/1.1 request written as raw bytes (no client re-encodes the header values); resolves with the status. */
function rawPost(base: string, headers: Buffer): Promise<number> {
  const { hostname, port } = new URL(base);
  const body = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname);
    let got = '';
    sock.on('data', (d) => {
      got += d.toString('latin1');
    });
    sock.on('error', reject);
    sock.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
    sock.write(
      Buffer.concat([
        Buffer.from(
          `POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}:${port}\r\nconnection: close\r\n` +
            `content-type: application/json\r\ncontent-length: ${body.length}\r\nauthorization: Bearer sk-test\r\n`,
        ),
        headers,
        Buffer.from('\r\n'),
        body,
      ]),
    );
  });
}

describe('UTF-8 attribution headers', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 1, tpotMs: 0, outputTokens: 3 }, app: { modules: [createCostModule] } });
  });
  afterAll(() => s?.close());

  it('records UTF-8 header values as sent, in the call and in the feature label', async () => {
    const utf8 = Buffer.from(
      'x-llmscope-user: José\r\nx-llmscope-team: équipe-日本\r\nx-llmscope-feature: fé\r\n' +
        'x-llmscope-session: sess-ü\r\nx-llmscope-meta-city: Zürich\r\n',
      'utf8',
    );
    expect(await rawPost(s.base, utf8)).toBe(200);
    const [call] = await s.waitForCalls(1);
    expect(call).toMatchObject({ user: 'José', team: 'équipe-日本', feature: 'fé', session: 'sess-ü' });
    expect(call?.metadata).toEqual({ city: 'Zürich' });
    const metrics = await (await request(`${s.base}/metrics`)).body.text();
    expect(metrics).toMatch(/llm_cost_usd_total\{[^}]*feature="fé"/);
    expect(metrics).not.toContain('fÃ©');
  });

  it('keeps bytes that are not UTF-8 as Node read them (latin1)', async () => {
    const latin1 = Buffer.from('x-llmscope-feature: caf\xe9\r\nx-llmscope-meta-city: M\xfcnchen\r\n', 'latin1');
    expect(await rawPost(s.base, latin1)).toBe(200);
    const calls = await s.waitForCalls(2);
    expect(calls[1]).toMatchObject({ feature: 'café', metadata: { city: 'München' } });
  });
});
