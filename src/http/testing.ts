// Test helpers for work done in turns of the event loop (Turns): a handler on a real HTTP server, and counters of
// the other work that ran meanwhile. Not part of the build (tsconfig.build.json leaves out testing.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { renderError } from '../errors.js';

/** `handle` on an HTTP server on a free loopback port, its errors answered as the app answers them. */
export async function serveHandler(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<unknown>,
): Promise<{ server: Server; url: (path: string) => string }> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      const r = renderError(err);
      res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { server, url: (path) => `http://127.0.0.1:${port}${path}` };
}

/** How many times other work (a setImmediate callback) ran while `f` ran. */
export async function ticksDuring<T>(f: () => Promise<T>): Promise<{ value: T; ticks: number }> {
  let ticks = 0;
  let on = true;
  const tick = () => {
    ticks++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  const value = await f();
  on = false;
  return { value, ticks };
}

/**
 * Counts the calls recorded in each turn of the event loop, from the first on: call `recorded()` as each is recorded,
 * `stop()` when done. perTurn[0] is how many were recorded before any other work ran.
 */
export function turnCounter() {
  const perTurn: number[] = [];
  let count = 0;
  let last = 0;
  let on = true;
  const tick = () => {
    perTurn.push(count - last);
    last = count;
    if (on) setImmediate(tick);
  };
  return {
    perTurn,
    get count() {
      return count;
    },
    /** How many calls were recorded when other work first ran (a setImmediate made as the first was): null if none. */
    get otherWorkRanAt(): number | null {
      return perTurn[0] ?? null;
    },
    recorded() {
      if (count++ === 0) setImmediate(tick);
    },
    stop() {
      on = false;
    },
  };
}
