// The signal sources `llmscope alerts backtest` can replay from the store: the quality module's per-minute counts
// (hallucination_rate, thumbs_down_rate), read for each past window as the live source reads them for the current one.
// Budgets, GPUs and reconciliation publish live figures only, so their rules stay "not replayed".

import { qualitySignalSource } from '../quality/signals.js';
import { qualityStoreFor } from '../quality/storage/index.js';
import type { SignalSource } from '../signals/index.js';
import type { Store } from '../store/store.js';

export async function backtestSignalSources(store: Store): Promise<SignalSource[]> {
  return [qualitySignalSource(await qualityStoreFor(store.backend))];
}
