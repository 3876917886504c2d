// A multipart upload relayed to the provider as it arrives, its last bytes held back until the call's admission has
// answered (decision 137): admission waits for the form's `model` field, which may come after a 25 MB file, and the
// provider must never hold a whole request that was refused. Only the closing delimiter's bytes wait, never the file.
import { Transform, type TransformCallback } from 'node:stream';

/** Bytes held back when the content type names no boundary: more than any closing delimiter RFC 2046 allows (78). */
const DEFAULT_HOLD = 128;

/**
 * How many bytes of a multipart body to hold back: its closing delimiter (CRLF, `--`, the boundary, `--`, CRLF), so
 * the provider cannot see the form end; DEFAULT_HOLD when the content type names no boundary.
 */
export function heldBytesOf(contentType: string): number {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  return boundary ? Math.max(DEFAULT_HOLD, Buffer.byteLength(`\r\n--${boundary}--\r\n`)) : DEFAULT_HOLD;
}

/**
 * Passes an upload's bytes on as they come but its last `hold`, which go once `gate` resolves (after the upload's
 * end); a gate that rejects ends the stream with its error, the held bytes never sent. Chunks of any size: a chunk
 * longer than `hold` is passed on but its end, never copied whole.
 */
export class HeldUpload extends Transform {
  private tail: Buffer = Buffer.alloc(0);

  constructor(
    private readonly hold: number,
    private readonly gate: Promise<void>,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (chunk.length >= this.hold) {
      if (this.tail.length > 0) this.push(this.tail);
      const cut = chunk.length - this.hold;
      if (cut > 0) this.push(chunk.subarray(0, cut));
      this.tail = Buffer.from(chunk.subarray(cut));
    } else {
      const all = Buffer.concat([this.tail, chunk]);
      const cut = Math.max(0, all.length - this.hold);
      if (cut > 0) this.push(all.subarray(0, cut));
      this.tail = all.subarray(cut);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.gate.then(
      () => done(null, this.tail.length > 0 ? this.tail : undefined),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
  }
}
