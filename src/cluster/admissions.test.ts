// The recorder's record of a worker's admissions: one per call across both phases, gone when its call comes back,
// settled as a call that spent nothing when the worker dies first.
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import type { Admission, GatewayHook } from '../gateway/proxy.js';
import { ADMISSION_ID, WorkerAdmissions } from './admissions.js';
import { ADMISSION_TICKET, type AdmissionSnapshot, settleFor } from './worker.js';

/** A ledger hook: reserves 1 at admit, and notes each settlement (request id, cost, whether it reached upstream). */
function ledger() {
  const settled: { id: string; cost: number | null; reached: boolean; user: string | null }[] = [];
  let reserved = 0;
  const hook: GatewayHook = {
    name: 'ledger',
    authenticate(a: Admission) {
      a.attribution.user = 'from-key';
    },
    admit(a: Admission) {
      reserved++;
      a.state.ledger = { open: true };
    },
    settle(a: Admission, call: LlmCall) {
      const s = a.state.ledger as { open: boolean } | undefined;
      if (!s?.open) return;
      s.open = false;
      reserved--;
      settled.push({
        id: call.requestId,
        cost: call.costUsd,
        reached: call.internal?.upstreamStartAt != null,
        user: call.user,
      });
    },
  };
  return { hook, settled, reserved: () => reserved };
}

const snapshot = (requestId: string, state: Record<string, unknown> = {}): AdmissionSnapshot => ({
  requestId,
  endpoint: 'chat.completions',
  model: 'gpt-4o-mini',
  provider: 'openai',
  body: { messages: [] },
  headers: {},
  attribution: { user: null, team: null, feature: 'f', session: null, apiKeyId: null },
  forwardClientAuth: true,
  state,
});

/** The worker's side: what it sends back for the second phase, and its finished call. */
const roundTrip = <T>(v: T): T => JSON.parse(JSON.stringify(v));

describe('WorkerAdmissions', () => {
  it('keeps one admission per call across both phases, and forgets it when its call comes back', async () => {
    const l = ledger();
    const adm = new WorkerAdmissions([l.hook]);
    const first = roundTrip(await adm.run('authenticate', snapshot('a')));
    expect(typeof (first.state as Record<string, unknown>)[ADMISSION_ID]).toBe('number');
    const second = roundTrip(await adm.run('admit', snapshot('a', first.state as Record<string, unknown>))) as Record<
      string,
      unknown
    >;
    expect(adm.size).toBe(1);
    const call = { requestId: 'a', internal: { hooks: second.state } } as unknown as LlmCall;
    adm.returned(call);
    expect(adm.size).toBe(0);
    expect(adm.release()).toBe(0);
    expect(l.settled).toEqual([]);
  });

  it('settles the admissions whose calls never came back as cut before any answer, spending nothing', async () => {
    const l = ledger();
    const adm = new WorkerAdmissions([l.hook]);
    for (const id of ['x', 'y', 'z']) {
      const first = roundTrip(await adm.run('authenticate', snapshot(id)));
      await adm.run('admit', {
        ...snapshot(id, first.state as Record<string, unknown>),
        attribution: first.attribution as AdmissionSnapshot['attribution'],
      });
    }
    expect(l.reserved()).toBe(3);
    expect(adm.release()).toBe(3);
    expect(l.reserved()).toBe(0);
    expect(l.settled).toEqual([
      { id: 'x', cost: null, reached: false, user: 'from-key' },
      { id: 'y', cost: null, reached: false, user: 'from-key' },
      { id: 'z', cost: null, reached: false, user: 'from-key' },
    ]);
    expect(adm.release()).toBe(0);
  });
});

describe('WorkerAdmissions, a worker that died', () => {
  it('records each call it cut once, as the recorder knows it; not those it said it finished; settles each once', async () => {
    const l = ledger();
    const adm = new WorkerAdmissions([l.hook]);
    const ids = new Map<string, number>();
    for (const id of ['x', 'y', 'z']) {
      const snap: AdmissionSnapshot = {
        ...snapshot(id),
        stream: id !== 'z',
        startedAt: 1_000,
        metadata: id === 'x' ? { run: 'r89' } : null,
      };
      const first = roundTrip(await adm.run('authenticate', snap));
      // What the worker's admission keeps of the first phase: the extra fields are not sent back as changes.
      expect(first).not.toHaveProperty('stream');
      expect(first).not.toHaveProperty('startedAt');
      expect(first).not.toHaveProperty('metadata');
      const state = first.state as Record<string, unknown>;
      ids.set(id, state[ADMISSION_ID] as number);
      await adm.run('admit', { ...snap, state, attribution: first.attribution as AdmissionSnapshot['attribution'] });
    }
    // y finished in the worker (its `inflight` message said so) but was not handed over before it died.
    adm.finished([ids.get('y') as number, 999_999]);
    const recorded: LlmCall[] = [];
    expect(adm.release({ pid: 4242, how: 'SIGKILL', record: (c) => recorded.push(c) })).toBe(3);
    expect(l.reserved()).toBe(0);
    expect(l.settled.map((s) => [s.id, s.cost, s.reached])).toEqual([
      ['x', null, false],
      ['y', null, false],
      ['z', null, false],
    ]);
    expect(recorded.map((c) => c.requestId)).toEqual(['x', 'z']);
    const [x, z] = recorded as [LlmCall, LlmCall];
    expect(x).toMatchObject({
      status: 'upstream_error',
      httpStatus: 502,
      errorType: 'worker_exited',
      provider: 'openai',
      model: 'gpt-4o-mini',
      endpoint: 'chat.completions',
      stream: true,
      startedAt: 1_000,
      user: 'from-key',
      feature: 'f',
      metadata: { run: 'r89' },
      inputTokens: null,
      outputTokens: null,
      costUsd: null,
      source: 'gateway',
    });
    expect(x.errorMessage).toBe(
      'the gateway worker serving the call (pid 4242) exited (SIGKILL) before the call finished: its answer, or the rest of it, never reached the client',
    );
    expect(x.endedAt).toBeGreaterThan(1_000);
    expect(x.latencyMs).toBe(x.endedAt - 1_000);
    // Priced as unknown by the recorder (it may have reached its provider), not as a call refused before it left.
    expect(x.internal?.upstreamStartAt).toBe(1_000);
    expect(z).toMatchObject({ stream: false, metadata: null });
    // Once: nothing is left to record or settle.
    expect(adm.release({ pid: 4242, how: 'SIGKILL', record: (c) => recorded.push(c) })).toBe(0);
    expect(recorded).toHaveLength(2);
    expect(l.settled).toHaveLength(3);
  });
});

describe('WorkerAdmissions, a call refused in its admit phase', () => {
  it('settles at once what hooks before the refusing one reserved', async () => {
    const l = ledger();
    const refuse: GatewayHook = {
      name: 'refuse',
      admit() {
        throw new Error('budget used up');
      },
    };
    const adm = new WorkerAdmissions([l.hook, refuse]);
    const first = roundTrip(await adm.run('authenticate', snapshot('r')));
    await expect(adm.run('admit', snapshot('r', first.state as Record<string, unknown>))).rejects.toThrow(
      'budget used up',
    );
    expect(l.reserved()).toBe(0);
    expect(l.settled).toMatchObject([{ id: 'r', cost: null, reached: false }]);
    expect(adm.size).toBe(0);
  });
});

describe('WorkerAdmissions, calls that do not come back as recorded', () => {
  const admitted = async (adm: WorkerAdmissions, id: string): Promise<Record<string, unknown>> => {
    const first = roundTrip(await adm.run('authenticate', snapshot(id)));
    const second = roundTrip(
      await adm.run('admit', {
        ...snapshot(id, first.state as Record<string, unknown>),
        attribution: first.attribution as AdmissionSnapshot['attribution'],
      }),
    );
    return second.state as Record<string, unknown>;
  };
  const finished = (id: string, state: Record<string, unknown>): LlmCall =>
    ({
      requestId: id,
      costUsd: 0.25,
      user: 'from-key',
      internal: { upstreamStartAt: 5, hooks: roundTrip(state) },
    }) as unknown as LlmCall;

  it('a call the worker dropped at its hand-off settles with what it spent, once', async () => {
    const l = ledger();
    const adm = new WorkerAdmissions([l.hook]);
    const call = finished('d', await admitted(adm, 'd'));
    expect(adm.shed([call])).toBe(1);
    expect(l.reserved()).toBe(0);
    expect(l.settled).toEqual([{ id: 'd', cost: 0.25, reached: true, user: 'from-key' }]);
    expect(adm.size).toBe(0);
    // Said twice, or the worker dies later: nothing settles again.
    expect(adm.shed([call])).toBe(0);
    expect(adm.release()).toBe(0);
    expect(l.settled).toHaveLength(1);
  });

  it('past its bound the oldest admission is settled as spending nothing; should its call come back, not again', async () => {
    const l = ledger();
    const adm = new WorkerAdmissions([l.hook], 2);
    const states = [];
    for (const id of ['o1', 'o2', 'o3']) states.push(await admitted(adm, id));
    expect(adm.size).toBe(2);
    expect(l.reserved()).toBe(2);
    expect(l.settled).toEqual([{ id: 'o1', cost: null, reached: false, user: 'from-key' }]);
    expect(adm.takeEvicted()).toBe(1);
    expect(adm.takeEvicted()).toBe(0);
    // o1's call comes back after all: the recorder settles what comes back (settleFor), which finds it settled.
    const late = finished('o1', states[0] as Record<string, unknown>);
    adm.returned(late);
    settleFor([l.hook], late);
    expect(l.reserved()).toBe(2);
    expect(l.settled).toHaveLength(1);
  });
});

describe('WorkerAdmissions, an admission the worker stopped waiting for', () => {
  const slowLedger = () => {
    const l = ledger();
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const hook: GatewayHook = {
      ...l.hook,
      async admit(a) {
        await gate;
        await l.hook.admit?.(a);
      },
    };
    return { ...l, hook, open };
  };

  it('settles it as spending nothing when its phase ends after the worker gave up', async () => {
    const l = slowLedger();
    const adm = new WorkerAdmissions([l.hook]);
    const first = roundTrip(await adm.run('authenticate', snapshot('s', { [ADMISSION_TICKET]: 7 })));
    const admitted = adm.run('admit', {
      ...snapshot('s', first.state as Record<string, unknown>),
      attribution: first.attribution as AdmissionSnapshot['attribution'],
    });
    adm.abandon(7);
    l.open();
    await admitted;
    expect(l.reserved()).toBe(0);
    expect(l.settled).toEqual([{ id: 's', cost: null, reached: false, user: 'from-key' }]);
    expect(adm.size).toBe(0);
    expect(adm.release()).toBe(0);
  });

  it('settles it at once when its phase had ended, and leaves the others', async () => {
    const l = ledger();
    const adm = new WorkerAdmissions([l.hook]);
    for (const [id, ticket] of [
      ['p', 1],
      ['q', 2],
    ] as const)
      await adm.run('admit', snapshot(id, { [ADMISSION_TICKET]: ticket }));
    expect(l.reserved()).toBe(2);
    adm.abandon(2);
    expect(l.reserved()).toBe(1);
    expect(l.settled).toMatchObject([{ id: 'q', cost: null, reached: false }]);
    expect(adm.size).toBe(1);
  });
});
