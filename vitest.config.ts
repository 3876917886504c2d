import { configDefaults, defineConfig } from 'vitest/config';

// Tests that check timing against exact delays (TTFT/TPOT within a few ms, cancellation within 100 ms).
// `npm test` runs them after the rest, one file at a time, so other test files' CPU load does not skew them.
export const TIMING_FILES = [
  'src/simulator/server.test.ts',
  'test/e2e/gateway.test.ts',
  // TTFT of Gemini streams within 5 ms of the simulator's 40 ms (best of three): 6.7 ms off beside other files' load.
  'test/e2e/gateway-gemini.test.ts',
  // The same for Gemini streams on Vertex AI's paths (best of three).
  'test/e2e/reach-vertex.test.ts',
  // The same for Claude streams on Vertex AI's paths (@anthropic-ai/vertex-sdk, best of three).
  'test/e2e/reach-vertex-claude.test.ts',
  // The same for Responses API streams (best of three): failed beside other files' load in a clean-clone CI.
  'test/e2e/gateway-responses.test.ts',
  // The same for Codex, Gemini and Claude Code wire shapes: 7.6-7.9 ms off beside other files' load.
  'test/e2e/reach-wire.test.ts',
  // TTFT within 5 ms and TPOT within 2 ms of the simulator's for Anthropic streams (best of three): 6.8 ms off beside
  // other files' load.
  'test/e2e/gateway-anthropic.test.ts',
  // Realtime TTFT within 5 ms of the simulator's (best of two responses), client, llmscope and simulator in one process.
  'test/e2e/reach-realtime.test.ts',
  // The same for the Responses API's WebSocket mode (best of three responses on one connection).
  'test/e2e/responses-websocket-calls.test.ts',
  'test/e2e/shutdown.test.ts',
  // Passes 1 GB and watches the event loop's longest stall and RSS: alone, so other files' load does not count.
  'test/e2e/gateway-bounded.test.ts',
  // About 65 s of demo traffic judged by the default alert rules (p95 TTFT under 500 ms): alone, so load does not
  // make healthy traffic look slow.
  'test/e2e/demo.test.ts',
  // A recorder process and four gateway workers under 2,000 calls, a worker SIGKILLed mid-load and a drain: alone, so
  // its process tree does not share the cores with other files' servers.
  'test/e2e/workers.test.ts',
  // Workers killed 300 ms after their calls reached the upstream: the count of lost calls needs each worker to have had
  // a CPU in that time.
  'test/e2e/workers-budget-crash.test.ts',
  // Six slow streams read for 3 s after one of two workers is SIGKILLed: those still alive must have sent a chunk.
  'test/e2e/workers-cut-calls.test.ts',
  // Workers killed after server.workerTimeout (30 s: a replacement's start must fit in it) without an answer, and
  // /readyz's 10 s grace: a busy host would delay the heartbeat's answers and the start of the workers that replace
  // them.
  'test/e2e/workers-liveness.test.ts',
  // A recorder, two workers and PostgreSQL stopped for 8 s under six clients' load: counts calls served meanwhile.
  'test/e2e/workers-pg-outage.test.ts',
  // Two replicas × two workers on one PostgreSQL: waits on alert evaluation ticks and a key revoked on one replica
  // refused on the other within 3 s, across six processes.
  'test/e2e/qa25-replicas-workers.test.ts',
  // A recorder and two workers on SQLite on an 8 MiB tmpfs filled under load: needs more than 50 calls served in its
  // 6 s full-disk window.
  'test/e2e/qa25-workers-disk-full.test.ts',
  // A judge that never answers: grounding within 3 s and each judge call ended at its timeout, checked against the clock.
  'test/e2e/qa14-judge-slow.test.ts',
  // Waits on the dashboard's real 10 s refresh ticks with 1-5 s of slack: a loaded host delays the page's timers.
  'test/e2e/qa-ui-refresh-hold.test.ts',
  // Lingering closes, send and header timeouts of 300-600 ms, and a slow reader paused 200 ms that must not be cut.
  'src/http/listener.test.ts',
  // Two workers SIGKILLed 1 s after a Realtime response's first delta: the worker's 50 ms report of it must be out.
  'test/e2e/qa39-realtime-first-cut-workers.test.ts',
  // A key's tpm bucket read after a refused Realtime response: its refill over the test must stay under that
  // response's tokens (about 45 s of stall).
  'test/e2e/qa39-realtime-refused-tpm.test.ts',
];
const set = process.env.LLMSCOPE_TEST_SET;

export default defineConfig({
  test: {
    include: set === 'timing' ? TIMING_FILES : ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: set === 'rest' ? [...configDefaults.exclude, ...TIMING_FILES] : configDefaults.exclude,
    fileParallelism: set !== 'timing',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Lets modules that run on a worker thread (the SQLite writer's) load from TypeScript source.
    setupFiles: ['test/setup/worker-bundler.ts'],
  },
});
