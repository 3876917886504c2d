// Liveness and readiness: /healthz answers while the process runs; /readyz says whether a load balancer should
// send traffic here (store reachable, upstreams configured, not draining).
import type { ServerResponse } from 'node:http';
import { sendJson } from './reply.js';

export interface ReadinessProbe {
  ping(): Promise<boolean>;
  upstreams(): number;
  draining(): boolean;
}

export function sendHealth(res: ServerResponse): void {
  sendJson(res, 200, { status: 'ok' });
}

export async function sendReadiness(res: ServerResponse, probe: ReadinessProbe): Promise<void> {
  const storeOk = await probe.ping();
  const upstreams = probe.upstreams();
  const draining = probe.draining();
  const ready = storeOk && upstreams > 0 && !draining;
  sendJson(res, ready ? 200 : 503, {
    status: ready ? 'ready' : 'not_ready',
    store: storeOk ? 'ok' : 'unreachable',
    upstreams,
    draining,
  });
}
