import { describe, expect, it } from 'vitest';
import { JsonArrayStreamMeter, MAX_ELEMENT_CHARS } from './array-stream.js';
import { geminiStreamReader } from './index.js';

const chunk = (text: string, finish?: string, out = 1) => ({
  candidates: [
    { content: { parts: [{ text }], role: 'model' }, ...(finish ? { finishReason: finish } : {}), index: 0 },
  ],
  usageMetadata: { promptTokenCount: 7, candidatesTokenCount: out, totalTokenCount: 7 + out },
});
/** Google's framing: `[`, pretty-printed elements separated by `\r\n,\r\n`, `\r\n]`. */
const arrayOf = (elements: unknown[]) => `[${elements.map((e) => JSON.stringify(e, null, 2)).join('\r\n,\r\n')}\r\n]`;

describe('JsonArrayStreamMeter (Gemini streamGenerateContent without alt=sse)', () => {
  const tricky = 'brace } bracket ] quote " backslash \\ {"x": [1]} café 🌊';
  const elements = [chunk('Hello'), chunk(tricky, undefined, 2), chunk(' end', 'STOP', 3)];
  const whole = Buffer.from(arrayOf(elements));

  it('reads each element as it completes, whatever the byte splits, and passes the bytes on unchanged', () => {
    for (const size of [1, 2, 3, 7, 64, whole.length]) {
      const m = new JsonArrayStreamMeter(geminiStreamReader);
      let out = Buffer.alloc(0);
      let t = 0;
      for (let i = 0; i < whole.length; i += size) {
        const piece = whole.subarray(i, i + size);
        out = Buffer.concat([out, m.push(piece, ++t) as Buffer]);
      }
      expect(m.end(++t)).toBe('');
      expect(out.equals(whole)).toBe(true);
      expect(m.elements).toBe(3);
      expect(m.text.kept().text).toBe(`Hello${tricky} end`);
      expect(m.finishReason).toBe('STOP');
      expect(m.usage).toMatchObject({ inputTokens: 7, outputTokens: 3 });
      expect(m.firstContentAt).not.toBeNull();
      expect(m.failure).toBeNull();
    }
  });

  it('times content by the chunk that completes an element', () => {
    const m = new JsonArrayStreamMeter(geminiStreamReader);
    const [a, b] = [arrayOf([chunk('one')]).slice(0, -3), `\r\n,\r\n${JSON.stringify(chunk('two', 'STOP', 2))}\r\n]`];
    m.push(Buffer.from(a.slice(0, 20)), 10);
    expect(m.firstContentAt).toBeNull();
    m.push(Buffer.from(a.slice(20)), 20);
    m.push(Buffer.from(b), 35);
    expect([m.firstContentAt, m.lastContentAt]).toEqual([20, 35]);
  });

  it('reads a blocked prompt and an error element', () => {
    const m = new JsonArrayStreamMeter(geminiStreamReader);
    m.push(
      Buffer.from(arrayOf([{ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 5 } }])),
      1,
    );
    expect([m.refusal, m.finishReason, m.usage?.outputTokens]).toEqual(['SAFETY', 'SAFETY', 0]);
    const e = new JsonArrayStreamMeter(geminiStreamReader);
    e.push(Buffer.from(arrayOf([chunk('a'), { error: { code: 500, message: 'x', status: 'INTERNAL' } }])), 1);
    expect(e.error).toBe('INTERNAL');
  });

  it('reads an answer that is one JSON object instead of an array (an upstream that does not stream)', () => {
    const m = new JsonArrayStreamMeter(geminiStreamReader);
    const body = Buffer.from(JSON.stringify(chunk('Hello there', 'STOP', 2), null, 2));
    m.push(body.subarray(0, 30), 1);
    m.push(body.subarray(30), 2);
    expect(m.end(3)).toBe('');
    expect([m.elements, m.text.kept().text, m.finishReason, m.usage?.outputTokens]).toEqual([
      1,
      'Hello there',
      'STOP',
      2,
    ]);
  });

  it('passes an element longer than its bound through unread, and reads the next', () => {
    const m = new JsonArrayStreamMeter(geminiStreamReader);
    const big = arrayOf([chunk('x'.repeat(MAX_ELEMENT_CHARS + 10)), chunk('after', 'STOP')]);
    for (let i = 0; i < big.length; i += 65_536) m.push(Buffer.from(big.slice(i, i + 65_536)), 1);
    expect(m.overlong).toBe(1);
    expect(m.text.kept().text).toBe('after');
    expect(m.finishReason).toBe('STOP');
  });
});
