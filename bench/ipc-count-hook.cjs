// Loaded into each process of `serve --workers N` by bench/worker-tell.js (NODE_OPTIONS=--require): in a gateway
// worker, counts the messages it puts on its channel to the recorder process, by kind, and the admission ids its
// `inflight` messages carry (`done`), and writes them to $IPC_COUNT_DIR/<pid>.json as it exits.
const cluster = require('node:cluster');
const { writeFileSync } = require('node:fs');

const dir = process.env.IPC_COUNT_DIR;
if (cluster.isWorker && dir && typeof process.send === 'function') {
  const counts = { byKind: {}, callsInBatches: 0, doneIds: 0 };
  const send = process.send.bind(process);
  process.send = (msg, ...rest) => {
    const t = (msg && typeof msg === 'object' && msg.t) || 'other';
    const kind = t === 'rpc' ? `rpc:${msg.op}` : t;
    counts.byKind[kind] = (counts.byKind[kind] ?? 0) + 1;
    if (t === 'calls') counts.callsInBatches += msg.calls.length;
    if (t === 'inflight' && Array.isArray(msg.done)) counts.doneIds += msg.done.length;
    return send(msg, ...rest);
  };
  process.on('exit', () => writeFileSync(`${dir}/${process.pid}.json`, JSON.stringify(counts)));
}
