import { describe, expect, it } from 'vitest';
import type { Rpc } from '../cluster/rpc.js';
import { remoteHook, runHooksFor } from '../cluster/worker.js';
import type { Admission } from '../gateway/proxy.js';
import { maskBody, maskUpstreamHook } from './mask.js';
import { Redactor } from './redact.js';

describe('maskBody (privacy.maskUpstream)', () => {
  it('redacts the text of every wire format in place, keeping structure, ids and binary payloads', () => {
    const counts: Record<string, number> = {};
    const r = new Redactor({
      onRedact: (k, n) => {
        counts[k] = (counts[k] ?? 0) + n;
      },
    });
    const png = 'iVBORw0KGgo/555-123-4567/AAAANSUhEUgAAAAEAAAAB';
    const body = {
      model: 'gpt-4o-mini',
      user: 'ann@example.com',
      messages: [
        { role: 'system', content: 'Customer: ann@example.com, card 4111 1111 1111 1111' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'call me on +1 (415) 555-0132' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_AKIAIOSFODNN7EXAMPLE', content: 'ip 203.0.113.7' },
      ],
      // Anthropic and Gemini shapes
      system: [{ type: 'text', text: 'iban GB82 WEST 1234 5698 7654 32' }],
      contents: [
        { role: 'user', parts: [{ text: 'ssn 123-45-6789' }, { inline_data: { mime_type: 'image/png', data: png } }] },
      ],
    };
    expect(maskBody(r, body)).toBe(true);
    const text = JSON.stringify(body);
    for (const leak of ['ann@', '4111', '555-0132', '203.0.113', 'WEST', '123-45-6789'])
      expect(text).not.toContain(leak);
    expect(body.messages[0]?.content).toBe('Customer: [redacted-email], card [redacted-card]');
    expect(body.model).toBe('gpt-4o-mini');
    expect(body.messages[2]?.tool_call_id).toBe('call_AKIAIOSFODNN7EXAMPLE');
    expect(text.split(png).length - 1).toBe(2);
    expect(counts).toEqual({ email: 2, card: 1, phone: 1, ip: 1, iban: 1, national_id: 1 });
  });

  it('says when nothing changed, so the client’s bytes go upstream as they came', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'what is 2 + 2?' }] };
    expect(maskBody(new Redactor(), body)).toBe(false);
    expect(body.messages[0]?.content).toBe('what is 2 + 2?');
  });
});

describe('maskUpstream with gateway workers (serve --workers)', () => {
  it('the primary sends the masked body back and the worker’s flight body is replaced in place', async () => {
    const hook = maskUpstreamHook(new Redactor());
    const body = { model: 'm', messages: [{ role: 'user', content: 'mail ann@example.com' }] };
    const a = {
      requestId: 'r',
      endpoint: 'chat.completions',
      model: 'm',
      provider: 'p',
      body,
      headers: {},
      attribution: {},
      forwardClientAuth: true,
      state: {},
    } as unknown as Admission;
    // The primary runs its hooks on a copy that crossed the IPC channel.
    const rpc = {
      call: async (_op: string, snapshot: unknown) =>
        runHooksFor([hook], 'admit', structuredClone(snapshot) as Parameters<typeof runHooksFor>[2]),
    } as unknown as Rpc;
    await remoteHook(rpc, { authenticate: false, admit: true }).admit?.(a);
    expect(a.body).toBe(body);
    expect(body.messages[0]?.content).toBe('mail [redacted-email]');
    expect(a.bodyChanged).toBe(true);
  });
});
