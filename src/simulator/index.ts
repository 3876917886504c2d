// The simulator's public face: the simulated OpenAI-compatible upstream, its CLI command, and the traffic generator.
export { registerSimulateCommand, type SimulateIo } from './cli.js';
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
export {
  type CancelRecord,
  DEFAULT_JUDGE_REPLY,
  FAULTS,
  type Fault,
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
