// The pieces of `serve --workers` that need no process tree: the RPC over a channel (answers, coded errors, a peer
// that is gone), calls and admissions as they cross the JSON channel (a virtual key's Set intact), and the primary's
// run of the hooks for a worker. The process tree itself is test/e2e/workers.test.ts.
import { describe, expect, it } from 'vitest';
import { type LlmCall, Recorder } from '../calls/index.js';
import { fakeCall } from '../cost/testing.js';
import { LlmscopeError } from '../errors.js';
import type { Admission, GatewayHook } from '../gateway/proxy.js';
import { RESTART_REASONS, restartReason, takeBatch, workerCount, workerExecArgv } from './primary.js';
import { Rpc, RpcClosedError } from './rpc.js';
import {
  ADMISSION_TICKET,
  type AdmissionSnapshot,
  fromWire,
  jsonSafe,
  remoteHook,
  runHooksFor,
  settleFor,
  toWire,
  type WireCall,
} from './worker.js';

/** Two Rpc ends joined by a JSON channel, as node:cluster's IPC with serialization 'json'. */
function pair(): [Rpc, Rpc, () => void] {
  let open = true;
  const channel = (to: () => Rpc) => (m: unknown) => {
    if (!open) return false;
    setImmediate(() => to().receive(JSON.parse(JSON.stringify(m))));
    return true;
  };
  const a: Rpc = new Rpc(channel(() => b));
  const b: Rpc = new Rpc(channel(() => a));
  return [
    a,
    b,
    () => {
      open = false;
    },
  ];
}

describe('Rpc', () => {
  it('answers a call, and an LlmscopeError arrives as the same coded error with its headers', async () => {
    const [worker, primary] = pair();
    primary.on('double', (n) => (n as number) * 2);
    primary.on('refuse', () => {
      throw new LlmscopeError('LLMSCOPE_ERR_BUDGET_EXCEEDED', 'budget "b" is used up', {
        headers: { 'retry-after': '7' },
      });
    });
    expect(await worker.call('double', 21, 1000)).toBe(42);
    const err = await worker.call('refuse', null, 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmscopeError);
    expect(err).toMatchObject({ code: 'LLMSCOPE_ERR_BUDGET_EXCEEDED', status: 429, headers: { 'retry-after': '7' } });
    await expect(worker.call('nope', null, 1000)).rejects.toThrow('unknown operation nope');
  });

  it('fails at once when the other side is gone, after the timeout when it does not answer, and on close', async () => {
    const [worker, primary, cut] = pair();
    primary.on('slow', () => new Promise(() => {}));
    await expect(worker.call('slow', null, 50)).rejects.toThrow('no answer within 50 ms');
    const waiting = worker.call('slow', null, 5000);
    worker.close();
    await expect(waiting).rejects.toBeInstanceOf(RpcClosedError);
    cut();
    await expect(worker.call('slow', null, 5000)).rejects.toBeInstanceOf(RpcClosedError);
  });
});

describe('calls and admissions on the JSON channel', () => {
  const key = { id: 'k1', trustHeaders: new Set(['x-llmscope-feature']) };

  it('a call keeps what the hooks kept on it, Sets included; a call without hooks goes as it is', () => {
    const call = fakeCall({ requestId: 'r1' });
    call.internal = { ...(call.internal ?? {}), hooks: { virtualKey: key, n: 1 } } as typeof call.internal;
    const wire = JSON.parse(JSON.stringify(toWire(call))) as WireCall;
    expect(call.internal?.hooks).toBeDefined();
    const back = fromWire(wire);
    expect(back.requestId).toBe('r1');
    expect((back.internal?.hooks?.virtualKey as typeof key | undefined)?.trustHeaders).toEqual(
      new Set(['x-llmscope-feature']),
    );
    const plain = fakeCall({ requestId: 'r2' });
    expect(toWire(plain)).toBe(plain);
  });

  it('hooks JSON carries intact go as they are; anything else (NaN, undefined, a Map) goes packed', () => {
    const text = { prompt: 'p', output: 'o', evaluators: ['grounding'], n: 2, ok: true, none: null };
    const call = fakeCall({ requestId: 'r3' });
    call.internal = { ...(call.internal ?? {}), hooks: { 'quality.text': text } } as typeof call.internal;
    expect(toWire(call)).toBe(call);
    expect(jsonSafe({ a: [1, 'x', { b: null }] })).toBe(true);
    for (const bad of [{ a: Number.NaN }, { a: undefined }, { a: new Map() }, [new Date(0)], { a: 1n }]) {
      expect(jsonSafe(bad)).toBe(false);
      const c = fakeCall({});
      c.internal = { ...(c.internal ?? {}), hooks: { x: bad } } as typeof c.internal;
      const back = fromWire(JSON.parse(JSON.stringify(toWire(c))) as WireCall);
      expect(back.internal?.hooks?.x).toEqual(bad);
    }
  });

  it("the primary runs every hook's phase in order and returns what they changed, not the request", async () => {
    const order: string[] = [];
    const hooks: GatewayHook[] = [
      {
        name: 'keys',
        authenticate(a) {
          order.push('keys');
          a.attribution.user = 'ann';
          a.forwardClientAuth = false;
          a.state.virtualKey = key;
        },
      },
      {
        name: 'limits',
        authenticate(a) {
          order.push('limits');
          a.responseHeaders = { 'x-ratelimit-remaining-requests': '9' };
        },
        admit() {
          throw new Error('not this phase');
        },
      },
    ];
    const snapshot: AdmissionSnapshot = {
      requestId: 'r',
      endpoint: 'chat.completions',
      model: 'm',
      provider: 'p',
      body: { messages: [] },
      headers: { authorization: 'Bearer lsk_x' },
      attribution: { user: null, team: null, feature: null, session: null, apiKeyId: null },
      forwardClientAuth: true,
      state: {},
    };
    const changed = await runHooksFor(hooks, 'authenticate', snapshot);
    expect(order).toEqual(['keys', 'limits']);
    expect(changed).toEqual({
      attribution: { user: 'ann', team: null, feature: null, session: null, apiKeyId: null },
      forwardClientAuth: false,
      state: { virtualKey: key },
      responseHeaders: { 'x-ratelimit-remaining-requests': '9' },
    });
    await expect(runHooksFor(hooks, 'admit', snapshot)).rejects.toThrow('not this phase');
  });

  it('settles a worker’s call with the state its admission left, once per hook', () => {
    const seen: Admission[] = [];
    const call = fakeCall({ user: 'ann' });
    call.internal = { ...(call.internal ?? {}), hooks: { budget: 1 } } as typeof call.internal;
    settleFor([{ name: 'budgets', settle: (a) => void seen.push(a) }], call);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.state).toBe(call.internal?.hooks);
    expect(seen[0]?.attribution.user).toBe('ann');
    settleFor([{ name: 'budgets', settle: (a) => void seen.push(a) }], fakeCall({}));
    expect(seen).toHaveLength(1);
  });
});

describe('an admission the worker stops waiting for', () => {
  it('is refused 503 in the worker, and the primary is told which one, so what it reserves is not held', async () => {
    const [worker, primary] = pair();
    const abandoned: unknown[] = [];
    const asked: AdmissionSnapshot[] = [];
    primary.on('hooks.admit', (a) => {
      asked.push(a as AdmissionSnapshot);
      return new Promise(() => {});
    });
    primary.on('hooks.abandon', (ticket) => void abandoned.push(ticket));
    const hook = remoteHook(worker, { authenticate: false, admit: true }, 30);
    const a = {
      requestId: 'slow',
      endpoint: 'chat.completions',
      model: 'm',
      provider: 'p',
      body: {},
      headers: {},
      attribution: { user: null, team: null, feature: null, session: null, apiKeyId: null },
      forwardClientAuth: true,
      state: {},
    } as Admission;
    await expect(hook.admit?.(a)).rejects.toMatchObject({ code: 'LLMSCOPE_ERR_OVERLOADED' });
    const ticket = a.state[ADMISSION_TICKET];
    expect(typeof ticket).toBe('number');
    expect(asked[0]?.state[ADMISSION_TICKET]).toBe(ticket);
    await new Promise((r) => setTimeout(r, 10));
    expect(abandoned).toEqual([ticket]);
  });
});

describe('the hand-off from a worker', () => {
  it('takes a batch at once while the lossless lanes have room, else once they do, dropping nothing', async () => {
    const dropped: string[] = [];
    const recorder = new Recorder({ capacity: 300, onDrop: (sink, n) => dropped.push(`${sink} ${n}`) });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const written: LlmCall[] = [];
    recorder.addSink({
      name: 'store',
      lossless: true,
      maxBatch: 100,
      write: (b) => gate.then(() => void written.push(...b)),
    });
    const take = (n: number) =>
      takeBatch(recorder, n, () => {
        for (let i = 0; i < n; i++) recorder.record(fakeCall());
      });
    expect(take(200)).toBe(true);
    await new Promise((r) => setImmediate(r));
    // 100 being written and 100 queued in a lane of 300: a batch of 250 more waits for the write
    const second = take(250);
    expect(second).not.toBe(true);
    let done = false;
    void (second as Promise<void>).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(done).toBe(false);
    release();
    await second;
    await recorder.flush();
    expect(written).toHaveLength(450);
    expect(dropped).toEqual([]);
  });
});

describe('the calls a worker drops at its hand-off', () => {
  it('are handed to onDrop: the calls past a full lane, a failed batch, those left at close', async () => {
    const dropped: { reason: string; ids: string[] }[] = [];
    const recorder = new Recorder({
      capacity: 2,
      onDrop: (_sink, n, reason, calls) => {
        expect(calls).toHaveLength(n);
        dropped.push({ reason, ids: calls.map((c) => c.requestId) });
      },
    });
    let fail: (err: Error) => void = () => {};
    recorder.addSink({
      name: 'primary',
      maxBatch: 1,
      write: () =>
        new Promise<void>((_ok, no) => {
          fail = no;
        }),
    });
    for (const id of ['a', 'b', 'c', 'd']) recorder.record(fakeCall({ requestId: id }));
    await new Promise((r) => setImmediate(r));
    // a and b fit in the lane (a is being written): c and d do not.
    expect(dropped).toEqual([{ reason: 'queue_full', ids: ['c', 'd'] }]);
    fail(new Error('not taken'));
    await new Promise((r) => setImmediate(r));
    expect(dropped[1]).toEqual({ reason: 'sink_error', ids: ['a'] });
    // b is being written now; e waits behind it, and is left when the recorder closes.
    recorder.record(fakeCall({ requestId: 'e' }));
    await new Promise((r) => setImmediate(r));
    await recorder.close(10);
    expect(dropped[2]).toEqual({ reason: 'shutdown', ids: ['e'] });
  });
});

describe('workerCount', () => {
  it('auto is one per core less one for the recorder, never below 1', () => {
    expect(workerCount('auto', 16)).toBe(15);
    expect(workerCount('auto', 2)).toBe(1);
    expect(workerCount('auto', 1)).toBe(1);
    expect(workerCount(4, 16)).toBe(4);
  });
});

describe('workerExecArgv', () => {
  it('gives workers 64 MB semi-spaces unless the primary flags or NODE_OPTIONS already size them', () => {
    expect(workerExecArgv([])).toEqual(['--max-semi-space-size=64']);
    expect(workerExecArgv(['--import', 'tsx'], '--enable-source-maps')).toEqual([
      '--import',
      'tsx',
      '--max-semi-space-size=64',
    ]);
    expect(workerExecArgv(['--max-semi-space-size=16'])).toEqual(['--max-semi-space-size=16']);
    expect(workerExecArgv(['--max_semi_space_size=32'])).toEqual(['--max_semi_space_size=32']);
    expect(workerExecArgv([], '--max-old-space-size=4096 --max-semi-space-size=8')).toEqual([]);
    expect(workerExecArgv([], '--max-semi-space-sizes')).toEqual(['--max-semi-space-size=64']);
  });
});

describe('restartReason: why a worker is started again (llmscope_worker_restarts_total{reason})', () => {
  it('names a kill by the recorder, a failed start, a clean stop and a crash apart', () => {
    const served = { listening: true, killedFor: null };
    expect(restartReason(served, 0, null)).toBe('stopped');
    expect(restartReason(served, 1, null)).toBe('crashed');
    expect(restartReason(served, null, 'SIGKILL')).toBe('crashed');
    expect(restartReason({ listening: false, killedFor: null }, 1, null)).toBe('start_failed');
    expect(restartReason({ listening: false, killedFor: null }, 0, null)).toBe('start_failed');
    expect(restartReason({ listening: false, killedFor: 'start_timeout' }, null, 'SIGKILL')).toBe('start_timeout');
    expect(restartReason({ listening: true, killedFor: 'unresponsive' }, null, 'SIGKILL')).toBe('unresponsive');
    expect(RESTART_REASONS).toEqual(['crashed', 'stopped', 'start_failed', 'start_timeout', 'unresponsive']);
  });
});
