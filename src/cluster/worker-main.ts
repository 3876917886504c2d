// The entry point node:cluster runs for each gateway worker (src/cluster/primary.ts forks it). It says hello, waits
// for its config from the primary, starts serving, and drains when the primary asks (or on its own SIGTERM); if the
// primary goes away it stops taking calls, finishes those in flight and exits.
import cluster from 'node:cluster';
import type { Socket } from 'node:net';
import { Rpc } from './rpc.js';
import { type GatewayWorker, startWorker, type WorkerInit } from './worker.js';

/**
 * Puts `msg` on the channel to the primary: false when the channel is gone. (process.send's own false means only that
 * the message waits in the write queue, as one larger than the pipe's buffer does: a call's admission with a large
 * body. It is still sent, in order.)
 */
const send = (msg: unknown, cb: (err: Error | null) => void = () => {}): boolean => {
  if (!process.connected || !process.send) {
    cb(new Error('the recorder process is gone'));
    return false;
  }
  try {
    process.send(msg, undefined, {}, (err) => cb(err ?? null));
    return true;
  } catch (err) {
    cb(err as Error);
    return false;
  }
};
// node:cluster ends a worker at once (process.exit) when its channel to the primary closes unexpectedly, before any
// listener of ours runs: a recorder that died would cut every call in flight. This worker handles that itself (below).
if (cluster.worker) cluster.worker.exitedAfterDisconnect = true;
const rpc = new Rpc((m) => send(m));
// The recorder's heartbeat (primary.ts): answered from this event loop, so a worker stuck in a busy loop stops
// answering and is replaced after server.workerTimeout (startWorker reads what the pings carry once it serves).
rpc.on('ping', () => null);
let worker: GatewayWorker | null = null;
let exiting = false;

async function stop(code: number, alone = false): Promise<void> {
  if (exiting) return;
  exiting = true;
  // The primary gives it no new connection from now on (one on its way is refused and given to another worker).
  send({ t: 'draining' });
  let metrics: unknown = null;
  try {
    await worker?.drain({ alone });
    metrics = (await worker?.metrics().catch(() => null)) ?? null;
  } finally {
    // Everything this worker finished is on the channel before it says so; the primary waits for this line. Its
    // last metrics come with it, so the fleet's counters keep what it counted.
    send({ t: 'drained', metrics }, () => {
      // Only while the channel is open: disconnecting a closed one (the recorder gone) is an 'error' event that,
      // unheard, ends the worker with a stack trace instead of the line it logged.
      if (process.connected) process.disconnect?.();
      process.exit(code);
    });
    setTimeout(() => process.exit(code), 2000).unref();
  }
}

process.on('message', (msg: { t?: string; id?: number }, handle?: unknown) => {
  // A client connection the primary accepted: taken, or (draining, not started) closed here unread and refused, so
  // the primary, which keeps its copy until this answer, gives it to another worker.
  if (msg?.t === 'conn') {
    const socket = handle as Socket | undefined;
    // Gone before it was sent (the client reset it): nothing to serve, and the primary's copy can go.
    if (!socket) return void send({ t: 'took', id: msg.id });
    const took = worker?.accept(socket) ?? false;
    if (!took) socket.destroy();
    send({ t: took ? 'took' : 'refused', id: msg.id });
    return;
  }
  if (rpc.receive(msg)) return;
  if (msg?.t === 'init' && !worker) {
    startWorker(msg as WorkerInit, { send, connected: () => process.connected }, rpc).then(
      (w) => {
        worker = w;
        send({ t: 'listening' });
        if (exiting) void w.drain();
      },
      (err: Error) => {
        send({ t: 'failed', message: err.message }, () => process.exit(1));
      },
    );
  } else if (msg?.t === 'calls-ack') worker?.acked((msg as { id: number }).id);
  else if (msg?.t === 'drain') void stop(0);
});
process.on('disconnect', () => {
  if (!exiting)
    worker?.log.warn(
      { event: 'recorder_gone' },
      'the recorder process is gone: this worker stops taking calls, finishes those in flight (not recorded) and exits',
    );
  rpc.close();
  worker?.disconnected();
  void stop(1);
});
// The primary decides when the whole deployment stops (a terminal's Ctrl-C, or its SIGHUP when it closes, reaches
// every process of the group, and the primary drains the workers); a SIGTERM sent to this worker alone drains and
// ends it, and the primary starts another.
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.on('SIGTERM', () => void stop(0, true));
send({ t: 'hello' });
