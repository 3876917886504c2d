// Request/response calls over a node:cluster IPC channel (a worker's `process`, or the primary's `Worker` handle),
// beside the one-way messages the channel carries. Either side may call the other: workers ask the primary to run
// the gateway hooks (virtual keys, budgets, rate limits) on the one ledger it owns; the primary asks each worker for
// its metrics. An LlmscopeError thrown by a handler arrives on the caller's side as the same LlmscopeError (code,
// message, param, headers), so a hook run in the primary refuses a call in the worker exactly as it would in one
// process.
import { deserialize, serialize } from 'node:v8';
import { ERRORS, type ErrorCode, LlmscopeError } from '../errors.js';

/** Any value (Sets, Maps, undefined included) as a string a JSON channel carries intact. */
export const pack = (v: unknown): string => serialize(v).toString('base64');
export const unpack = <T>(s: string): T => deserialize(Buffer.from(s, 'base64')) as T;

/** A thrown value as it crosses the channel. */
export interface WireError {
  message: string;
  code?: ErrorCode;
  param?: string | null;
  headers?: Record<string, string>;
  /** The call's attribution, set by the hook that then refused it (a live key refusing a model): see AttributedError. */
  attribution?: Record<string, unknown>;
}

/** A hook's refusal that carries the attribution the hook gave the call first (a live key's own refusal, QA36). */
export type AttributedError = LlmscopeError & { attribution?: Record<string, unknown> };

export interface RpcRequest {
  t: 'rpc';
  id: number;
  op: string;
  arg: unknown;
}

export interface RpcResponse {
  t: 'rpc-res';
  id: number;
  value?: unknown;
  error?: WireError;
}

export type RpcHandler = (arg: unknown) => unknown | Promise<unknown>;

export function toWire(err: unknown): WireError {
  if (err instanceof LlmscopeError)
    return {
      message: err.message,
      code: err.code,
      param: err.param,
      headers: err.headers,
      attribution: (err as AttributedError).attribution,
    };
  return { message: err instanceof Error ? err.message : String(err) };
}

export function fromWire(w: WireError): Error {
  if (w.code && w.code in ERRORS) {
    const e: AttributedError = new LlmscopeError(w.code, w.message, { param: w.param, headers: w.headers });
    if (w.attribution) e.attribution = w.attribution;
    return e;
  }
  return new Error(w.message);
}

export class RpcClosedError extends Error {}

/** The argument could not be copied for the other process (a value V8 cannot serialize, or nested past its stack). */
export class RpcPackError extends Error {}

/**
 * One side of the channel. `send` puts a message on it (false when it is gone, and only then: not node's false for a
 * message queued behind others); `receive` is given every message
 * that arrives and returns true when it was an RPC message (answered or dispatched here). Arguments and answers
 * travel packed (`pack`), so a JSON channel carries what a hook keeps in an admission (a virtual key's Set) intact.
 */
export class Rpc {
  private next = 1;
  private readonly waiting = new Map<
    number,
    { ok: (v: unknown) => void; fail: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private readonly handlers = new Map<string, RpcHandler>();

  constructor(private readonly send: (msg: RpcRequest | RpcResponse) => boolean) {}

  on(op: string, handler: RpcHandler): this {
    this.handlers.set(op, handler);
    return this;
  }

  /** Calls `op` on the other side; rejects after `timeoutMs`, or at once when the channel is closed. */
  call<T>(op: string, arg: unknown, timeoutMs: number): Promise<T> {
    const id = this.next++;
    return new Promise<T>((ok, fail) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        fail(new Error(`${op} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { ok: ok as (v: unknown) => void, fail, timer });
      let packed: string;
      try {
        packed = pack(arg);
      } catch (err) {
        clearTimeout(timer);
        this.waiting.delete(id);
        fail(new RpcPackError(`${op}: the argument cannot be copied to the other process (${(err as Error).message})`));
        return;
      }
      let sent = false;
      try {
        sent = this.send({ t: 'rpc', id, op, arg: packed });
      } catch {
        sent = false;
      }
      if (!sent) {
        clearTimeout(timer);
        this.waiting.delete(id);
        fail(new RpcClosedError(`${op}: the other process is gone`));
      }
    });
  }

  receive(msg: unknown): boolean {
    const m = msg as RpcRequest | RpcResponse | null;
    if (!m || typeof m !== 'object') return false;
    if (m.t === 'rpc-res') {
      const w = this.waiting.get(m.id);
      if (!w) return true;
      this.waiting.delete(m.id);
      clearTimeout(w.timer);
      if (m.error) w.fail(fromWire(m.error));
      else w.ok(unpack(m.value as string));
      return true;
    }
    if (m.t !== 'rpc') return false;
    const handler = this.handlers.get(m.op);
    const answer = (r: Omit<RpcResponse, 't' | 'id'>): void => {
      try {
        this.send({ t: 'rpc-res', id: m.id, ...r });
      } catch {
        /* the caller is gone: nobody waits for the answer */
      }
    };
    if (!handler) {
      answer({ error: { message: `unknown operation ${m.op}` } });
      return true;
    }
    try {
      Promise.resolve(handler(unpack(m.arg as string))).then(
        (value) => answer({ value: pack(value) }),
        (err) => answer({ error: toWire(err) }),
      );
    } catch (err) {
      answer({ error: toWire(err) });
    }
    return true;
  }

  /** Fails every call still waiting (the other side exited). */
  close(): void {
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.fail(new RpcClosedError('the other process exited before answering'));
      this.waiting.delete(id);
    }
  }
}
