// Chat completions with audio output (modalities ["text", "audio"], gpt-4o-audio-preview, gpt-audio): the stream's
// deltas carry `audio` (data and transcript) and never `content`, so the first of them is the first content, and the
// transcript is the answer's text; a non-streamed answer's text is its message's audio transcript.
import { describe, expect, it } from 'vitest';
import { chunkInfo, fastChunkInfo, responseInfo } from './index.js';

const chunk = (delta: unknown, finish: string | null = null) =>
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-audio-preview',
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
const read = (data: string) =>
  fastChunkInfo(data, 'chat.completions') ?? chunkInfo(JSON.parse(data), 'chat.completions');

describe('chat completions: audio output', () => {
  it('a delta with audio is content (TTFT and TPOT are measured from it), its transcript the text', () => {
    expect(read(chunk({ audio: { id: 'audio_1', transcript: 'Hello' } }))).toMatchObject({
      content: true,
      text: 'Hello',
    });
    expect(read(chunk({ audio: { data: 'UklGRg==' } }))).toMatchObject({ content: true, text: '' });
    expect(read(chunk({ audio: { expires_at: 1, data: 'AAAA', transcript: ' there' } }, 'stop'))).toMatchObject({
      content: true,
      text: ' there',
      finishReason: 'stop',
    });
    // the opening delta (role, content null) and an audio delta with nothing in it are not
    expect(read(chunk({ role: 'assistant', content: null, refusal: null })).content).toBe(false);
    expect(read(chunk({ audio: { id: 'audio_1' } })).content).toBe(false);
  });

  it("a non-streamed answer's text is the audio's transcript", () => {
    const info = responseInfo(
      {
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: null, audio: { id: 'audio_1', data: 'AAAA', transcript: 'Hi!' } },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 40 },
      },
      'chat.completions',
    );
    expect(info.text).toBe('Hi!');
  });
});
