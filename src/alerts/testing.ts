// Test helpers for alerts (unit and end-to-end tests): a clock tests drive, calls at given times, and local sinks
// that receive what notifiers send (an HTTP receiver and a tiny SMTP server on loopback, port 0).
import { spawnSync } from 'node:child_process';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { request } from 'undici';
import type { CallStatus, LlmCall } from '../calls/index.js';
import { validateConfig } from '../config/index.js';
import type { AlertsConfigInput } from './spec.js';

/** What check-config says of an `alerts` block, as `path: message` lines; none when it is taken. */
export function alertsConfigIssues(alerts: unknown): string[] {
  const r = validateConfig({ alerts });
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

export class ManualClock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

let seq = 0;

/** A finished call at `t` (epoch ms) with the given facts; the rest are plausible defaults. */
export function callAt(
  t: number,
  o: Partial<Pick<LlmCall, 'model' | 'provider' | 'feature' | 'team' | 'costUsd' | 'ttftMs' | 'tpotMs' | 'refusal'>> & {
    status?: CallStatus;
    latencyMs?: number;
  } = {},
): LlmCall {
  const latency = o.latencyMs ?? 500;
  const status = o.status ?? 'ok';
  const http = { ok: 200, client_error: 400, upstream_error: 500, rate_limited: 429, timeout: 504, cancelled: 499 }[
    status
  ];
  seq++;
  return {
    requestId: `req-${t}-${seq}`,
    traceId: null,
    startedAt: t,
    endedAt: t + latency,
    provider: o.provider ?? 'openai',
    model: o.model ?? 'gpt-4o-mini',
    endpoint: 'chat.completions',
    stream: true,
    status,
    httpStatus: http,
    errorType: status === 'ok' ? null : status,
    user: null,
    team: o.team ?? null,
    feature: o.feature ?? null,
    session: null,
    apiKeyId: null,
    inputTokens: 10,
    outputTokens: 20,
    cachedInputTokens: 0,
    reasoningTokens: null,
    tokenSource: 'usage',
    ttftMs: o.ttftMs ?? 100,
    tpotMs: o.tpotMs ?? 10,
    latencyMs: latency,
    overheadMs: 1,
    costUsd: o.costUsd ?? 0.001,
    price: null,
    finishReason: 'stop',
    refusal: o.refusal ?? false,
    requestBytes: 100,
    responseBytes: 100,
    source: 'ingest',
    spans: [],
    events: [],
    content: null,
  };
}

export interface HttpSink {
  url: string;
  received: { path: string; body: unknown; at: number }[];
  /** Status to answer with (default 200). */
  status: number;
  waitFor(n: number, timeoutMs?: number): Promise<HttpSink['received']>;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1:0 that records every JSON body posted to it. */
export async function httpSink(): Promise<HttpSink> {
  const received: HttpSink['received'] = [];
  const sink = { status: 200 } as HttpSink;
  const server: Server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown = null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = Buffer.concat(chunks).toString('utf8');
      }
      received.push({ path: req.url ?? '/', body, at: Date.now() });
      res.writeHead(sink.status, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(sink, {
    url: `http://127.0.0.1:${port}`,
    received,
    waitFor: (n: number, timeoutMs = 10_000) => waitUntil(() => received.length >= n, timeoutMs).then(() => received),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

export interface SmtpMessage {
  from: string;
  to: string[];
  data: string;
  subject: string;
  /** Who signed in (AUTH PLAIN) before sending it, and with what password; null: sent without authentication. */
  auth: { user: string; pass: string } | null;
}

export interface SmtpSink {
  host: string;
  port: number;
  messages: SmtpMessage[];
  waitFor(n: number, timeoutMs?: number): Promise<SmtpMessage[]>;
  close(): Promise<void>;
}

/**
 * A minimal SMTP server (no TLS) on 127.0.0.1:0 that keeps every message it is given. With `auth`, it offers
 * AUTH PLAIN, takes any user and password, and notes them on the messages sent after.
 */
export async function smtpSink(opts: { auth?: boolean } = {}): Promise<SmtpSink> {
  const messages: SmtpMessage[] = [];
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    let buf = '';
    let inData = false;
    let msg: { from: string; to: string[]; data: string } = { from: '', to: [], data: '' };
    let auth: SmtpMessage['auth'] = null;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 llmscope-test-smtp ESMTP');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          msg.data = buf.slice(0, end).replace(/\r\n\.\./g, '\r\n.');
          buf = buf.slice(end + 5);
          inData = false;
          const subject = /^Subject: (.*(?:\r\n[ \t].*)*)/im.exec(msg.data)?.[1]?.replace(/\r\n[ \t]/g, ' ') ?? '';
          messages.push({ ...msg, subject, auth });
          msg = { from: '', to: [], data: '' };
          reply('250 OK: queued');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO') reply(`250-llmscope-test-smtp\r\n${opts.auth ? '250-AUTH PLAIN\r\n' : ''}250 8BITMIME`);
        else if (cmd === 'AUTH' && opts.auth && /^AUTH PLAIN \S+$/i.test(line)) {
          const [, user = '', pass = ''] = Buffer.from(line.slice(11), 'base64').toString('utf8').split('\0');
          auth = { user, pass };
          reply('235 Authentication successful');
        } else if (cmd === 'HELO') reply('250 llmscope-test-smtp');
        else if (cmd === 'MAIL') {
          msg.from = /<(.*)>/.exec(line)?.[1] ?? '';
          reply('250 OK');
        } else if (cmd === 'RCPT') {
          msg.to.push(/<(.*)>/.exec(line)?.[1] ?? '');
          reply('250 OK');
        } else if (cmd === 'DATA') {
          inData = true;
          reply('354 end with <CRLF>.<CRLF>');
        } else if (cmd === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else if (cmd === 'RSET' || cmd === 'NOOP') reply('250 OK');
        else reply('502 not implemented');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    messages,
    waitFor: (n, timeoutMs = 10_000) => waitUntil(() => messages.length >= n, timeoutMs).then(() => messages),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export async function waitUntil(cond: () => boolean, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A free TCP port on loopback (for daemons that cannot listen on port 0 and report it). */
export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Daemon {
  name: string;
  output: string[];
  stop(): Promise<void>;
}

/** Starts a process and waits until `readyUrl` answers 200; `stop()` ends it (SIGTERM, then SIGKILL). */
export async function startDaemon(
  name: string,
  cmd: string,
  args: string[],
  readyUrl: string,
  timeoutMs = 30_000,
): Promise<Daemon> {
  const { spawn } = await import('node:child_process');
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (b: Buffer) => {
    output.push(...b.toString('utf8').split('\n').filter(Boolean));
    if (output.length > 2000) output.splice(0, output.length - 2000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((r) =>
    proc.once('exit', () => {
      exited = true;
      r();
    }),
  );
  const stop = async () => {
    if (exited) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(t);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${name} exited before it was ready:\n${output.slice(-30).join('\n')}`);
    try {
      const r = await fetch(readyUrl);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} was not ready within ${timeoutMs} ms:\n${output.slice(-30).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, output, stop };
}

/** The first of these commands that runs (Debian names Alertmanager `prometheus-alertmanager`), or null. */
export function commandOf(...names: string[]): string | null {
  for (const n of names) {
    const r = spawnSync(n, ['--version'], { stdio: 'ignore' });
    if (r.status === 0) return n;
  }
  return null;
}

/** The test's alert config: the default pack with `for` shortened and a latency threshold the simulator crosses. */
export const FAST_ALERTS: AlertsConfigInput = {
  slos: [],
  evaluationInterval: '1s',
  overrides: {
    HighLatency: { threshold: 0.5, for: '5s' },
    HighErrorRate: { for: '5s' },
    HighTTFT: { for: '5s' },
    ServiceDegraded: {
      for: '5s',
      conditions: [
        { kind: 'latency_quantile', quantile: 0.95, window: '5m', op: '>', threshold: 0.5, minSamples: 10 },
        { kind: 'error_rate', window: '5m', op: '>', threshold: 0.01, minSamples: 20 },
      ],
    },
  },
};

/**
 * Degraded traffic on one model until stopped: rounds of 6 streamed calls slow to start (TTFT 900 ms) and 2 upstream
 * errors. It runs for a
 * while, not in one burst: Prometheus only sees a counter grow between two scrapes.
 */
export function degradedTraffic(
  base: string,
  model = 'gpt-4o-mini',
): { sent: () => number; stop: () => Promise<void> } {
  let stopped = false;
  let sent = 0;
  const one = async (i: number) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (i % 4 === 3) headers['x-simulator-fault'] = 'server_error';
    else headers['x-simulator-ttft-ms'] = '900';
    const r = await request(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: `hello ${i}` }], max_tokens: 4 }),
    });
    await r.body.dump();
    sent++;
  };
  const loop = (async () => {
    while (!stopped) await Promise.all(Array.from({ length: 8 }, (_, i) => one(i)));
  })();
  return {
    sent: () => sent,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}
