import { describe, expect, it } from 'vitest';
import { StreamMeter } from './sse.js';

const chunk = (o: unknown): string => `data: ${JSON.stringify(o)}\n\n`;
const content = (text: string, withUsage = false) =>
  chunk({
    id: 'c',
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta: { content: text }, finish_reason: null }],
    ...(withUsage ? { usage: null } : {}),
  });

describe('StreamMeter', () => {
  it('passes bytes through untouched when the client asked for usage itself, and meters them', () => {
    const m = new StreamMeter('chat.completions', false);
    const parts = [
      chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }], usage: null }),
      content('Hel', true),
      content('lo', true),
      chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }),
      chunk({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }),
      'data: [DONE]\n\n',
    ];
    const wire = Buffer.from(parts.join(''));
    // Split at awkward places, including inside a multi-byte character-free JSON token.
    const out: Buffer[] = [];
    for (let i = 0; i < wire.length; i += 7) out.push(m.push(wire.subarray(i, i + 7), i) as Buffer);
    expect(Buffer.concat(out).equals(wire)).toBe(true);
    expect(m.text).toBe('Hello');
    expect(m.usage?.outputTokens).toBe(2);
    expect(m.finishReason).toBe('stop');
    expect(m.firstContentAt).toBeGreaterThan(0);
    expect(m.done).toBe(true);
  });

  it('removes the usage chunk and the usage:null fields it caused, so the client sees the direct stream', () => {
    const direct = [
      chunk({ id: 'c', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }),
      chunk({ id: 'c', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] }),
      chunk({ id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      'data: [DONE]\n\n',
    ].join('');
    const withUsage = [
      chunk({
        id: 'c',
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
        usage: null,
      }),
      chunk({ id: 'c', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }], usage: null }),
      chunk({ id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }),
      chunk({ id: 'c', choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }),
      'data: [DONE]\n\n',
    ].join('');
    const m = new StreamMeter('chat.completions', true);
    let out = '';
    const buf = Buffer.from(withUsage);
    for (let i = 0; i < buf.length; i += 13) out += m.push(buf.subarray(i, i + 13), 1).toString();
    out += m.end(2);
    expect(out).toBe(direct);
    expect(m.usage).toEqual({ inputTokens: 3, outputTokens: 1, cachedInputTokens: 0, reasoningTokens: 0 });
  });

  it('keeps multi-byte characters split across chunks intact', () => {
    const m = new StreamMeter('chat.completions', true);
    const buf = Buffer.from(content('héllo → 世界'));
    let out = '';
    for (let i = 0; i < buf.length; i++) out += m.push(buf.subarray(i, i + 1), i).toString();
    expect(out).toBe(content('héllo → 世界'));
    expect(m.text).toBe('héllo → 世界');
  });

  it('marks refusals and tool calls as content', () => {
    const m = new StreamMeter('chat.completions', false);
    m.push(Buffer.from(chunk({ choices: [{ index: 0, delta: { refusal: "I can't help" } }] })), 5);
    expect(m.refusal).toBe("I can't help");
    expect(m.firstContentAt).toBe(5);
    const t = new StreamMeter('chat.completions', false);
    t.push(
      Buffer.from(chunk({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'f' } }] } }] })),
      9,
    );
    expect(t.firstContentAt).toBe(9);
  });

  it('reads completions text chunks', () => {
    const m = new StreamMeter('completions', false);
    m.push(
      Buffer.from(chunk({ object: 'text_completion', choices: [{ index: 0, text: 'abc', finish_reason: null }] })),
      1,
    );
    expect(m.text).toBe('abc');
  });

  it('reads CRLF-delimited events and multi-line data the same way', () => {
    const m = new StreamMeter('chat.completions', false);
    const events = [
      'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\r\n\r\n',
      'event: message\r\ndata: {"choices":[{"index":0,\r\ndata: "delta":{"content":"b"}}]}\r\n\r\n',
      ': keep-alive\n\n',
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
      'data: [DONE]\r\n\r\n',
    ];
    const wire = Buffer.from(events.join(''));
    for (let i = 0; i < wire.length; i += 5) m.push(wire.subarray(i, i + 5), i);
    expect(m.text).toBe('ab');
    expect(m.events).toBe(3);
    expect(m.finishReason).toBe('stop');
    expect(m.done).toBe(true);
  });
});
