// A Realtime audio answer cut by the client's close (QA39; QA34 left Realtime audio pricing unchecked, and a cut
// response's audio count was unit-tested only: the simulator streamed no audio). The simulator now streams the audio its
// usage counts (silence, PCM16 24 kHz, 50 ms a token) after each text delta, so the relay's count of a cut answer's
// audio, from its deltas' bytes at OpenAI's 1 output audio token per 50 ms, is checked end to end, priced at the
// catalog's gpt-realtime audio rate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { costOf, createCostModule } from '../../src/cost/index.js';
import { AUDIO_TOKENS_PER_TEXT_TOKEN } from '../../src/simulator/realtime.js';
import { type Stack, startStack } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  // the second token 5 s after the first: the client's close reaches the relay before it
  stack = await startStack({
    sim: { ttftMs: 2, tpotMs: 5000, outputTokens: 8 },
    config: { gpu: { collector: 'none' } },
    app: { modules: [createCostModule] },
  });
});
afterAll(async () => {
  await stack?.close();
});

describe('Realtime: an audio answer the client cuts', () => {
  it('counts the audio its deltas carried as output audio tokens, priced at the audio rate', async () => {
    const ws = new WebSocket(`${stack.base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`);
    const types: string[] = [];
    await new Promise((ok, no) => {
      ws.once('open', ok);
      ws.once('error', no);
    });
    const closed = new Promise((r) => ws.once('close', r));
    ws.on('message', (d) => {
      const e = JSON.parse(String(d)) as { type: string };
      types.push(e.type);
      // the first audio delta: the client hangs up
      if (e.type === 'response.output_audio.delta') ws.close();
    });
    ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', output_modalities: ['audio'] } }));
    ws.send(
      JSON.stringify({
        type: 'conversation.item.create',
        item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Say something.' }] },
      }),
    );
    ws.send(JSON.stringify({ type: 'response.create' }));
    await closed;
    // before: the simulator sent no audio delta
    expect(types).toContain('response.output_audio.delta');
    const [call] = await stack.waitForCalls(1);
    expect(call).toMatchObject({ status: 'cancelled', httpStatus: 499, errorType: 'client_closed_request' });
    const audio = call?.events.find((e) => e.name === 'realtime.audio_tokens')?.attributes
      ?.output_audio_tokens as number;
    const text = (call?.outputTokens as number) - audio;
    // one text token streamed, and its audio: 6 tokens of 50 ms
    expect(text).toBe(1);
    expect(audio).toBe(AUDIO_TOKENS_PER_TEXT_TOKEN);
    const input = call?.inputTokens as number;
    expect(input).toBeGreaterThan(0);
    // the catalog's gpt-realtime: $4 / $16 per 1M text in / out, $64 per 1M audio out
    expect(call?.costUsd).toBe(
      costOf(
        { input, cachedInput: 0, output: text + audio, audioOutput: audio },
        {
          input: 4,
          cachedInput: 0.4,
          output: 16,
          cacheWrite: null,
          audioInput: 32,
          cachedAudioInput: 0.4,
          audioOutput: 64,
        },
      ),
    );
  });
});
