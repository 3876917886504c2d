// Shared set-up for end-to-end tests: the simulator as upstream, llmscope in front of it, captured logs,
// finished calls, and the official OpenAI client pointed at either.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { request } from 'undici';
import type { LlmCall, Sink } from '../../src/calls/index.js';
import { type Config, type ConfigInput, validateConfig } from '../../src/config/index.js';
import { type App, type AppOptions, createApp } from '../../src/server.js';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';

export interface Stack {
  sim: Simulator;
  app: App;
  /** llmscope's base URL (no /v1). */
  base: string;
  logs: Record<string, unknown>[];
  calls: LlmCall[];
  /** Resolves when `n` calls have been recorded (all sinks fed). */
  waitForCalls(n: number, timeoutMs?: number): Promise<LlmCall[]>;
  /** The recorded call with this request id, once it is recorded (throws after about 5 s). */
  callOf(requestId: string): Promise<LlmCall>;
  close(): Promise<void>;
}

export function configOf(input: ConfigInput): Config {
  const r = validateConfig(input);
  if (!r.ok) throw new Error(`bad test config: ${JSON.stringify(r.issues)}`);
  return r.config;
}

/** A wire format the simulator serves, as the e2e tests name its provider: `<format>-sim`. */
export type SimFormat = 'openai' | 'anthropic' | 'gemini';

/**
 * The providers block that puts the simulator behind each of `formats`, in that order: `openai-sim`
 * (openai-compatible, every model), `anthropic-sim` (claude-*) and `gemini-sim` (gemini-*, on the simulator's /v1beta).
 */
export function simProviders(sim: { url: string }, ...formats: SimFormat[]): NonNullable<ConfigInput['providers']> {
  return formats.map((f) => {
    if (f === 'anthropic') return { name: 'anthropic-sim', type: 'anthropic', baseUrl: sim.url, models: ['claude-*'] };
    if (f === 'gemini')
      return { name: 'gemini-sim', type: 'gemini', baseUrl: sim.url.replace(/\/v1$/, '/v1beta'), models: ['gemini-*'] };
    return { name: 'openai-sim', baseUrl: sim.url };
  });
}

export async function startStack(
  opts: {
    sim?: SimulatorOptions;
    /** The config, or a function of the simulator that makes it (a provider's baseUrl needs the simulator's port). */
    config?: Partial<ConfigInput> | ((sim: Simulator) => Partial<ConfigInput>);
    app?: AppOptions;
  } = {},
): Promise<Stack> {
  const sim = await startSimulator({ port: 0, seed: 1, ...opts.sim });
  const logs: Record<string, unknown>[] = [];
  const destination: DestinationStream = {
    write(line: string) {
      for (const l of line.split('\n')) if (l) logs.push(JSON.parse(l));
    },
  };
  const calls: LlmCall[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const capture: Sink = {
    name: 'test-capture',
    write(batch) {
      calls.push(...batch);
      for (const w of waiters.splice(0)) {
        if (calls.length >= w.n) w.resolve();
        else waiters.push(w);
      }
    },
  };
  const config = configOf({
    server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s' },
    providers: [{ name: 'simulator', baseUrl: sim.url }],
    storage: { url: 'sqlite::memory:' },
    telemetry: { logLevel: 'info' },
    ...(typeof opts.config === 'function' ? opts.config(sim) : opts.config),
  } as ConfigInput);
  const app = await createApp(config, {
    logDestination: destination,
    ...opts.app,
    sinks: [capture, ...(opts.app?.sinks ?? [])],
  });
  const base = await app.listen();
  return {
    sim,
    app,
    base,
    logs,
    calls,
    waitForCalls(n, timeoutMs = 10_000) {
      if (calls.length >= n) return Promise.resolve(calls);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`only ${calls.length} of ${n} calls recorded`)), timeoutMs);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(t);
            resolve(calls);
          },
        });
      });
    },
    async callOf(requestId) {
      for (let t = 0; t < 200; t++) {
        const c = calls.find((x) => x.requestId === requestId);
        if (c) return c;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`call ${requestId} not recorded`);
    },
    async close() {
      await app.close();
      await sim.close();
    },
  };
}

/** Parses Prometheus text into `name{labels}` → value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

export function metricValue(m: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [k, v] of m) {
    const brace = k.indexOf('{');
    const n = brace < 0 ? k : k.slice(0, brace);
    if (n !== name) continue;
    if (Object.entries(labels).every(([lk, lv]) => k.includes(`${lk}="${lv}"`))) sum += v;
  }
  return sum;
}

export const BIN = new URL('../../bin/llmscope.js', import.meta.url).pathname;

/** A real `llmscope serve` process (the built CLI), and what it has written so far. */
export interface ServeProcess {
  proc: ChildProcess;
  base: string;
  stdout: string[];
  /** Everything it wrote to stderr. */
  stderr(): string;
}

/**
 * Starts `llmscope serve ARGS` with ENV added; resolves once it says where it serves (or rejects with its output).
 * `detached`: in a process group of its own, as a shell starts a command in a terminal (signal it with kill(-pid)).
 */
export function startServeProcess(
  env: NodeJS.ProcessEnv,
  args: string[],
  opts: { detached?: boolean; cwd?: string } = {},
): Promise<ServeProcess> {
  const proc = spawn(process.execPath, [BIN, 'serve', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
    cwd: opts.cwd,
  });
  const stdout: string[] = [];
  proc.stdout?.on('data', (d: Buffer) => stdout.push(d.toString()));
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      // Not left running: a test whose set-up failed has no handle on it to end it, and it would load the machine
      // under every test after it.
      killServe(proc);
      reject(new Error(`serve did not start within 60 s: ${err}`));
    }, 60_000); // serve --workers 2 took 39 s to start on this 2-core host at load 10
    proc.stderr?.on('data', () => {
      const m = /serving on (http:\/\/[\d.:]+)/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve({ proc, base: m[1] as string, stdout, stderr: () => err });
      }
    });
    proc.once('exit', (code, signal) => reject(new Error(`serve exited ${code ?? signal}: ${err}`)));
  });
}

/** A `llmscope serve` started by {@link startServeWithConfig}: its folder, and a way to stop it. */
export interface ServeRun extends ServeProcess {
  /** The fresh temporary folder that holds its config file (`llmscope.yaml`) and is its working directory. */
  dir: string;
  /** Sends SIGTERM; resolves with its exit code once it has exited and closed its output. */
  stop(): Promise<number | null>;
}

/**
 * Starts `llmscope serve -c FILE [--workers N]` on a port of its own (LLMSCOPE_PORT=0, ENV added), FILE being `config`
 * written as JSON in a fresh temporary folder whose name starts with `prefix`; `config` may be a function of that
 * folder (a SQLite file in it). Resolves once it serves; end it with `stop()`, or `killServe(run.proc)` after a test.
 */
export async function startServeWithConfig(opts: {
  config: Record<string, unknown> | ((dir: string) => Record<string, unknown>);
  workers?: number;
  env?: NodeJS.ProcessEnv;
  prefix?: string;
}): Promise<ServeRun> {
  const dir = mkdtempSync(join(tmpdir(), opts.prefix ?? 'llmscope-serve-'));
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(file, JSON.stringify(typeof opts.config === 'function' ? opts.config(dir) : opts.config));
  const workers = opts.workers === undefined ? [] : ['--workers', String(opts.workers)];
  const run = await startServeProcess({ LLMSCOPE_PORT: '0', ...opts.env }, ['-c', file, ...workers], { cwd: dir });
  // Made as soon as it serves (before any test's event): an exit before stop() is still seen.
  const closed = new Promise<number | null>((r) => {
    if (run.proc.exitCode !== null || run.proc.signalCode !== null) r(run.proc.exitCode);
    else run.proc.once('close', (code) => r(code));
  });
  return {
    ...run,
    dir,
    stop: () => {
      run.proc.kill('SIGTERM');
      return closed;
    },
  };
}

/** The child processes of `pid` (Linux: /proc), or none once it is gone. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Ends a serve process and its gateway workers at once (SIGKILL), if it still runs: the workers first, while /proc
 * still lists them as its children (killed after it, they would be orphans no test can find).
 */
export function killServe(proc: ChildProcess | undefined): void {
  const pid = proc?.pid;
  if (!proc || pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  for (const w of childrenOf(pid))
    try {
      process.kill(w, 'SIGKILL');
    } catch {
      /* already gone */
    }
  proc.kill('SIGKILL');
}

/** Polls `f` every `everyMs` until it gives a truthy value, which it returns; throws after `timeoutMs`. */
export async function until<T>(
  f: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A streamed answer's text as far as it arrives: the whole body, or what came before the stream was cut (or the
 * request failed).
 */
export async function streamedText(send: () => Promise<Response>): Promise<string> {
  let text = '';
  try {
    const r = await send();
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const dec = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
  } catch {
    // cut: what arrived so far is in `text`
  }
  return text;
}

/**
 * Sends `body` (when given) as JSON to `base + path` and answers the status and the body: parsed when the answer is
 * JSON, `{ text }` otherwise (an Anthropic or Gemini refusal, a plain-text error).
 */
export async function jsonCall(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await request(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.body.text();
  const json = /^application\/json/.test(String(r.headers['content-type'])) ? JSON.parse(text) : { text };
  return { status: r.statusCode, body: json as Record<string, unknown> };
}

/** GETs `url` and parses its JSON answer; throws with the status and body when it is not 2xx. */
export async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/**
 * A self-signed certificate for localhost (P-256, one day) and its key, made by openssl in a fresh temporary folder
 * whose name starts with `prefix`: what `server.tls` takes in the tests that serve over TLS.
 */
export function selfSignedCert(prefix: string): { dir: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { dir, cert, key };
}

/** A raw HTTP/1.1 connection to 127.0.0.1:`port`, with what it has received (latin1) and whether it is closed. */
export function rawConnection(port: number): { socket: Socket; got: () => string; closed: () => boolean } {
  const socket = connect(port, '127.0.0.1');
  let got = '';
  let closed = false;
  socket.on('data', (c) => (got += c.toString('latin1')));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  return { socket, got: () => got, closed: () => closed };
}

/** The statuses of the HTTP/1.1 answers in what a raw connection received, in order. */
export const statusesIn = (text: string): number[] =>
  [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
