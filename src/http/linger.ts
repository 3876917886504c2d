// Closing a connection whose client may still be sending (a body refused before its end): nginx's lingering close.
// Closing a TCP socket with unread data in its receive buffer sends a reset, and a reset can make the client's kernel
// discard the answer it had received but not read yet: the client sees ECONNRESET instead of the 413 or 415. So the
// answer is sent, the write side shut (FIN), and what still comes is read and dropped until the client closes, or a
// bound is passed; only then is the socket destroyed.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long a lingering close lasts and what it reads at most, per connection. */
export interface LingerBounds {
  /** At most this long in all (nginx's lingering_time: 30 s). */
  ms: number;
  /** Closed once nothing has come for this long (nginx's lingering_timeout: 5 s). */
  idleMs: number;
  /** Closed once this many bytes have been read and dropped: a client that never stops sending is cut. */
  bytes: number;
}

/**
 * The defaults: nginx's times, and 128 MiB (a client that sends a body of a few times the limit before it reads,
 * as blocking clients do, gets its answer; one that keeps sending is cut after that much, at loopback speed well
 * under a second of reads of 64 KiB, none holding the event loop long).
 */
export const LINGER: LingerBounds = { ms: 30_000, idleMs: 5_000, bytes: 128 * 1024 * 1024 };

const LINGERING = Symbol('llmscope.lingering');
type Lingered = Socket & { [LINGERING]?: true; parser?: unknown; destroySoon?: () => void };

/** Whether `socket` is in a lingering close (its end is lingeringClose's to decide). */
export function isLingering(socket: unknown): boolean {
  return (socket as Lingered)[LINGERING] === true;
}

/**
 * Half-closes `socket` (its pending writes, then FIN) and reads and drops whatever still comes, off node's HTTP parser
 * (no request after it is served), until the client closes its side, `bounds.idleMs` passes with nothing, or
 * `bounds.ms` or `bounds.bytes` is passed; then destroys it. Once per connection: a second call does nothing. The
 * request's answer has been handed to the socket before (its `finish`); no concurrency slot is held (the gateway's are
 * released at the answer's end), only the socket.
 */
export function lingeringClose(socket: Socket, bounds: LingerBounds = LINGER): void {
  const s = socket as Lingered;
  if (s[LINGERING] || s.destroyed) return;
  s[LINGERING] = true;
  let read = 0;
  const cut = () => s.destroy();
  const total = setTimeout(cut, bounds.ms);
  const idle = setTimeout(cut, bounds.idleMs);
  total.unref();
  idle.unref();
  const drop = (c: Buffer) => {
    read += c.length;
    if (read > bounds.bytes) cut();
    else idle.refresh();
  };
  // Adding a 'data' listener takes the socket back from node's parser (as an upgrade does); node's own listener,
  // which would parse what comes as a body or a next request, is removed.
  s.on('data', drop);
  for (const l of s.listeners('data')) if (l !== drop) s.removeListener('data', l as (c: Buffer) => void);
  s.once('close', () => {
    clearTimeout(total);
    clearTimeout(idle);
  });
  // The client's FIN: all it sent has been read, so closing now resets nothing (the socket closes itself once its
  // own writes are out; `total` bounds a client that never reads them).
  s.end();
  s.resume();
  // node's parser may have stopped the socket's reads (a request body read slower than it came: its 'pause' listener,
  // gone with the parser, was what started them again), and the stream still counts a read as pending, so resume()
  // alone reads nothing: start them as node's own onSocketResume does.
  const handle = (s as unknown as { _handle?: { reading?: boolean; readStart?: () => number } })._handle;
  if (handle && handle.reading === false && typeof handle.readStart === 'function') {
    handle.reading = true;
    handle.readStart();
  }
}

/**
 * Makes node's own close of `req`'s connection after an answer that says `connection: close` (res._last: it calls
 * the socket's destroySoon, which destroys once the answer is written) a lingering close while `req`'s body is not
 * all read, so that a client still sending it gets its answer rather than a reset.
 */
export function lingerOnClose(req: IncomingMessage, bounds: LingerBounds = LINGER): void {
  const s = req.socket as Lingered | null;
  if (!s || typeof s.destroySoon !== 'function') return;
  const destroySoon = s.destroySoon;
  s.destroySoon = function (this: Lingered) {
    if (req.complete) destroySoon.call(this);
    else lingeringClose(this, bounds);
  };
}
