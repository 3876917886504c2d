// A request with an Upgrade header that is not a WebSocket's (curl --http2 and Java's HttpClient offer `Upgrade: h2c`
// on every http:// call) is an ordinary HTTP request to answer as one. Node decides at the headers whether a request
// is an upgrade, by whether the server has an 'upgrade' listener at all, so once the Realtime API listens for
// upgrades, such a request reaches that listener instead of the request handler. This hands it back: the request's
// head is written again without the upgrade offer, put back in front of what the socket had left, and the socket given
// to the server as a new connection, whose parser reads it as a plain request (keep-alive and its body as usual).
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** Whether the request asks for a WebSocket (the only upgrade llmscope serves). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (
    String(req.headers.upgrade ?? '')
      .trim()
      .toLowerCase() === 'websocket'
  );
}

/** Gives a non-WebSocket upgrade request back to `server` as the plain HTTP request it also is. */
export function serveAsPlainRequest(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const k = name.toLowerCase();
    if (k === 'upgrade' || k === 'http2-settings') continue;
    let value = raw[i + 1] as string;
    if (k === 'connection') {
      value = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t && !/^(upgrade|http2-settings)$/i.test(t))
        .join(', ');
      if (!value) continue;
    }
    text += `${name}: ${value}\r\n`;
  }
  socket.unshift(Buffer.concat([Buffer.from(`${text}\r\n`, 'latin1'), head]));
  // An https server's HTTP side listens for the TLS socket it made ('secureConnection'); 'connection' would wrap it again.
  server.emit(
    'encrypted' in socket && (socket as { encrypted?: boolean }).encrypted ? 'secureConnection' : 'connection',
    socket,
  );
}
