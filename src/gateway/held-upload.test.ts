// An upload admitted by its form's model (decision 137) reaches the provider byte for byte once admitted, and never
// whole before: its last bytes (the closing delimiter) wait for admission, and a refusal ends it without them.
import { describe, expect, it } from 'vitest';
import { LlmscopeError } from '../errors.js';
import { HeldUpload, heldBytesOf, MAX_EPILOGUE } from './held-upload.js';

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

  // Decision 159: an epilogue after the closing delimiter (RFC 2046 allows one) longer than the 128 bytes held let
  // the provider have the whole form before admission answered. Everything from the first closing delimiter on waits.
  describe('with the form boundary, everything from the closing delimiter on waits', () => {
    const epilogue = Buffer.from(`\r\n${'e'.repeat(4096)}`);
    const withEpilogue = Buffer.concat([body, epilogue]);
    const close = withEpilogue.indexOf('\r\n--XyZ--');
    const gated = () => {
      let admit = () => {};
      let refuse = (_e: Error) => {};
      const gate = new Promise<void>((r, j) => {
        admit = r;
        refuse = j;
      });
      return { gate, admit: () => admit(), refuse: (e: Error) => refuse(e) };
    };

    it('a 4 KiB epilogue: nothing from the delimiter on before admission, the same bytes after it', async () => {
      // [1]: the delimiter comes a byte at a time; [close + 3, 1]: split across two writes, then byte by byte
      for (const sizes of [[1], [7, 300], [64 * 1024], [close + 3, 1], [close + 5, 4096], [5000, 1, 2, 3]]) {
        const g = gated();
        const up = new HeldUpload(128, g.gate, 'XyZ');
        const { got, ended } = feed(up, withEpilogue, sizes);
        await tick();
        await tick();
        const before = Buffer.concat(got);
        expect(before.toString(), String(sizes)).not.toContain('--XyZ--');
        expect(before.length, String(sizes)).toBe(close);
        g.admit();
        expect(await ended).toBeNull();
        expect(Buffer.concat(got).equals(withEpilogue), String(sizes)).toBe(true);
      }
    });

    it('refused: the delimiter and the epilogue never sent', async () => {
      for (const sizes of [[1], [1000], [close + 1, 1]]) {
        const g = gated();
        const up = new HeldUpload(128, g.gate, 'XyZ');
        const { got, ended } = feed(up, withEpilogue, sizes);
        await tick();
        g.refuse(new Error('model_not_allowed'));
        expect((await ended)?.message).toBe('model_not_allowed');
        expect(Buffer.concat(got).toString(), String(sizes)).not.toContain('--XyZ--');
      }
    });

    it('only the first closing delimiter counts; a delimiter-like line in the epilogue is held with it', async () => {
      const twice = Buffer.concat([body, Buffer.from(`\r\n--XyZ--\r\n${'e'.repeat(3000)}`)]);
      const g = gated();
      const up = new HeldUpload(128, g.gate, 'XyZ');
      const { got, ended } = feed(up, twice, [100]);
      await tick();
      expect(Buffer.concat(got).length).toBe(twice.indexOf('\r\n--XyZ--'));
      g.admit();
      await ended;
      expect(Buffer.concat(got).equals(twice)).toBe(true);
    });

    it('an epilogue over MAX_EPILOGUE before admission: a 400, nothing after the delimiter sent', async () => {
      const long = Buffer.concat([body, Buffer.from(`\r\n${'e'.repeat(MAX_EPILOGUE + 10)}`)]);
      for (const sizes of [[16 * 1024], [long.length]]) {
        const g = gated();
        const up = new HeldUpload(128, g.gate, 'XyZ');
        const { got, ended } = feed(up, long, sizes);
        await tick();
        await tick();
        g.admit(); // too late: the upload ended with the 400 already
        const err = await ended;
        expect(err).toBeInstanceOf(LlmscopeError);
        expect(err).toBe(up.overflow);
        expect({ status: (err as LlmscopeError).status, code: (err as LlmscopeError).code }).toEqual({
          status: 400,
          code: 'LLMSCOPE_ERR_INVALID_BODY',
        });
        expect(Buffer.concat(got).toString()).not.toContain('--XyZ--');
      }
    });

    it('admitted before the delimiter came: what is held goes then, and the rest as it comes', async () => {
      const g = gated();
      const up = new HeldUpload(128, g.gate, 'XyZ');
      const got: Buffer[] = [];
      up.on('data', (c: Buffer) => got.push(c));
      up.write(withEpilogue.subarray(0, 1000));
      await tick();
      expect(Buffer.concat(got).length).toBe(1000 - 128);
      g.admit();
      await tick();
      expect(Buffer.concat(got).length).toBe(1000);
      up.write(withEpilogue.subarray(1000));
      await tick();
      expect(Buffer.concat(got).equals(withEpilogue)).toBe(true);
      up.end();
    });
  });
});
