// The nvidia-smi collector: runs `nvidia-smi --query-gpu=... --format=csv,noheader,nounits` on this host and
// parses its lines. Imports only node: built-ins so scripts/gpu-check.sh can bundle it alone.
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { type GpuCollector, type GpuSample, GpuUnavailableError, MIB } from './types.js';

export const NVIDIA_SMI_FIELDS = [
  'index',
  'uuid',
  'name',
  'utilization.gpu',
  'memory.used',
  'memory.total',
  'temperature.gpu',
  'power.draw',
] as const;

export const NVIDIA_SMI_ARGS = [`--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];

/** nvidia-smi's exit status for "infoROM is corrupted": a warning about the board, printed with the readings. */
const INFOROM_CORRUPTED = 14;

/** Largest output read from nvidia-smi (a line per GPU is ~120 bytes). */
const MAX_OUTPUT = 1024 * 1024;

/**
 * The "no GPU" reason hidden in nvidia-smi's output or exit status, or null when the text is not one of them.
 * nvidia-smi exits 9 when it cannot talk to the driver and 6 when it finds no device.
 */
export function noGpuReason(text: string, exitCode: number | null = null): string | null {
  const t = text.trim();
  if (/NVIDIA-SMI has failed/i.test(t)) {
    const first = t.split('\n')[0]?.trim() ?? t;
    return first.replace(/\s*Make sure that .*$/i, '').trim() || 'NVIDIA-SMI has failed (no driver)';
  }
  if (/No devices were found/i.test(t)) return 'No devices were found';
  if (exitCode === 9) return `nvidia-smi cannot reach the NVIDIA driver (exit 9)${t ? `: ${t.split('\n')[0]}` : ''}`;
  if (exitCode === 6) return 'nvidia-smi found no GPU (exit 6)';
  return null;
}

/** `[N/A]`, `[Not Supported]`, `[Unknown Error]`, empty → null; else the number (null if not a number). */
function num(field: string | undefined): number | null {
  if (field === undefined) return null;
  const f = field.trim();
  if (f === '' || f.startsWith('[')) return null;
  const n = Number(f);
  return Number.isFinite(n) ? n : null;
}

function text(field: string | undefined): string | null {
  const f = field?.trim();
  return !f || f.startsWith('[') ? null : f;
}

/**
 * nvidia-smi's line for a GPU it cannot open, printed in place of that GPU's readings while the others are read: a GPU
 * fallen off the bus ("GPU is lost. Reboot the system to recover this GPU", Xid 79) or one NVML cannot reach
 * ("Unknown Error"). Group 1: the PCI bus id; group 2: what nvidia-smi says of it.
 */
const DEVICE_HANDLE = /^Unable to determine the device handle for (?:GPU\s*)?(\S+?):\s+(.*)$/i;

/** What one nvidia-smi answer holds: the GPUs it read, and the GPUs it could not read ("GPU 0000:3B:00.0: GPU is lost"). */
export interface NvidiaSmiReading {
  samples: GpuSample[];
  unreadable: string[];
}

/** The GPUs a text (nvidia-smi's stdout or stderr) says could not be read, as "GPU <bus id>: <what nvidia-smi said>". */
export function unreadableGpus(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const m = DEVICE_HANDLE.exec(raw.trim());
    if (m) out.push(`GPU ${m[1]}: ${(m[2] as string).slice(0, 200)}`);
  }
  return out;
}

/** The bus id an unreadableGpus entry names (`0000:3B:00.0`: colons of its own, up to the ": " written after it). */
function busOf(entry: string): string {
  return /^GPU (\S+?): /.exec(entry)?.[1] ?? entry;
}

/**
 * Reads nvidia-smi's `csv,noheader,nounits` output for NVIDIA_SMI_FIELDS: one GPU a line, fields separated by ", ",
 * memory in MiB, utilization in %; a GPU it could not open (its "Unable to determine the device handle" line) is
 * listed in `unreadable` and the others are still read. Throws GpuUnavailableError on nvidia-smi's no-driver /
 * no-device messages and an Error on lines it cannot read.
 */
export function readNvidiaSmi(stdout: string, host: string, at: number): NvidiaSmiReading {
  const reason = noGpuReason(stdout);
  if (reason) throw new GpuUnavailableError(reason);
  const samples: GpuSample[] = [];
  const unreadable: string[] = [];
  for (const raw of stdout.split(/\r?\n/)) {
    const line = raw.trim();
    // nvidia-smi prints a warning line before the readings it still gives ("WARNING: infoROM is corrupted at gpu ...").
    if (!line || /^WARNING:/i.test(line)) continue;
    if (DEVICE_HANDLE.test(line)) {
      unreadable.push(...unreadableGpus(line));
      continue;
    }
    const f = line.split(',');
    if (f.length !== NVIDIA_SMI_FIELDS.length)
      throw new Error(
        `unexpected nvidia-smi line (${f.length} fields, want ${NVIDIA_SMI_FIELDS.length}): ${line.slice(0, 200)}`,
      );
    const index = text(f[0]);
    if (index === null || !/^\d+$/.test(index))
      throw new Error(`unexpected nvidia-smi GPU index: ${line.slice(0, 200)}`);
    const util = num(f[3]);
    const used = num(f[4]);
    const total = num(f[5]);
    samples.push({
      host,
      gpu: index,
      uuid: text(f[1]),
      name: text(f[2]),
      utilization: util === null ? null : util / 100,
      memoryUsedBytes: used === null ? null : used * MIB,
      memoryTotalBytes: total === null ? null : total * MIB,
      temperatureC: num(f[6]),
      powerW: num(f[7]),
      at,
    });
  }
  return { samples, unreadable };
}

/**
 * The readings of nvidia-smi's output (see readNvidiaSmi). Throws GpuUnavailableError on nvidia-smi's no-driver /
 * no-device messages or an empty answer, and an Error on lines it cannot read or when no GPU could be read.
 */
export function parseNvidiaSmi(stdout: string, host: string, at: number): GpuSample[] {
  const { samples, unreadable } = readNvidiaSmi(stdout, host, at);
  if (samples.length === 0) {
    if (unreadable.length > 0) throw new Error(`nvidia-smi read no GPU: ${unreadable.join('; ')}`);
    throw new GpuUnavailableError('nvidia-smi listed no GPU');
  }
  return samples;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program without a shell, in its own process group so that an abort kills it and anything it started.
 * Rejects with the spawn error (ENOENT, EACCES) or with `signal.reason` on abort.
 */
export function runProgram(path: string, args: readonly string[], signal: AbortSignal): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const child = spawn(path, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      windowsHide: true,
      env: { ...process.env, LC_ALL: 'C' },
    });
    let out = '';
    let err = '';
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const onAbort = (): void => {
      kill();
      child.stdout.destroy();
      child.stderr.destroy();
      finish(() => reject(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (out.length < MAX_OUTPUT) out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < MAX_OUTPUT) err += d;
    });
    child.on('error', (e) => finish(() => reject(e)));
    child.on('close', (code) => finish(() => resolve({ code, stdout: out, stderr: err })));
  });
}

/**
 * Where `name` would run from: itself when it names a path, else the first directory of `pathEnv` (PATH) holding an
 * executable file of that name, as execvp searches (an empty entry is the working directory); null when none does.
 * A few access() calls, where trying to spawn a program that is not there forks this whole process first (~27 ms of
 * the event loop under load, every poll, on the hosts without a GPU that most gateways run on).
 */
export async function findProgram(name: string, pathEnv = process.env.PATH ?? ''): Promise<string | null> {
  const runnable = async (p: string): Promise<boolean> => {
    try {
      await access(p, constants.X_OK);
      return (await stat(p)).isFile();
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return (await runnable(name)) ? name : null;
  for (const dir of pathEnv.split(delimiter)) {
    const p = join(dir || '.', name);
    if (await runnable(p)) return p;
  }
  return null;
}

export interface NvidiaSmiOptions {
  /** Binary to run (default `nvidia-smi`, looked up on PATH). */
  path?: string;
  /** Value of the `host` label. */
  host: string;
  now?: () => number;
}

export class NvidiaSmiCollector implements GpuCollector {
  readonly kind = 'nvidia-smi' as const;
  readonly source = 'local';
  /** The GPUs the last poll could not read while it read the others (a GPU fallen off the bus); null when none. */
  warning: string | null = null;
  /** How many GPUs `warning` names. */
  unreadable = 0;
  /**
   * Every GPU this collector has listed since it started, by UUID, with its index then. nvidia-smi can drop a GPU from
   * its list without a word and exit 0 (a GPU the driver removed after an Xid, a device unbound from the driver): one
   * listed before and missing now is reported as unreadable, as a GPU it says it cannot open is.
   */
  private readonly listed = new Map<string, string>();
  /**
   * A missing GPU (by UUID) matched to the bus id nvidia-smi began naming unreadable when, or after, it went missing:
   * one GPU, counted once. nvidia-smi's "device handle" line names a bus id and its list a UUID, so a GPU unreadable
   * since start and another dropped later are two, not one (R5).
   */
  private readonly sameGpu = new Map<string, string>();
  /** The bus ids the previous poll named unreadable. */
  private unreadableBefore = new Set<string>();
  private readonly path: string;
  private readonly now: () => number;

  constructor(private readonly opts: NvidiaSmiOptions) {
    this.path = opts.path ?? 'nvidia-smi';
    this.now = opts.now ?? Date.now;
  }

  async collect(signal: AbortSignal): Promise<GpuSample[]> {
    this.warning = null;
    this.unreadable = 0;
    let r: ExecResult;
    try {
      // Looked up each poll (not once), so a driver installed while llmscope runs is found without a restart.
      const found = await findProgram(this.path);
      if (found === null) throw Object.assign(new Error(`spawn ${this.path} ENOENT`), { code: 'ENOENT' });
      r = await runProgram(found, NVIDIA_SMI_ARGS, signal);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException)?.code;
      if (code === 'ENOENT')
        throw new GpuUnavailableError(`${this.path} not found (no NVIDIA driver installed on this host)`);
      throw e;
    }
    if (r.code === 0) return this.readings(readNvidiaSmi(r.stdout, this.opts.host, this.now()), r.stderr);
    const all = `${r.stdout}\n${r.stderr}`;
    // A non-zero exit with readings: a warning (exit 14, a corrupted infoROM), or GPUs it could not open beside the
    // ones it read (exit 15, a GPU fallen off the bus). The readings it gave are right and are kept: the lost GPU is
    // reported beside them, and the others stay watched. Without readings it fails as below.
    try {
      const reading = readNvidiaSmi(r.stdout, this.opts.host, this.now());
      const unreadable = reading.unreadable.length + unreadableGpus(r.stderr).length;
      if (reading.samples.length > 0 && (r.code === INFOROM_CORRUPTED || unreadable > 0))
        return this.readings(reading, r.stderr);
    } catch {
      /* reported below */
    }
    const reason = noGpuReason(all, r.code);
    if (reason) throw new GpuUnavailableError(reason);
    // What nvidia-smi said: a GPU it could not open rather than the first reading line before it.
    const said = all
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => DEVICE_HANDLE.test(l));
    const first = (said ?? (r.stderr.trim() || r.stdout.trim()).split('\n')[0])?.slice(0, 300) ?? '';
    throw new Error(
      `${this.path} exited with ${r.code === null ? 'a signal' : `code ${r.code}`}${first ? `: ${first}` : ''}`,
    );
  }

  private readings(reading: NvidiaSmiReading, stderr: string): GpuSample[] {
    const unreadable = [...reading.unreadable, ...unreadableGpus(stderr)];
    if (reading.samples.length === 0) {
      if (unreadable.length > 0) throw new Error(`nvidia-smi read no GPU: ${unreadable.join('; ')}`);
      throw new GpuUnavailableError('nvidia-smi listed no GPU');
    }
    const now = new Set<string>();
    for (const g of reading.samples)
      if (g.uuid !== null) {
        now.add(g.uuid);
        this.listed.set(g.uuid, g.gpu);
      }
    const buses = new Set(unreadable.map(busOf));
    const missing = [...this.listed.keys()].filter((uuid) => !now.has(uuid));
    for (const [uuid, bus] of this.sameGpu) if (now.has(uuid) || !buses.has(bus)) this.sameGpu.delete(uuid);
    const matched = new Set(this.sameGpu.values());
    // a bus id named unreadable since this poll is the GPU gone from the list (the one gone longest, if several)
    const fresh = [...buses].filter((b) => !this.unreadableBefore.has(b) && !matched.has(b));
    for (const uuid of missing) {
      if (fresh.length === 0) break;
      if (!this.sameGpu.has(uuid)) this.sameGpu.set(uuid, fresh.shift() as string);
    }
    this.unreadableBefore = buses;
    const unmatched = missing.filter((uuid) => !this.sameGpu.has(uuid));
    const said: string[] = [];
    if (unreadable.length > 0) said.push(`nvidia-smi could not read ${unreadable.join('; ')}`);
    if (unmatched.length > 0)
      said.push(
        `nvidia-smi no longer lists ${unmatched.map((uuid) => `GPU ${this.listed.get(uuid)} (${uuid})`).join(', ')}, listed before`,
      );
    this.warning = said.length > 0 ? said.join('; ') : null;
    this.unreadable = buses.size + unmatched.length;
    return reading.samples;
  }
}
