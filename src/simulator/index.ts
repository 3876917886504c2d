// The simulator's public face: the simulated OpenAI-compatible upstream, its CLI command, the traffic generator
// (load and production styles), the demo's scenarios, and a simulated DCGM exporter.
export { registerSimulateCommand, type SimulateIo } from './cli.js';
export { PASSAGES, type Passage, PRODUCT } from './corpus.js';
export {
  type DcgmExporter,
  type DcgmExporterOptions,
  renderDcgmPage,
  startDcgmExporter,
  utilizationAt,
} from './dcgm-exporter.js';
export {
  MAX_DELAY_MS,
  MAX_DIMENSIONS,
  MAX_OUTPUT_TOKENS,
  type ResolvedSimulatorOptions,
  resolveSimulatorOptions,
  SIMULATOR_DEFAULTS,
  SimulatorOptionError,
  type SimulatorOptions,
} from './options.js';
export { type AnswerKind, PRODUCTION_MODELS, PRODUCTION_PROFILES } from './production.js';
export {
  conditionsAt,
  DEFAULT_CYCLE_MS,
  SCENARIOS,
  type ScenarioName,
  type ScenarioOptions,
  SPIKE_MODEL,
  SPIKE_USER,
  type TrafficConditions,
} from './scenario.js';
export {
  type CancelRecord,
  DEFAULT_JUDGE_REPLY,
  FAULTS,
  type Fault,
  type FirstTokenRecord,
  JUDGE_MARKER,
  MAX_BODY_BYTES,
  RATE_LIMIT_RETRY_MS,
  type RequestRecord,
  type Simulator,
  type SimulatorEvents,
  type SimulatorStats,
  startSimulator,
} from './server.js';
export { REFUSALS } from './text.js';
export {
  DEFAULT_TRAFFIC_MODELS,
  startTraffic,
  type Traffic,
  type TrafficOptions,
  type TrafficStats,
} from './traffic.js';
