// Helpers for the gpu tests: recorded outputs, and fake `nvidia-smi` programs written to a temp dir.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RollupPoint, RollupQuery, Store } from '../store/store.js';
import { NVIDIA_SMI_ARGS, NvidiaSmiCollector } from './nvidia-smi.js';
import { Poller } from './poller.js';
import { GpuState } from './state.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Writes an executable `nvidia-smi` into a fresh temp dir and returns the dir. The fake checks that it was called
 * with the collector's exact query (exit 2 otherwise, as nvidia-smi does for bad arguments), then prints
 * `fixtureName` and exits with `exitCode`; with `hang`, it sleeps instead of answering.
 */
export function fakeNvidiaSmi(opts: { fixture?: string; exitCode?: number; hang?: boolean; stderr?: string }): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-fake-smi-'));
  const lines = [
    '#!/bin/sh',
    `if [ "$1" != ${quote(NVIDIA_SMI_ARGS[0] as string)} ] || [ "$2" != ${quote(NVIDIA_SMI_ARGS[1] as string)} ]; then`,
    '  echo "Invalid combination of input arguments. Please run \'nvidia-smi -h\' for help." >&2',
    '  exit 2',
    'fi',
  ];
  if (opts.hang) lines.push('sleep 3600');
  if (opts.fixture) lines.push(`cat ${quote(join(FIXTURES, opts.fixture))}`);
  if (opts.stderr) lines.push(`echo ${quote(opts.stderr)} >&2`);
  lines.push(`exit ${opts.exitCode ?? 0}`);
  const path = join(dir, 'nvidia-smi');
  writeFileSync(path, `${lines.join('\n')}\n`);
  chmodSync(path, 0o755);
  return dir;
}

/** A Store that answers rollup queries with fixed points (the rest of the ledger is not needed by gpu/). */
export function rollupStore(
  points: Array<{ provider: string; model: string; outputTokens: number; costUsd?: number }>,
): Store {
  const unused = (): never => {
    throw new Error('not used by the gpu tests');
  };
  return {
    kind: 'sqlite',
    // no database: a module that wants one for its own tables fails loudly
    backend: {
      kind: 'sqlite',
      get db(): never {
        return unused();
      },
      migrations: { register: unused },
      write: unused,
    },
    migrate: async () => undefined,
    insertCalls: async () => undefined,
    getCall: async () => null,
    knownIds: async () => new Set<string>(),
    insertCallLogs: async () => undefined,
    callLogs: async () => ({ lines: [], dropped: 0 }),
    userCallIds: unused,
    deleteCalls: unused,
    listCalls: async () => ({ items: [], nextCursor: null }),
    queryRollups: async (q: RollupQuery): Promise<RollupPoint[]> =>
      points.map((p) => ({
        t: q.from,
        group: { provider: p.provider, model: p.model },
        requests: 1,
        statuses: {},
        errors: 0,
        inputTokens: 0,
        outputTokens: p.outputTokens,
        cachedInputTokens: 0,
        costUsd: p.costUsd ?? 0,
        refusals: 0,
        latency: {},
        ttft: {},
        tpot: {},
      })),
    applyRetention: unused,
    ping: async () => true,
    close: async () => undefined,
  };
}

/**
 * Polls an nvidia-smi that answers each of `texts` in turn (exit 0) through the poller into GPU state, and gives after
 * each poll how many GPUs the state counts unreadable (`llmscope_gpu_unreadable_gpus`) and the reason it says.
 */
export async function unreadableOverPolls(texts: string[]): Promise<{ unreadable: number; reason: string | null }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-smi-polls-'));
  const answer = join(dir, 'answer.txt');
  const smi = join(dir, 'nvidia-smi');
  writeFileSync(smi, `#!/bin/sh\ncat ${JSON.stringify(answer)}\n`);
  chmodSync(smi, 0o755);
  const state = new GpuState({ staleAfterMs: 60_000, now: () => 1 });
  state.register('nvidia-smi', 'local');
  const collector = new NvidiaSmiCollector({ path: smi, host: 'dgx-1', now: () => 1 });
  const poller = new Poller({
    collector,
    intervalMs: 60_000,
    timeoutMs: 10_000,
    onOutcome: (o, c) => state.update(c.kind, c.source, o),
  });
  const seen: { unreadable: number; reason: string | null }[] = [];
  for (const text of texts) {
    writeFileSync(answer, text);
    await poller.poll();
    seen.push({ unreadable: state.unreadable()[0]?.gpus ?? -1, reason: state.states()[0]?.reason ?? null });
  }
  await poller.stop();
  return seen;
}
