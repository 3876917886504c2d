// The simulator's Responses API WebSocket mode (`GET /v1/responses` upgraded, as `wss://api.openai.com/v1/responses`):
// each `response.create` message (the fields of POST /v1/responses, without `stream`) is answered with the very events
// a streamed POST /v1/responses gets (responses.ts, the same timing from the message's arrival, the same usage and
// faults), each as one JSON text message, carrying the message's `stream_id` when it named one. Responses on one
// connection run one after the other. A message that is not JSON, not a response.create, asks for `background`, or is
// invalid as a Responses request gets an `error` event (`{type: "error", status, error: {...}}`), as OpenAI sends one,
// and the connection stays open; a fault that answers an HTTP error (rate_limit, server_error, ...) is an `error`
// event with that status; `cut` drops the connection mid-response.
//
// Upgrade headers, as on HTTP: the simulator's x-simulator-* directives apply to every response on the connection;
// `x-simulator-websocket: refuse` answers the upgrade 404 as a provider without WebSocket mode (vLLM) does.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { MessagesDirectives, SimClock, SimExchange } from './anthropic.js';
import { openaiResponses, responsesProblem } from './responses.js';
import { errorBody, invalidRequest } from './wire.js';

type Json = Record<string, unknown>;

/** What one response on the connection runs with: the directives and clock a POST would get. */
export interface ResponsesWsTurn {
  directives: MessagesDirectives;
  clock: SimClock;
  seed: number;
}

export interface ResponsesWsSimState {
  events: { emit(event: 'request' | 'first-token', record: unknown): boolean };
}

const PATH = '/v1/responses';

/** The upgrade handler for `/v1/responses` and a `close()` that ends every connection (1001). */
export function responsesWsSimulator(
  state: ResponsesWsSimState,
  /** The directives and clock of one response (throws on a bad x-simulator-* header: an `error` event). */
  turn: (headers: IncomingHttpHeaders) => ResponsesWsTurn,
): { upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void; close(): void } {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const open = new Set<WebSocket>();
  return {
    upgrade(req, socket, head) {
      if (String(req.headers['x-simulator-websocket'] ?? '') === 'refuse') {
        const text = JSON.stringify(errorBody(`Invalid URL (GET ${PATH})`, 'invalid_request_error'));
        socket.end(
          `HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
        );
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        open.add(ws);
        ws.once('close', () => open.delete(ws));
        serve(ws, req, state, turn);
      });
    },
    close() {
      for (const ws of open) ws.close(1001, 'simulator shutting down');
      for (const ws of open) setTimeout(() => ws.terminate(), 200).unref();
    },
  };
}

function serve(
  ws: WebSocket,
  req: IncomingMessage,
  state: ResponsesWsSimState,
  turn: (headers: IncomingHttpHeaders) => ResponsesWsTurn,
): void {
  let queue: Promise<void> = Promise.resolve();
  let current: WsExchange | null = null;
  const fail = (status: number, body: Json, streamId: unknown) => {
    const event: Json = { type: 'error', status, error: body.error };
    if (typeof streamId === 'string') event.stream_id = streamId;
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
  };
  ws.on('close', () => current?.stop());
  ws.on('message', (data, binary) => {
    const at = performance.now();
    if (binary) return fail(400, invalidRequest('Binary messages are not supported; send JSON text.'), null);
    let m: unknown;
    try {
      m = JSON.parse(String(data));
    } catch {
      return fail(400, invalidRequest('The message is not valid JSON.', null, 'invalid_json'), null);
    }
    if (typeof m !== 'object' || m === null || Array.isArray(m))
      return fail(400, invalidRequest('Invalid message: expected a JSON object.', null, 'invalid_type'), null);
    const msg = m as Json;
    const streamId = msg.stream_id;
    if (msg.type !== 'response.create')
      return fail(
        400,
        invalidRequest(`Invalid value for 'type': ${JSON.stringify(msg.type)}; expected 'response.create'.`, 'type'),
        streamId,
      );
    state.events.emit('request', {
      requestId: String(req.headers['x-request-id'] ?? ''),
      method: 'WS',
      path: PATH,
      url: req.url ?? PATH,
      headers: req.headers as Json,
      body: msg,
      at: performance.timeOrigin + at,
    });
    const { type: _type, stream_id: _sid, ...body } = msg;
    if (body.background === true)
      return fail(400, invalidRequest('background is not supported over WebSocket.', 'background'), streamId);
    const problem = responsesProblem(body);
    if (problem) return fail(400, problem, streamId);
    body.stream = true;
    queue = queue.then(async () => {
      if (ws.readyState !== ws.OPEN) return;
      let t: ResponsesWsTurn;
      try {
        t = turn(req.headers);
      } catch (err) {
        return fail(400, invalidRequest((err as Error).message, null, 'invalid_simulator_header'), streamId);
      }
      const ex = new WsExchange(ws, performance.now(), typeof streamId === 'string' ? streamId : null, state);
      current = ex;
      try {
        await openaiResponses(ex, req.headers, body, t.directives, t.clock, t.seed);
      } finally {
        current = null;
      }
    });
  });
}

/**
 * One response's exchange (responses.ts writes a streamed POST's answer to `res`): its SSE events are sent as one
 * message each, an error answer as an `error` event.
 */
class WsExchange implements SimExchange {
  stopped = false;
  readonly res: ServerResponse;
  private status = 200;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  /** The offset last waited for: when the event being sent was due. */
  private due = 0;
  /** The response's id (its response.created), until its first output delta is sent (then null). */
  private responseId: string | null = '';

  constructor(
    private readonly ws: WebSocket,
    readonly t0: number,
    private readonly streamId: string | null,
    private readonly state: ResponsesWsSimState,
  ) {
    const send = (text: string) => this.sendOut(text);
    const self = this;
    this.res = {
      get destroyed() {
        return self.ws.readyState !== self.ws.OPEN;
      },
      get headersSent() {
        return true;
      },
      setHeader() {
        return this;
      },
      writeHead(status: number) {
        self.status = status;
        return this;
      },
      write(text: string) {
        send(text);
        return true;
      },
      end(text?: string) {
        if (text) send(text);
        return this;
      },
      on() {
        return this;
      },
      off() {
        return this;
      },
      once() {
        return this;
      },
    } as unknown as ServerResponse;
  }

  private sendOut(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.status >= 300) {
      let body: Json = {};
      try {
        body = JSON.parse(text) as Json;
      } catch {
        /* sent as is below */
      }
      const event: Json = { type: 'error', status: this.status, error: body.error ?? { message: text } };
      if (this.streamId !== null) event.stream_id = this.streamId;
      this.ws.send(JSON.stringify(event));
      return;
    }
    for (const block of text.split('\n\n')) {
      const line = block.split('\n').find((l) => l.startsWith('data: '));
      if (!line) continue;
      let data = line.slice(6);
      if (this.responseId !== null) this.firstToken(data);
      if (this.streamId !== null) data = `${data.slice(0, -1)},"stream_id":${JSON.stringify(this.streamId)}}`;
      this.ws.send(data);
    }
  }

  /** Tells the simulator's listeners when the first output delta went out, against when it was due (`first-token`). */
  private firstToken(data: string): void {
    if (data.startsWith('{"type":"response.created"'))
      this.responseId = (JSON.parse(data) as { response: { id: string } }).response.id;
    else if (/^\{"type":"response\.[a-z_.]+\.delta"/.test(data)) {
      const sentMs = performance.now() - this.t0;
      this.state.events.emit('first-token', {
        requestId: this.responseId,
        path: PATH,
        dueMs: this.due,
        sentMs,
      });
      this.responseId = null;
    }
  }

  async waitUntil(offsetMs: number): Promise<void> {
    this.due = offsetMs;
    for (let wait = this.t0 + offsetMs - performance.now(); wait > 0 && !this.stopped; ) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, wait);
      });
      wait = this.t0 + offsetMs - performance.now();
    }
  }

  /** Never waited on: every send is queued by the socket. */
  drain(): Promise<void> {
    return Promise.resolve();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Fault `cut`: the connection is dropped mid-response. */
  cut(): void {
    this.stop();
    this.ws.terminate();
  }
}
