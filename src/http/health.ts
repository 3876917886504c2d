// Liveness and readiness: /healthz answers while the process runs; /readyz says whether a load balancer should
// send traffic here (store reachable, upstreams configured, not draining, and with `serve --workers` every gateway
// worker serving, or back within a short grace).
import type { ServerResponse } from 'node:http';
import { sendJson } from './reply.js';

/** What `serve --workers` says of its gateway workers (src/cluster/primary.ts). */
export interface WorkersReadiness {
  configured: number;
  serving: number;
  /** False once fewer than `configured` have served for longer than the grace. */
  ready: boolean;
}

export interface ReadinessProbe {
  ping(): Promise<boolean>;
  upstreams(): number;
  draining(): boolean;
  /** With gateway workers only: how many serve. */
  workers?(): WorkersReadiness;
}

export function sendHealth(res: ServerResponse): void {
  sendJson(res, 200, { status: 'ok' });
}

export async function sendReadiness(res: ServerResponse, probe: ReadinessProbe): Promise<void> {
  const storeOk = await probe.ping();
  const upstreams = probe.upstreams();
  const draining = probe.draining();
  const workers = probe.workers?.();
  const ready = storeOk && upstreams > 0 && !draining && (workers?.ready ?? true);
  sendJson(res, ready ? 200 : 503, {
    status: ready ? 'ready' : 'not_ready',
    store: storeOk ? 'ok' : 'unreachable',
    upstreams,
    draining,
    ...(workers ? { workers: { configured: workers.configured, serving: workers.serving } } : {}),
  });
}
