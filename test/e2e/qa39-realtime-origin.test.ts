// A browser page's Realtime upgrade without a virtual key is let through when server.corsOrigins names its origin
// (QA39). The relay compared the Origin header with the configured strings as they were written, while the /api CORS
// check and the gateway's cross-site check compare normalized origins: `https://App.example.com:443` in the config
// named the page for /api, but its Realtime upgrade (Origin `https://app.example.com`, as a browser sends it) was
// refused 403.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Stack, startStack } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    config: {
      gpu: { collector: 'none' },
      server: { host: '127.0.0.1', port: 0, corsOrigins: ['https://App.example.com:443'] },
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

/** The upgrade's answer: 101 when it opened, else the status refusing it. */
const upgrade = (origin: string) =>
  new Promise<number>((ok) => {
    const ws = new WebSocket(`${stack.base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`, { origin });
    ws.once('open', () => {
      ws.close();
      ok(101);
    });
    ws.once('unexpected-response', (_q, res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    ws.once('error', () => undefined);
  });

describe('Realtime: the Origin rule reads server.corsOrigins as origins', () => {
  it('lets the named page in, whatever case and default port the config wrote; others stay out', async () => {
    // before: 403
    expect(await upgrade('https://app.example.com')).toBe(101);
    expect(await upgrade('https://evil.example.com')).toBe(403);
    expect(await upgrade('http://app.example.com')).toBe(403);
    expect(await upgrade('null')).toBe(403);
  });
});
