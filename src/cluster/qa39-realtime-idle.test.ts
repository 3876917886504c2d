// A Realtime session's upgrade admission, held for its first response, when its `serve --workers` worker dies (QA39):
// most such sessions wait with no response running (a voice session listening), yet each was recorded as a
// `worker_exited` 502 call (four idle sessions and one running response: five error records, one call). Now what it
// reserved is given back and no call is recorded for it; a later response's admission (its own) is recorded as cut,
// and so is a first response the worker said started (decision 130), with its response's id.
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import type { Admission, GatewayHook } from '../gateway/proxy.js';
import { REALTIME_SESSION_STATE } from '../providers/openai-realtime/proxy.js';
import { ADMISSION_ID, WorkerAdmissions } from './admissions.js';
import type { AdmissionSnapshot } from './worker.js';

const snapshot = (requestId: string, state: Record<string, unknown>): AdmissionSnapshot => ({
  requestId,
  endpoint: 'realtime',
  model: 'gpt-realtime',
  provider: 'openai',
  body: {},
  headers: {},
  attribution: { user: null, team: 'voice', feature: null, session: null, apiKeyId: null },
  forwardClientAuth: true,
  state,
});

describe('WorkerAdmissions: a Realtime session when its worker dies', () => {
  it("gives back an upgrade's admission without recording a call; a later response's is recorded as cut", async () => {
    let reserved = 0;
    const hook: GatewayHook = {
      name: 'ledger',
      admit(a: Admission) {
        reserved++;
        a.state.ledger = true;
      },
      settle(a: Admission) {
        if (a.state.ledger !== true) return;
        a.state.ledger = false;
        reserved--;
      },
    };
    const adm = new WorkerAdmissions([hook]);
    await adm.run('admit', snapshot('upgrade-1', { [REALTIME_SESSION_STATE]: true }));
    await adm.run('admit', snapshot('upgrade-2', { [REALTIME_SESSION_STATE]: true }));
    await adm.run('admit', snapshot('resp_later', {}));
    expect(reserved).toBe(3);
    const recorded: LlmCall[] = [];
    expect(adm.release({ pid: 7, how: 'SIGKILL', record: (c) => recorded.push(c) })).toBe(3);
    expect(reserved).toBe(0);
    // before: upgrade-1, upgrade-2 and resp_later, each a worker_exited 502
    expect(recorded.map((c) => [c.requestId, c.errorType])).toEqual([['resp_later', 'worker_exited']]);
  });

  it("records an upgrade's admission as cut, with its response's id, once the worker said its first response started", async () => {
    const adm = new WorkerAdmissions([]);
    const listening = await adm.run('admit', snapshot('upgrade-1', { [REALTIME_SESSION_STATE]: true }));
    const talking = await adm.run('admit', snapshot('upgrade-2', { [REALTIME_SESSION_STATE]: true }));
    const idOf = (changed: Record<string, unknown>) => (changed.state as Record<string, unknown>)[ADMISSION_ID];
    expect(typeof idOf(listening)).toBe('number');
    // the worker's `inflight` message: the second session's first response started (junk entries are ignored)
    adm.running([[idOf(talking), 'resp_first'], ['x', 1], null]);
    const recorded: LlmCall[] = [];
    expect(adm.release({ pid: 7, how: 'SIGKILL', record: (c) => recorded.push(c) })).toBe(2);
    // before (decision 130): none, the running first response released unrecorded with the idle session's admission
    expect(recorded.map((c) => [c.requestId, c.status, c.httpStatus, c.errorType])).toEqual([
      ['resp_first', 'upstream_error', 502, 'worker_exited'],
    ]);
  });
});
