// An upload admitted by its form's model (decision 137) reaches the provider byte for byte once admitted, and never
// whole before: its last bytes (the closing delimiter) wait for admission, and a refusal ends it without them.
import { describe, expect, it } from 'vitest';
import { HeldUpload, heldBytesOf } from './held-upload.js';

/** Writes `body` in chunks of the given sizes (cycled) and collects what passes, until the stream ends or fails. */
function feed(up: HeldUpload, body: Buffer, sizes: number[]): { got: Buffer[]; ended: Promise<Error | null> } {
  const got: Buffer[] = [];
  up.on('data', (c: Buffer) => got.push(c));
  const ended = new Promise<Error | null>((resolve) => {
    up.once('end', () => resolve(null));
    up.once('error', (e) => resolve(e));
  });
  let at = 0;
  let i = 0;
  while (at < body.length) {
    const n = sizes[i++ % sizes.length] as number;
    up.write(body.subarray(at, at + n));
    at += n;
  }
  up.end();
  return { got, ended };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('HeldUpload', () => {
  const body = Buffer.from(
    `--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n${'x'.repeat(5000)}\r\n` +
      '--XyZ\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--XyZ--\r\n',
  );

  it('passes everything but the held end at once, and the end once admitted: the same bytes', async () => {
    for (const sizes of [[1], [7, 300], [64 * 1024], [5000, 1, 2, 3], [127, 128, 129]]) {
      let admit = () => {};
      const gate = new Promise<void>((r) => {
        admit = r;
      });
      const up = new HeldUpload(128, gate);
      const { got, ended } = feed(up, body, sizes);
      await tick();
      await tick();
      const before = Buffer.concat(got);
      expect(before.length, String(sizes)).toBe(body.length - 128);
      expect(before.toString()).not.toContain('--XyZ--');
      admit();
      expect(await ended).toBeNull();
      expect(Buffer.concat(got).equals(body), String(sizes)).toBe(true);
    }
  });

  it('a refusal ends the stream with its error, the held end never sent', async () => {
    let refuse = (_e: Error) => {};
    const gate = new Promise<void>((_, reject) => {
      refuse = reject;
    });
    const up = new HeldUpload(128, gate);
    const { got, ended } = feed(up, body, [1000]);
    await tick();
    refuse(new Error('model_not_allowed'));
    expect((await ended)?.message).toBe('model_not_allowed');
    expect(Buffer.concat(got).length).toBe(body.length - 128);
  });

  it('a body shorter than the held bytes waits whole', async () => {
    let admit = () => {};
    const gate = new Promise<void>((r) => {
      admit = r;
    });
    const up = new HeldUpload(128, gate);
    const { got, ended } = feed(up, Buffer.from('--a--\r\n'), [3]);
    await tick();
    expect(got.length).toBe(0);
    admit();
    await ended;
    expect(Buffer.concat(got).toString()).toBe('--a--\r\n');
  });

  it('holds at least the closing delimiter of the boundary the content type names', () => {
    expect(heldBytesOf('multipart/form-data; boundary=XyZ')).toBe(128);
    const long = 'b'.repeat(200);
    expect(heldBytesOf(`multipart/form-data; boundary="${long}"`)).toBe(200 + 8);
    expect(heldBytesOf('multipart/form-data')).toBe(128);
  });
});
