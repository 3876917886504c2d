// An SSE event over MAX_EVENT_CHARS is passed on as it comes and skimmed: its JSON parsed piece by piece with long
// strings cut, so what it says besides its long strings (the usage at the end of a Responses `response.completed`
// that holds a generated image, a chat chunk's usage after a huge delta) is read, in bounded memory.
import { describe, expect, it } from 'vitest';
import { openaiResponses } from '../providers/index.js';
import { MAX_EVENT_CHARS, StreamMeter } from './sse.js';

/** `wire` pushed in socket-sized pieces; returns what was forwarded. */
function pushAll(m: StreamMeter, wire: Buffer): string {
  const out: string[] = [];
  for (let i = 0; i < wire.length; i += 65_536) out.push(String(m.push(wire.subarray(i, i + 65_536), i)));
  out.push(m.end(wire.length));
  return out.join('');
}

describe('StreamMeter: overlong events', () => {
  it('reads the usage of a Responses response.completed holding a 3 MB image, as it passes it on', () => {
    const image = 'iVBORw0KGgo'.repeat(300_000); // ~3.3 MB of base64
    const usage = { input_tokens: 1200, output_tokens: 1056, total_tokens: 2256 };
    const completed = {
      type: 'response.completed',
      response: {
        id: 'resp_1',
        status: 'completed',
        output: [{ type: 'image_generation_call', id: 'ig_1', status: 'completed', result: image }],
        usage,
      },
    };
    const wire = Buffer.from(
      `event: response.created\ndata: ${JSON.stringify({ type: 'response.created', response: { id: 'resp_1', status: 'in_progress' } })}\n\n` +
        `event: response.completed\ndata: ${JSON.stringify(completed)}\n\n`,
    );
    expect(wire.length).toBeGreaterThan(3 * MAX_EVENT_CHARS);
    const m = new StreamMeter('responses', false, openaiResponses.openaiResponsesAdapter.streamReader('responses'));
    expect(pushAll(m, wire)).toBe(wire.toString());
    expect(m.overlong).toBe(1);
    expect(m.usage).toMatchObject({ inputTokens: 1200, outputTokens: 1056 });
    expect(m.failure).toBeNull();
  });

  it("reads a chat chunk's usage after a 2 MB delta, keeping the delta's head; a broken one stays unread", () => {
    for (const filter of [false, true]) {
      const m = new StreamMeter('chat.completions', filter);
      const big = JSON.stringify({
        choices: [{ index: 0, delta: { content: 'y'.repeat(2 * MAX_EVENT_CHARS) }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 7, completion_tokens: 500_000, total_tokens: 500_007 },
      });
      const wire = Buffer.from(`data: ${big}\n\ndata: [DONE]\n\n`);
      expect(pushAll(m, wire)).toBe(wire.toString());
      expect(m.usage).toMatchObject({ inputTokens: 7, outputTokens: 500_000 });
      expect(m.finishReason).toBe('stop');
      expect(m.text.length).toBe(64 * 1024);
      expect(m.done).toBe(true);
    }
    const broken = new StreamMeter('chat.completions', false);
    const wire = Buffer.from(`data: {"choices": [${'1,'.repeat(MAX_EVENT_CHARS)}}\n\n`);
    expect(pushAll(broken, wire)).toBe(wire.toString());
    expect(broken.usage).toBeNull();
    expect(broken.overlong).toBe(1);
  });
});
