// privacy.maskUpstream on the Realtime WebSocket: a session's text events (session.update's instructions,
// conversation.item.create's content, response.create's instructions) reach the provider masked, as an HTTP call's
// body does; an event with nothing to mask and an audio append reach it byte for byte as the client sent them.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type Stack, startStack, until } from './helpers.js';

describe('privacy.maskUpstream on a Realtime session', () => {
  let s: Stack;
  let upstream: WebSocketServer;
  const got: string[] = [];
  beforeAll(async () => {
    // The provider: accepts the session and keeps every client message it gets.
    upstream = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    upstream.on('connection', (ws) => ws.on('message', (d) => got.push(d.toString())));
    await new Promise((r) => upstream.once('listening', r));
    const port = (upstream.address() as AddressInfo).port;
    s = await startStack({
      config: {
        providers: [{ name: 'realtime-up', baseUrl: `http://127.0.0.1:${port}/v1` }],
        privacy: { maskUpstream: true },
      } as never,
    });
  });
  afterAll(async () => {
    await s?.close();
    await new Promise((r) => upstream?.close(r));
  });

  it('masks the text events and passes the others as sent', async () => {
    const ws = new WebSocket(`${s.base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`, {
      headers: { authorization: 'Bearer sk-test' },
    });
    ws.on('error', () => undefined);
    await new Promise((ok, fail) => {
      ws.once('open', ok);
      ws.once('error', fail);
    });
    const audio = Buffer.alloc(3000, 7).toString('base64');
    const sent = [
      {
        type: 'session.update',
        session: { instructions: 'The customer is jane.doe@example.org, card 4111 1111 1111 1111' },
      },
      {
        type: 'conversation.item.create',
        item: {
          type: 'message',
          role: 'user',
          content: [{ type: 'input_text', text: 'Call me on +1 (415) 555-0132' }],
        },
      },
      { type: 'response.create', response: { instructions: 'Greet GB82 WEST 1234 5698 7654 32 politely' } },
      {
        type: 'conversation.item.create',
        item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] },
      },
      { type: 'input_audio_buffer.append', audio },
    ].map((m) => JSON.stringify(m));
    // Whitespace the client chose: an unmasked event goes on as these very bytes.
    sent[3] = sent[3]!.replace('"hello"', ' "hello" ');
    for (const m of sent) ws.send(m);
    await until(() => got.length === sent.length, 10_000, 10);
    ws.close();
    const all = got.join('\n');
    for (const leak of ['jane.doe', '4111 1111', '555-0132', 'WEST 1234'])
      expect(all, `${leak} reached the provider`).not.toContain(leak);
    expect(JSON.parse(got[0]!)).toEqual({
      type: 'session.update',
      session: { instructions: 'The customer is [redacted-email], card [redacted-card]' },
    });
    expect(JSON.parse(got[1]!).item.content[0].text).toBe('Call me on [redacted-phone]');
    expect(JSON.parse(got[2]!).response.instructions).toBe('Greet [redacted-iban] politely');
    expect(got[3]).toBe(sent[3]);
    expect(got[4]).toBe(sent[4]);
  });
});
