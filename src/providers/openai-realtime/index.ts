// OpenAI's Realtime API over WebSocket: the upgrade relayed to the provider (proxy.ts), each response metered from the
// server events as they pass (meter.ts) and recorded as one LlmCall (endpoint `realtime`).

export { frameType, RealtimeMeter, type RealtimeResponse, realtimeUsage } from './meter.js';
export { attachRealtime, REALTIME_PATH, type RealtimeDeps, type RealtimeGateway } from './proxy.js';
