// The signal sources `llmscope alerts backtest` can replay from the store: the quality module's per-minute counts
// (hallucination_rate, thumbs_down_rate) and the gpu module's per-minute GPU rollups (gpu_utilization, gpu_memory),
// each read for a past window as the live source reads it for the current one. Budgets and reconciliation publish
// live figures only, so their rules stay "not replayed".
import type { Config } from '../config/index.js';
import { gpuConfigSchema } from '../gpu/config.js';
import { gpuSignalSource } from '../gpu/signals.js';
import { gpuStoreFor } from '../gpu/storage/index.js';
import { qualitySignalSource } from '../quality/signals.js';
import { qualityStoreFor } from '../quality/storage/index.js';
import type { SignalSource } from '../signals/index.js';
import type { Store } from '../store/store.js';

/** The sources whose tables open on this store; one that cannot leaves its rules "not replayed" rather than failing. */
export async function backtestSignalSources(store: Store, config: Config): Promise<SignalSource[]> {
  const hosts = gpuConfigSchema.parse(config.gpu ?? {}).hosts;
  const out: SignalSource[] = [];
  // one after the other: each migrates its tables on the one database
  for (const open of [
    async () => qualitySignalSource(await qualityStoreFor(store.backend)),
    async () => gpuSignalSource(await gpuStoreFor(store.backend), hosts),
  ])
    try {
      out.push(await open());
    } catch {
      // its rules are listed as not replayed
    }
  return out;
}
