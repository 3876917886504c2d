// Runs a Node script in N node:cluster workers that share the port it listens on, and prints `ready` once all N
// listen. bench:gateway --workers N starts the simulator this way, so the upstream is not the one process that caps
// what N proxy processes can pass. Usage: node bench/cluster.js N SCRIPT [ARGS...]
import cluster from 'node:cluster';

const [n, script, ...args] = [Number(process.argv[2]), process.argv[3], ...process.argv.slice(4)];
cluster.setupPrimary({ exec: script, args, silent: true });
let listening = 0;
cluster.on('listening', () => {
  if (++listening === n) process.stdout.write('ready\n');
});
for (let i = 0; i < n; i++) cluster.fork();
process.on('SIGTERM', () => {
  for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  process.exit(0);
});
