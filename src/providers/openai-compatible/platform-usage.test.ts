import { describe, expect, it } from 'vitest';
import { formModelReader, lastUsageObject, platformUsageOf } from './platform-usage.js';

describe('platform calls: usage from the end of the answer', () => {
  it('an image answer: usage after the base64; a transcript that says "usage" is text, not the key', () => {
    const image = `{"created":1,"data":[{"b64_json":"${'A'.repeat(1000)}"}],"usage":{"input_tokens":3,"input_tokens_details":{"image_tokens":0,"text_tokens":3},"output_tokens":272,"total_tokens":275}}`;
    expect(platformUsageOf('images.generations', image)?.usage).toMatchObject({ inputTokens: 3, outputTokens: 272 });
    const said = '{"text":"the \\"usage\\": {\\"input_tokens\\": 99} was read aloud"}';
    expect(lastUsageObject(said)).toBeNull();
    const t = `{"text":"the \\"usage\\": {} \\"}","usage":{"type":"tokens","input_tokens":9,"input_token_details":{"audio_tokens":7,"text_tokens":2},"output_tokens":4,"total_tokens":13}}`;
    expect(platformUsageOf('audio.transcriptions', t)).toEqual({
      usage: {
        inputTokens: 9,
        outputTokens: 4,
        cachedInputTokens: 0,
        reasoningTokens: null,
        cacheWriteInputTokens: null,
      },
      audioInputTokens: 7,
    });
  });

  it('whisper-1 (duration), DALL·E (none) and speech report no tokens', () => {
    expect(platformUsageOf('audio.transcriptions', '{"text":"hi","usage":{"type":"duration","seconds":3}}')).toBeNull();
    expect(platformUsageOf('images.generations', '{"created":1,"data":[{"url":"https://x"}]}')).toBeNull();
    expect(platformUsageOf('audio.speech', '{"usage":{"input_tokens":1,"output_tokens":1}}')).toBeNull();
  });

  it('the multipart model field, split across chunks anywhere', () => {
    const body = Buffer.from(
      '--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF....\r\n' +
        '--b\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o-transcribe\r\n--b--\r\n',
    );
    for (let cut = 1; cut < body.length; cut++) {
      const read = formModelReader();
      const got = [read(body.subarray(0, cut)), read(body.subarray(cut))].filter((x) => x !== null);
      expect(got, `cut at ${cut}`).toEqual(['gpt-4o-transcribe']);
    }
    const none = formModelReader();
    expect(none(Buffer.from('--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nxx\r\n--b--\r\n'))).toBeNull();
  });
});
