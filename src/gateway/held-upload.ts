// A multipart upload relayed to the provider as it arrives, its last bytes held back until the call's admission has
// answered (decision 137): admission waits for the form's `model` field, which may come after a 25 MB file, and the
// provider must never hold a whole request that was refused. Only the closing delimiter's bytes wait, never the file;
// and everything from the form's first closing delimiter on (decision 159): an epilogue after it (RFC 2046 allows one,
// parsers ignore it) longer than the bytes held would otherwise have let the provider see the form end.
import { Transform, type TransformCallback } from 'node:stream';
import { LlmscopeError } from '../errors.js';

/** Bytes held back when the content type names no boundary: more than any closing delimiter RFC 2046 allows (78). */
const DEFAULT_HOLD = 128;

/** The most bytes an upload may send after its closing delimiter while held (decision 159): more is refused, 400. */
export const MAX_EPILOGUE = 64 * 1024;

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
 * Passes an upload's bytes on as they come but its last `hold` or, with the form's `boundary`, once its first closing
 * delimiter (`\r\n--boundary--`, found across chunks) has come, everything from it on; what is held goes once `gate` resolves, and
 * from then on bytes pass as they come. A gate that rejects ends the stream with its error, the held bytes never sent.
 * More than MAX_EPILOGUE bytes after the closing delimiter before the gate opens ends it with a 400 (`overflow`),
 * nothing after the delimiter sent. Chunks of any size: a chunk longer than `hold` is passed on but its end, never
 * copied whole.
 */
export class HeldUpload extends Transform {
  private tail: Buffer = Buffer.alloc(0);
  /** The closing delimiter searched for; null once found, or with no boundary. */
  private readonly close: Buffer | null;
  private closeSeen = false;
  /** Once the delimiter is seen: what came after `tail` (all held), and how much of the epilogue came. */
  private rest: Buffer[] = [];
  private epilogue = 0;
  private opened = false;
  private flushing = false;
  /** The 400 this upload was ended with for an epilogue over MAX_EPILOGUE, if it was. */
  overflow: LlmscopeError | null = null;

  constructor(
    private readonly hold: number,
    private readonly gate: Promise<void>,
    boundary: string | null = null,
    private readonly maxEpilogue = MAX_EPILOGUE,
  ) {
    super();
    this.close = boundary ? Buffer.from(`\r\n--${boundary}--`) : null;
    // Admitted: what is held goes now, not at the upload's end, and the rest as it comes.
    gate.then(
      () => {
        this.opened = true;
        if (this.flushing || this.destroyed) return;
        this.release();
      },
      () => {},
    );
  }

  private release(): void {
    if (this.tail.length > 0) this.push(this.tail);
    for (const b of this.rest) this.push(b);
    this.tail = Buffer.alloc(0);
    this.rest = [];
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.opened) {
      done(null, chunk);
      return;
    }
    if (this.closeSeen) {
      this.rest.push(chunk);
      this.epilogue += chunk.length;
      done(this.epilogue > this.maxEpilogue ? this.overflowed() : null);
      return;
    }
    const at = this.close === null ? -1 : this.closeAt(chunk);
    if (at >= 0) {
      // From the delimiter on waits for admission; the bytes before it (held while it had not come) go: the form's
      // last part, which does not end without the delimiter.
      const close = this.close as Buffer;
      this.closeSeen = true;
      this.epilogue = this.tail.length + chunk.length - (at + close.length);
      const cut = at;
      if (cut <= this.tail.length) {
        if (cut > 0) this.push(this.tail.subarray(0, cut));
        this.tail = this.tail.subarray(cut);
        this.rest = [chunk];
      } else {
        if (this.tail.length > 0) this.push(this.tail);
        this.push(chunk.subarray(0, cut - this.tail.length));
        this.tail = Buffer.from(chunk.subarray(cut - this.tail.length));
      }
      done(this.epilogue > this.maxEpilogue ? this.overflowed() : null);
      return;
    }
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

  /**
   * Where the closing delimiter starts in `tail` + `chunk` (-1: not there). `tail` was searched already, so only a
   * delimiter that ends in `chunk` is new: one across the two (the tail's last bytes and the chunk's first), or in it.
   */
  private closeAt(chunk: Buffer): number {
    const close = this.close as Buffer;
    const from = Math.max(0, this.tail.length - (close.length - 1));
    if (from < this.tail.length) {
      const probe = Buffer.concat([this.tail.subarray(from), chunk.subarray(0, close.length - 1)]);
      const i = probe.indexOf(close);
      if (i >= 0) return from + i;
    }
    const i = chunk.indexOf(close);
    return i >= 0 ? this.tail.length + i : -1;
  }

  private overflowed(): LlmscopeError {
    this.overflow = new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_BODY',
      `the multipart form sent more than ${this.maxEpilogue} bytes after its closing delimiter (an epilogue); ` +
        'send none, or less',
    );
    this.tail = Buffer.alloc(0);
    this.rest = [];
    return this.overflow;
  }

  override _flush(done: TransformCallback): void {
    this.flushing = true;
    this.gate.then(
      () => {
        if (!this.opened) this.opened = true;
        this.release();
        done();
      },
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
  }
}
