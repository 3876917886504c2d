import { describe, expect, it } from 'vitest';
import {
  formFieldReader,
  formModelReader,
  lastUsageObject,
  multipartBoundary,
  platformUsageOf,
} from './platform-usage.js';

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

describe('formFieldReader with the form boundary', () => {
  const B = '----formdata-undici-0123456789';
  const part = (headers: string, body: string) => `--${B}\r\n${headers}\r\n\r\n${body}\r\n`;
  // A file whose bytes spell a model part (any file can: an image's text chunk, a WAV's list chunk) before the real
  // model field; and a file named "model" (its filename="model" holds name="model").
  const spoof = Buffer.from(
    part(
      'Content-Disposition: form-data; name="file"; filename="model"\r\nContent-Type: audio/wav',
      'RIFF..\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o-mini\r\n..--x',
    ) +
      part('Content-Disposition: form-data; name="model"', 'whisper-1') +
      part('Content-Disposition: form-data; name="n"', '10') +
      `--${B}--\r\n`,
  );

  it("reads a part's field, never the file's bytes, split at every byte", () => {
    for (const f of [
      ['model', 'whisper-1'],
      ['n', '10'],
    ] as const) {
      // fails without the boundary: gpt-4o-mini (the file's bytes) and the first line of the file named "model"
      expect(formFieldReader(f[0], multipartBoundary(`multipart/form-data; boundary=${B}`))(spoof), f[0]).toBe(f[1]);
      for (let cut = 1; cut < spoof.length; cut++) {
        const read = formFieldReader(f[0], B);
        const got = read(spoof.subarray(0, cut)) ?? read(spoof.subarray(cut));
        expect(got, `${f[0]} cut at ${cut}`).toBe(f[1]);
      }
    }
  });

  it('reads the form as before when the model comes first, and knows a quoted boundary', () => {
    const body = Buffer.from(
      part('Content-Disposition: form-data; name="model"', 'dall-e-2') +
        part('Content-Disposition: form-data; name="image"; filename="a.png"', 'PNG') +
        `--${B}--\r\n`,
    );
    expect(multipartBoundary(`multipart/form-data; boundary="${B}"`)).toBe(B);
    expect(formFieldReader('model', B)(body)).toBe('dall-e-2');
    expect(formFieldReader('size', B)(body)).toBeNull();
  });
});
