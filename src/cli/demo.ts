// `llmscope demo`: serve with the simulator as upstream, production-like traffic, a scripted incident and a simulated
// DCGM exporter, so every page of the dashboard fills within seconds and the alerts have something true to say.
//
// Three providers share the simulator (openai, anthropic, and a self-hosted vLLM whose GPUs the exporter reports).
// The traffic is RAG-style with grounded answers and a few hallucinations (src/simulator/production.ts); the
// scenario (src/simulator/scenario.ts) slows then fails one provider and makes one user's cost spike, every cycle.
// The default rules keep their thresholds; only their `for` is shortened (demo tempo) so an incident fires and
// resolves within minutes. Everything the demo sets is a default: a config file (--config) wins.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { workerCount } from '../cluster/primary.js';
import type { Config, ConfigInput } from '../config/index.js';
import { hashKey, newKey } from '../cost/index.js';
import { withRuntimeKeys } from '../cost/keys.js';
import { hashToken } from '../http/index.js';
import { type App, createApp } from '../server.js';
import {
  conditionsAt,
  type DcgmExporter,
  SCENARIOS,
  type ScenarioName,
  type Simulator,
  startDcgmExporter,
  startSimulator,
  startTraffic,
  type Traffic,
} from '../simulator/index.js';
import { redactPgUrl, sqlitePathOf } from '../store/index.js';
import { builtinModules } from './modules.js';
import { configFromFlags, runApp, type ServeFlags } from './serve.js';
import { storedKeyCount } from './stored-keys.js';

export interface DemoOptions {
  scenario: ScenarioName;
  /** Requests per second of generated traffic. */
  rps: number;
  /** Length of one incident cycle in ms. */
  cycleMs: number;
  /** Share of grounded answers that are hallucinated. */
  hallucinationRate: number;
  /** Share of answered chats given a thumbs up or down. */
  feedbackShare?: number;
  seed?: number;
}

export interface Demo {
  app: App;
  /** llmscope's base URL (no /v1). */
  base: string;
  sim: Simulator;
  dcgm: DcgmExporter;
  traffic: Traffic;
  /** The gateway needs virtual keys at start (the store or the config has some); the traffic always sends its own. */
  keyed: boolean;
  /** Where the demo's data goes, for its banner (demoStoreLine). */
  store: string;
  /** Settings the demo does not follow, said in its banner (demoNotices). */
  notices: string[];
  /** The scenario's current phase. */
  phase(): string;
  /** Stops the traffic, the simulator and the exporter (not the app: its owner closes it). */
  stop(): Promise<void>;
}

export interface DemoFlags extends ServeFlags {
  rps: string;
  scenario: string;
  incidentEvery: string;
  hallucinationRate: string;
}

/** The self-hosted model and the host whose GPUs serve it. */
const SELF_HOSTED = { provider: 'vllm', model: 'llama-3.1-8b-instruct', host: 'gpu-node-1', share: 0.23 };

/** Parses `90s`, `10m`, `1h` or a number of seconds. */
export function parseCycle(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m?.[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const v = m ? Number(m[1]) * unit : Number.NaN;
  if (!(v >= 20_000 && v <= 24 * 3_600_000))
    throw new Error(`--incident-every must be a duration from 20s to 24h, such as 10m or 90s; got "${text}"`);
  return v;
}

const seconds = (msv: number) => `${Math.max(1, Math.round(msv / 1000))}s`;

/**
 * Alert timing for the demo's tempo. Thresholds stay the default pack's; `for` drops from 10m to 1m so an incident
 * fires within its own phase, and SingleCallCostHigh looks back less than a cycle so a spike resolves before the
 * next one. A short cycle (tests, under 5 minutes) also shortens the windows to 1 minute and evaluates every 2 s.
 */
export function demoAlerts(cycleMs: number): NonNullable<ConfigInput['alerts']> {
  const fast = cycleMs < 5 * 60_000;
  const holdFor = fast ? seconds(Math.min(60_000, cycleMs / 10)) : '1m';
  const windowed = fast ? { window: '1m' } : {};
  return {
    evaluationInterval: fast ? '2s' : '10s',
    overrides: {
      HighLatency: { for: holdFor, ...windowed },
      HighErrorRate: { for: holdFor, ...windowed },
      HighTTFT: { for: holdFor, ...windowed },
      HighTPOT: { for: holdFor, ...windowed },
      ServiceDegraded: fast
        ? {
            for: holdFor,
            conditions: [
              { kind: 'latency_quantile', quantile: 0.95, window: '1m', op: '>', threshold: 2, minSamples: 10 },
              { kind: 'error_rate', window: '1m', op: '>', threshold: 0.01, minSamples: 20 },
            ],
          }
        : { for: holdFor },
      SingleCallCostHigh: { window: fast ? '10s' : seconds(Math.min(5 * 60_000, cycleMs * 0.3)) },
    },
  };
}

/**
 * The id of the key the demo's traffic calls with: kept in memory, never in the store, listed nowhere, and not one
 * that makes the gateway need keys (withRuntimeKeys), so the traffic goes on when the user creates a key meanwhile.
 */
export const DEMO_TRAFFIC_KEY_ID = 'demo-traffic';

/**
 * The name of the operator token the demo's traffic posts its simulated thumbs up/down with: the audit log records
 * them as `feedback.put` by this actor, not by `admin`, so the Audit page can tell them from people's actions.
 */
export const DEMO_TRAFFIC_ACTOR = 'demo-traffic';

/**
 * The demo's config: the user's file and flags, with the demo's defaults where they set nothing. `trafficKeyHash`:
 * the demo's own traffic key (DEMO_TRAFFIC_KEY_ID), given to the app with withRuntimeKeys, trusting its attribution
 * headers. `feedbackTokenHash`: an operator token named DEMO_TRAFFIC_ACTOR (in memory only) for the traffic's feedback, unless
 * the user's `auth.tokens` already has one of that name.
 */
export function demoConfig(
  flags: ServeFlags,
  opts: DemoOptions,
  urls: { sim: string; dcgm: string },
  trafficKeyHash?: string,
  feedbackTokenHash?: string,
): Config {
  const config = configFromFlags({ ...flags, upstream: undefined, providerName: undefined }, (raw) => {
    const r = raw as ConfigInput & Record<string, unknown>;
    const tokens = r.auth?.tokens ?? [];
    if (feedbackTokenHash && !tokens.some((t) => t.name === DEMO_TRAFFIC_ACTOR))
      r.auth = {
        ...(r.auth ?? {}),
        tokens: [...tokens, { name: DEMO_TRAFFIC_ACTOR, role: 'operator', tokenHash: feedbackTokenHash }],
      };
    r.providers = [
      { name: 'openai', baseUrl: urls.sim, models: ['gpt-*', 'o1*', 'o3*', 'o4*', 'text-embedding-*'] },
      { name: 'anthropic', baseUrl: urls.sim, models: ['claude-*'] },
      { name: SELF_HOSTED.provider, baseUrl: urls.sim, models: ['llama-*'] },
      // The simulator speaks Anthropic's and Gemini's wire formats too: an Anthropic or Gemini client pointed at the
      // demo (README: "point your OpenAI, Anthropic or Gemini client at it") is answered, not refused 404.
      { name: 'anthropic-messages', type: 'anthropic', baseUrl: urls.sim, models: ['claude-*'] },
      { name: 'gemini', type: 'gemini', baseUrl: urls.sim.replace(/\/v1$/, '/v1beta'), models: ['gemini-*'] },
    ];
    r.routes = [];
    // Simulated calls, spend and alert history go to a store of their own unless a config file or
    // LLMSCOPE_STORAGE_URL names one: `llmscope serve` run later from the same folder must not find them in its totals.
    const storage = { ...((r.storage as object) ?? {}) } as Record<string, unknown>;
    storage.url ??= DEMO_STORAGE_URL;
    r.storage = storage as ConfigInput['storage'];
    // Prompts and answers are kept (redacted) so the request page and the review queue show text.
    r.telemetry = { captureContent: true, ...(r.telemetry ?? {}) };
    // The self-hosted Llama at a hosted open-model rate.
    r.pricing ??= { models: [{ model: SELF_HOSTED.model, input: 0.05, output: 0.08 }] };
    // Sized for the demo's own spend (about $6 an hour of traffic at 8 requests/s, plus $25 an hour of cost spikes
    // in the incident scenario: under DailySpendHigh's $1000 a day), so budgets show progress, not alarms.
    r.budgets ??= [
      { name: 'demo-monthly', scope: 'global', period: 'month', limit: 30_000, action: 'alert' },
      { name: 'per-team-daily', scope: 'team', period: 'day', limit: 1000, action: 'alert' },
    ];
    r.gpu ??= {
      collector: 'dcgm',
      interval: '5s',
      dcgmUrls: [urls.dcgm],
      hosts: [
        { host: SELF_HOSTED.host, providers: [SELF_HOSTED.provider], models: [SELF_HOSTED.model], gpuHourPrice: 2.49 },
      ],
    };
    r.alerts ??= demoAlerts(opts.cycleMs);
  });
  if (!trafficKeyHash) return config;
  return withRuntimeKeys(config, [
    {
      id: DEMO_TRAFFIC_KEY_ID,
      hash: trafficKeyHash,
      trustHeaders: ['user', 'team', 'feature', 'session'],
      disabled: false,
    },
  ]);
}

/** What the demo tells its user about settings it does not follow (the banner prints them). */
export function demoNotices(config: Config, flags: Pick<ServeFlags, 'upstream' | 'providerName'> = {}): string[] {
  const n = workerCount(config.server.workers);
  const notes =
    n >= 2
      ? [
          `demo runs in one process: --workers / server.workers (${n}) is for \`llmscope serve --workers N\` (with \`llmscope simulate\` as its upstream)`,
        ]
      : [];
  // serve's flags are the demo's too, but its traffic goes to its own simulator: said, not dropped without a word
  const given = (['upstream', 'providerName'] as const).filter((k) => flags[k] !== undefined);
  if (given.length > 0)
    notes.push(
      `demo calls its own simulated upstream: ${given.map((k) => (k === 'upstream' ? '--upstream' : '--provider-name')).join(' and ')} ${given.length > 1 ? 'are' : 'is'} for \`llmscope serve --upstream URL\``,
    );
  return notes;
}

/** The demo's own store when nothing names one (beside serve's default, ./llmscope-data/llmscope.db). */
export const DEMO_STORAGE_URL = 'sqlite:./llmscope-data/demo.db';

/**
 * The banner's store line: where the demo's simulated calls, spend and alerts go, and how other commands read them.
 * By default a file of its own (DEMO_STORAGE_URL); a config or LLMSCOPE_STORAGE_URL may name serve's store instead,
 * and then the line says the two are mixed. A PostgreSQL URL is shown without its password.
 */
export function demoStoreLine(config: Config, cwd = process.cwd()): string {
  const u = config.storage.url.trim();
  if (u.startsWith('sqlite:')) {
    const path = sqlitePathOf(u);
    if (!path || path === ':memory:') return 'in memory (nothing is kept after Ctrl-C)';
    const file = resolve(cwd, path);
    if (file === resolve(cwd, sqlitePathOf(DEMO_STORAGE_URL)))
      return (
        `${file} (simulated calls, spend and alerts; \`llmscope serve\` keeps its own in llmscope.db)\n` +
        `              other commands read it with LLMSCOPE_STORAGE_URL=${DEMO_STORAGE_URL}`
      );
    return (
      `${file} (simulated calls, spend and alerts)\n` +
      '              this is the store your config or LLMSCOPE_STORAGE_URL names: if `llmscope serve` uses it too,\n' +
      '              the simulated calls and spend are mixed into its totals'
    );
  }
  return `${redactPgUrl(u)} (simulated calls, spend and alerts go into this database)`;
}

/** Starts the simulator, the exporter, llmscope (through `start`) and the traffic. */
export async function startDemo(
  flags: ServeFlags,
  opts: DemoOptions,
  start: (config: Config, onStop: () => Promise<void>) => Promise<App>,
): Promise<Demo> {
  const sim = await startSimulator({ port: 0, ttftMs: 180, tpotMs: 12, jitter: true, seed: opts.seed ?? 42 });
  // The self-hosted model's load: its requests over the last minute against what the traffic is meant to send.
  // Measured from the first request on; until then the host reads as it would have been serving before the demo
  // started (the expected load), so the seconds of start-up do not pull GpuUnderutilized's 5-minute average down.
  const recent: number[] = [];
  const WINDOW_MS = 60_000;
  let first: number | null = null;
  sim.events.on('request', (r) => {
    if ((r.body as { model?: unknown } | null)?.model !== SELF_HOSTED.model) return;
    first ??= Date.now();
    recent.push(Date.now());
  });
  const load = () => {
    const now = Date.now();
    while (recent.length > 0 && recent[0]! < now - WINDOW_MS) recent.shift();
    if (first === null) return 1;
    const span = Math.min(WINDOW_MS, Math.max(1000, now - first));
    return recent.length / ((span / 1000) * opts.rps * SELF_HOSTED.share * 0.95);
  };
  let dcgm: DcgmExporter;
  try {
    dcgm = await startDcgmExporter({ hostname: SELF_HOSTED.host, gpus: 4, load, seed: opts.seed ?? 42 });
  } catch (err) {
    await sim.close();
    throw err;
  }
  let traffic: Traffic | undefined;
  const stop = async () => {
    await traffic?.stop();
    await sim.close();
    await dcgm.close();
  };
  let app: App;
  let config: Config;
  // The traffic always calls with a key of its own: a key created while the demo runs (the Keys page, `llmscope keys
  // create` on its store) makes every keyless call 401, the traffic's too, had it none.
  const trafficKey = newKey();
  let keyed = false;
  // The traffic's thumbs up/down go in as an operator of their own (DEMO_TRAFFIC_ACTOR), not with the admin token:
  // the audit log records each as that actor's `feedback.put`, apart from the admin's own actions.
  const feedbackToken = `lst_${randomBytes(24).toString('base64url')}`;
  try {
    config = demoConfig(flags, opts, { sim: sim.url, dcgm: dcgm.url }, hashKey(trafficKey), hashToken(feedbackToken));
    // Once the store has a virtual key (`llmscope keys create`, even revoked) or the config lists one, every gateway
    // call needs one (the banner's curl then shows a key).
    keyed = config.keys.length > 0 || (await storedKeyCount(config, true)) > 0;
    app = await start(config, stop);
  } catch (err) {
    await stop();
    throw err;
  }
  const address = app.server.address() as { port: number };
  const base = `http://${config.server.host}:${address.port}`;
  const scenario = { name: opts.scenario, cycleMs: opts.cycleMs };
  const t0 = Date.now();
  traffic = startTraffic({
    baseUrl: `${base}/v1`,
    rps: opts.rps,
    seed: opts.seed ?? 7,
    style: 'production',
    hallucinationRate: opts.hallucinationRate,
    conditions: (elapsed) => conditionsAt(scenario, elapsed),
    feedbackUrl: `${base}/api/feedback`,
    feedbackShare: opts.feedbackShare,
    // On the fast tempo's 1-minute windows, one background error among a model's calls would cross the 1% rule.
    backgroundErrors: opts.cycleMs >= 5 * 60_000,
    feedbackToken: config.auth.tokens.some(
      (t) => t.name === DEMO_TRAFFIC_ACTOR && t.tokenHash === hashToken(feedbackToken),
    )
      ? feedbackToken
      : config.server.adminToken,
    apiKey: trafficKey,
  });
  return {
    app,
    base,
    sim,
    dcgm,
    traffic,
    keyed,
    store: demoStoreLine(config),
    notices: demoNotices(config, flags),
    phase: () => conditionsAt(scenario, Date.now() - t0).phase,
    stop,
  };
}

/** Starts llmscope in this process without signal handlers (tests); the caller closes the app. */
export async function startDemoApp(config: Config): Promise<App> {
  const app = await createApp(config, { modules: builtinModules() });
  await app.listen();
  return app;
}

/** `llmscope demo`'s action (declared in ./commands.ts). */
export async function demoCommand(flags: DemoFlags): Promise<void> {
  const rps = Number(flags.rps);
  if (!Number.isFinite(rps) || rps <= 0 || rps > 1000)
    throw new Error(`--rps must be a number from 0 to 1000, got "${flags.rps}"`);
  if (!(SCENARIOS as readonly string[]).includes(flags.scenario))
    throw new Error(`--scenario must be one of ${SCENARIOS.join(', ')}, got "${flags.scenario}"`);
  const hallucinationRate = Number(flags.hallucinationRate);
  if (!(hallucinationRate >= 0 && hallucinationRate <= 1))
    throw new Error(`--hallucination-rate must be a share from 0 to 1, got "${flags.hallucinationRate}"`);
  const cycleMs = parseCycle(flags.incidentEvery);
  const opts: DemoOptions = { scenario: flags.scenario as ScenarioName, rps, cycleMs, hallucinationRate };
  const demo = await startDemo(flags, opts, runApp);
  const { base } = demo;
  const minutes = Math.round((cycleMs / 60_000) * 10) / 10;
  const story =
    opts.scenario === 'healthy'
      ? 'healthy traffic only: no alert should fire'
      : opts.scenario === 'incident'
        ? `every ${minutes} min user-07's agent runs up a bill; then the anthropic provider slows, fails, and recovers`
        : `every ${minutes} min user-07's agent runs up a bill`;
  process.stderr.write(
    [
      '',
      `  llmscope demo is running: ~${rps} requests/s of production-like traffic (scenario ${opts.scenario})`,
      `  ${story}`,
      ...(opts.scenario === 'healthy'
        ? []
        : [
            `  alert rules run on demo tempo (\`for\` shortened${cycleMs < 5 * 60_000 ? ', 1-minute windows' : ''}); pass --config to use your own`,
          ]),
      '',
      `  dashboard   ${base}/`,
      `  OpenAI API  ${base}/v1        (try: curl ${base}/v1/chat/completions -H 'content-type: application/json'${demo.keyed ? " -H 'authorization: Bearer lsk_...'" : ''} -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}')`,
      `  Anthropic   ${base}  (new Anthropic({ baseURL }), claude-*)    Gemini  ${base}  (@google/genai httpOptions.baseUrl, gemini-*)`,
      ...(demo.keyed
        ? [
            '              this store has virtual keys, so calls need one (llmscope keys create NAME); the demo traffic uses',
            `              its own, "${DEMO_TRAFFIC_KEY_ID}", kept in memory only`,
          ]
        : []),
      `  metrics     ${base}/metrics`,
      `  alerts      ${base}/api/alerts     quality ${base}/api/quality/summary     GPUs ${base}/api/gpu`,
      `  simulated   upstream ${demo.sim.url}   dcgm-exporter ${demo.dcgm.url}`,
      `  store       ${demo.store}`,
      ...demo.notices.map((n) => `  note: ${n}`),
      '',
      '  Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}
