// The floor any Node proxy can reach: node:http + one undici Pool, bytes piped through, nothing else.
// Usage: node bench/bare-proxy.js PORT UPSTREAM_ORIGIN [PROCESSES]
// With PROCESSES ≥ 2, that many node:cluster workers share the port (as `llmscope serve --workers N` does), so the
// bench compares llmscope's workers with as many bare proxy processes.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, upstream] = [Number(process.argv[2]), process.argv[3]];
const processes = Number(process.argv[4] ?? 1);
if (processes >= 2 && cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < processes; i++)
    cluster.fork().on('message', (m) => {
      if (m === 'ready' && ++ready === processes) process.stdout.write('ready\n');
    });
} else {
  const pool = new Pool(upstream, { connections: 128, pipelining: 1 });
  createServer(async (req, res) => {
    try {
      const { host: _h, connection: _c, ...headers } = req.headers;
      const up = await pool.request({ path: req.url, method: req.method, headers, body: req });
      const { connection: _uc, 'transfer-encoding': _te, 'keep-alive': _ka, ...out } = up.headers;
      res.writeHead(up.statusCode, out);
      for await (const chunk of up.body) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      res.end();
    } catch (err) {
      res.writeHead(502).end(String(err));
    }
  }).listen(port, '127.0.0.1', () => (cluster.isWorker ? process.send('ready') : process.stdout.write('ready\n')));
}
