// Public face of gpu/: the module factory, the config schema, and the collector interface with its implementations.
export { type GpuApiBody, gpuReport, parseGpuQuery, registerGpuRoutes } from './api.js';
export { type GpuConfig, type GpuHostConfig, gpuConfigSchema } from './config.js';
export { DcgmCollector, parseDcgm } from './dcgm.js';
export {
  computeEfficiency,
  type EfficiencyRow,
  type GpuSignal,
  gpuSignals,
  hostServes,
  type ModelTokens,
} from './efficiency.js';
export { GpuMetrics } from './metrics.js';
export {
  buildGpuModule,
  collectorsFromConfig,
  createGpuModule,
  type GpuModule,
  type GpuModuleOptions,
} from './module.js';
export { NVIDIA_SMI_ARGS, NvidiaSmiCollector, noGpuReason, parseNvidiaSmi } from './nvidia-smi.js';
export { Poller, type PollOutcome } from './poller.js';
export { parsePromText } from './prom-text.js';
export { GpuState } from './state.js';
export {
  type GpuPoint,
  type GpuSeries,
  type GpuStore,
  type GpuUsage,
  gpuStoreFor,
  MemoryGpuStore,
  PostgresGpuStore,
  SqliteGpuStore,
} from './storage/index.js';
export { type CollectorKind, type GpuCollector, type GpuSample, GpuUnavailableError } from './types.js';
