// The cost module: prices every call (enricher), aggregates spend (sink → SpendStore), keeps budgets' ledger in step
// with the store at start, checks virtual keys and their rate limits, exposes /api/cost/* and /api/keys, the cost
// metrics, and the budget and reconciliation alert signals.
import { readFileSync } from 'node:fs';
import { Counter, Gauge } from 'prom-client';
import type { AppContext, Module, ModuleFactory } from '../app-context.js';
import type { Enricher, LlmCall, Sink } from '../calls/index.js';
import { unitsUnknown } from '../calls/units.js';
import { isRetryableAdd } from '../store/transient.js';
import { durationMs } from '../time.js';
import { type Budget, type BudgetLedger, InProcessBudgetLedger, periodStart } from './budgets.js';
import type { CostConfig } from './config.js';
import { ERASED_USERS_REFRESH_MS, ErasedUsers, userHash } from './erased-users.js';
import { SpaceSaving, userCostMetric } from './heavy-hitters.js';
import { costHooks, settleRecorded } from './hooks.js';
import { registerKeyRoutes } from './key-routes.js';
import type { RateLimiter } from './limits/limiter.js';
import { parseCostItems } from './non-api.js';
import { costCallPart, isUnpriced, priceEnricher } from './per-call.js';
import { dayOf } from './pricing.js';
import { registerCostRoutes } from './routes.js';
import { type CostRuntime, createCostRuntime } from './runtime.js';
import { rollupSpendQueries } from './scoped-spend.js';
import { SpendQueries } from './spend-queries.js';
import {
  deltasOf,
  type KeyStore,
  keyStoreFor,
  type SpendDimension,
  type SpendStore,
  sharedLedgerFor,
  sharedRateLimiterFor,
  spendStoreFor,
} from './storage/index.js';

const MAX_UNPRICED_MODELS = 1000;
/** How long a spend batch that failed with a passing error is tried again (as the store lane: server.ts STORE_RETRY_MS). */
const SPEND_RETRY_MS = 5 * 60_000;

const SCOPE_DIMENSION: Record<Budget['scope'], SpendDimension> = {
  global: 'all',
  user: 'user',
  team: 'team',
  feature: 'feature',
  key: 'key',
};

/** Restores each budget's spend in its current period from the store, so a restart does not reset budgets. */
export async function restoreBudgets(rt: CostRuntime, store: SpendStore): Promise<void> {
  const t = rt.clock.now();
  for (const b of rt.budgetList) {
    const start = periodStart(b.period, t);
    const rows = await store.daily({
      dimension: SCOPE_DIMENSION[b.scope],
      from: start,
      to: t + 1,
      value: b.match ?? undefined,
    });
    const sums = new Map<string, number>();
    for (const r of rows) sums.set(r.value, (sums.get(r.value) ?? 0) + r.costUsd);
    for (const [value, spent] of sums)
      if (b.scope === 'global' || value !== '') {
        const key = { budget: b.name, value, periodStart: start };
        await rt.ledger.load(key, spent);
        rt.budgets.restored(key, spent);
      }
  }
  await rt.budgets.ratios();
}

export interface CostModule extends Module {
  readonly runtime: CostRuntime;
  readonly spend: SpendStore;
  readonly queries: SpendQueries;
  readonly enricher: Enricher;
  readonly sink: Sink;
}

export interface CostModuleOptions {
  /** Spend aggregates (default: tables in the app's database). */
  spend?: SpendStore;
  /** The budget ledger (default: the shared one on PostgreSQL, else in-process). */
  ledger?: BudgetLedger;
  /** Virtual keys kept in the store (default: a table in the app's database). */
  keyStore?: KeyStore;
  /**
   * Per-key rate limit buckets (default: the shared limiter on PostgreSQL, else in-process). A gateway worker passes
   * one that forwards `take`/`settle` to the process holding the buckets.
   */
  limiter?: RateLimiter;
}

/**
 * Builds the module; `createCostModule` is this with the stores chosen from the app's. On PostgreSQL both the spend
 * aggregates and the budget ledger live in the database, so every replica sees and enforces the same figures.
 * Registers the virtual-key and budget hooks with the gateway.
 */
export async function buildCostModule(ctx: AppContext, opts: CostModuleOptions = {}): Promise<CostModule> {
  const config: CostConfig = ctx.config;
  const spend = opts.spend ?? (await spendStoreFor(ctx.store.backend));
  const ledger =
    opts.ledger ?? (await sharedLedgerFor(ctx.store.backend, () => ctx.clock.now())) ?? new InProcessBudgetLedger();
  const keyStore = opts.keyStore ?? (await keyStoreFor(ctx.store.backend));
  const limiter = opts.limiter ?? (await sharedRateLimiterFor(ctx.store.backend)) ?? undefined;
  const rt = createCostRuntime(config, { ledger, clock: ctx.clock, keyStore, limiter });
  for (const hook of costHooks(rt)) ctx.gateway.addHook(hook);
  // Whether calls need a key is known from the start, so a store outage later never leaves it unknown.
  await rt.directory.required();
  const log = ctx.logger.child({ module: 'cost' });
  for (const p of rt.keys.problems) log.warn({ event: 'config_warning' }, p);

  // Metrics beyond DESIGN's llm_cost_usd_total (observed by the metrics sink from call.costUsd).
  const unpricedTotal = new Counter({
    name: 'llmscope_unpriced_calls_total',
    help: 'Calls llmscope could not price (cost_usd null): a model with no price (add it under pricing.models), or a record sent to /api/ingest of a model priced per unit that gave neither its cost nor its units (price.unit, price.units), or an image or audio call of a model priced by its tokens that recorded no token usage.',
    labelNames: ['provider', 'model'],
    registers: [ctx.registry],
  });
  const unpricedToolUses = new Counter({
    name: 'llmscope_unpriced_tool_uses_total',
    help: 'Built-in tool uses (web search, file search) with no known price, left out of cost_usd (decision 162); price them under pricing.tools.',
    labelNames: ['tool', 'provider'],
    registers: [ctx.registry],
  });
  const blocked = new Counter({
    name: 'llmscope_budget_blocked_total',
    help: 'Calls refused with 429 budget_exceeded, by budget.',
    labelNames: ['budget'],
    registers: [ctx.registry],
  });
  const gapGauge = new Gauge({
    name: 'llm_reconciliation_gap_ratio',
    help: 'Latest reconciliation: (billed - tracked) / billed, by the bill’s providers.',
    labelNames: ['provider'],
    registers: [ctx.registry],
  });
  const rateLimited = new Counter({
    name: 'llmscope_rate_limited_total',
    help: 'Calls refused with 429 rate_limit_exceeded, by virtual key and the limit that refused (requests or tokens).',
    labelNames: ['key', 'limit'],
    registers: [ctx.registry],
  });
  const limiterErrors = new Counter({
    name: 'llmscope_rate_limiter_errors_total',
    help: 'Rate limit checks that failed (the store unreachable); those calls went through unlimited.',
    registers: [ctx.registry],
  });
  const ledgerFailures = new Counter({
    name: 'llmscope_budget_ledger_failures_total',
    help: "Budget ledger failures (its database out of reach), by op: reserve (a call let through without a reservation: budgets fail open), settle or add (a call's cost given up after 5 minutes of retries: the call is stored, its cost is missing from its budgets' spend).",
    labelNames: ['op'],
    registers: [ctx.registry],
  });
  for (const op of ['reserve', 'settle', 'add']) ledgerFailures.inc({ op }, 0);
  let ledgerWarnedAt = 0;
  const sketch = new SpaceSaving(config.pricing.topUsers);
  userCostMetric(ctx.registry, sketch);
  // Replicas on one PostgreSQL: an erase answered by another replica takes the user off this one's sketch too.
  const erasedUsers = ctx.store.backend.kind === 'postgres' ? new ErasedUsers(ctx.store.backend) : null;
  let erasedWarnedAt = 0;
  const forgetErased = async (): Promise<void> => {
    try {
      const hashes = await erasedUsers?.since();
      if (!hashes || hashes.length === 0) return;
      const erased = new Set(hashes);
      for (const user of sketch.items()) if (erased.has(userHash(user))) sketch.forget(user);
    } catch (err) {
      // the next refresh reads from the same place; said at most once a minute
      if (Date.now() - erasedWarnedAt < 60_000) return;
      erasedWarnedAt = Date.now();
      log.warn(
        { event: 'erased_users_refresh_failed', err: (err as Error).message },
        'could not read the users erased on other replicas; retrying',
      );
    }
  };

  rt.events = {
    onBlocked: (b, key) => {
      blocked.inc({ budget: b.name });
      log.info(
        { event: 'budget_blocked', budget: b.name, scope: b.scope, value: key.value },
        `budget ${b.name} blocked a call`,
      );
    },
    onThreshold: (b, key, threshold, ratio) =>
      log.warn(
        { event: 'budget_threshold', budget: b.name, scope: b.scope, value: key.value, threshold, ratio },
        `budget ${b.name}${b.scope === 'global' ? '' : ` (${b.scope} ${key.value})`} reached ${Math.round(ratio * 100)}% of $${b.limit}`,
      ),
    onRatio: (b, ratio) => ctx.metrics.budgetRatio.set({ budget: b.name }, ratio),
    onLedgerError: (op, err, retrying) => {
      if (!retrying) ledgerFailures.inc({ op });
      if (!retrying && op !== 'reserve') {
        log.error(
          { event: 'budget_ledger_write_lost', op, err: (err as Error)?.message },
          `a budget ledger ${op} failed for 5 minutes and was given up: that call's cost is missing from its budgets' spend`,
        );
        return;
      }
      // One line per 10 s while the ledger's database is out of reach, not one per call.
      const t = Date.now();
      if (t - ledgerWarnedAt < 10_000) return;
      ledgerWarnedAt = t;
      log.warn(
        { event: 'budget_ledger_failed', op, err: (err as Error)?.message },
        op === 'reserve'
          ? `budget check failed (${(err as Error)?.message}); calls are let through without a reservation, their cost added once the ledger is back`
          : `budget ledger ${op} failed (${(err as Error)?.message}); trying again`,
      );
    },
    onRateLimited: (key, by) => rateLimited.inc({ key: ctx.metrics.guard.value('key', key.id), limit: by }),
    onRateLimitError: (err) => {
      limiterErrors.inc();
      log.warn(
        { event: 'rate_limiter_failed', err: (err as Error)?.message },
        'rate limit check failed; call let through',
      );
    },
  };
  for (const b of rt.budgetList) ctx.metrics.budgetRatio.set({ budget: b.name }, 0);
  // A block budget's refusals counted from 0, so Prometheus's increase() sees its first refusal (the exported
  // BudgetExceeded fires on it).
  for (const b of rt.budgetList) if (b.action === 'block') blocked.inc({ budget: b.name }, 0);

  await restoreBudgets(rt, spend);

  const unpricedSeen = new Map<string, number>();
  /** Built-in tool uses without a price this process recorded, per `provider/tool/model` (decision 162). */
  const unpricedToolsSeen = new Map<
    string,
    { provider: string; tool: string; model: string; uses: number; last: number }
  >();
  // Pricing is the module's per-call part (per-call.ts: in each gateway worker with `serve --workers`); this
  // enricher, in the recorder process only, does what is one per deployment: unpriced models counted, budgets and
  // rate limits settled on the one ledger.
  ctx.perCall.add({ name: costCallPart.name, build: () => [priceEnricher(rt.prices)] });
  // An image or audio call of a model priced by its tokens that recorded no token usage (f72aebb): unpriced, though
  // its model has a price; its fix is its usage, not a price.
  const byTokens = (call: LlmCall): boolean =>
    call.inputTokens === null &&
    call.outputTokens === null &&
    rt.prices.billingUnitOf(call.model, call.provider, call.startedAt) === null;
  const enricher: Enricher = {
    name: 'cost-settle',
    enrich(call) {
      if (isUnpriced(call)) {
        const g = ctx.metrics.guard;
        // A folded provider or model is counted in llmscope_label_overflow_total once a call, by the metrics sink.
        unpricedTotal.inc({
          provider: g.value('provider', call.provider, false),
          model: g.value('model', call.model, false),
        });
        const k = `${call.provider}/${call.model}`;
        const n = unpricedSeen.get(k);
        if (n !== undefined) unpricedSeen.set(k, n + 1);
        else if (unpricedSeen.size < MAX_UNPRICED_MODELS) {
          unpricedSeen.set(k, 1);
          log.warn(
            { event: 'unpriced_model', provider: call.provider, model: call.model },
            // an ingested per-unit call that said no units (decision 152): the model has a price, the count is missing
            unitsUnknown(call) && !byTokens(call)
              ? `a call of model "${call.model}" (provider ${call.provider}) said neither its cost nor its units (price.unit, price.units): its cost_usd is null; send them with it`
              : byTokens(call)
                ? `a call of model "${call.model}" (provider ${call.provider}) recorded no token usage, and the model is priced by its tokens: its cost_usd is null; send its usage with it (the answer's usage, gen_ai.usage.* on a span)`
                : `no price for model "${call.model}" (provider ${call.provider}): its calls get cost_usd null; add it under pricing.models`,
          );
        }
      }
      // Built-in tool uses without a price: left out of cost_usd (decision 162), counted so they are not invisible.
      const tools = call.price?.tools;
      if (tools !== undefined)
        for (const t of tools) {
          if (t.unitPrice !== null || !(t.units > 0)) continue;
          const provider = ctx.metrics.guard.value('provider', call.provider, false);
          unpricedToolUses.inc({ tool: t.tool, provider }, t.units);
          const k = `${call.provider}/${t.tool}/${call.model}`;
          const seen = unpricedToolsSeen.get(k);
          if (seen) {
            seen.uses += t.units;
            seen.last = Math.max(seen.last, call.startedAt);
          } else if (unpricedToolsSeen.size < MAX_UNPRICED_MODELS)
            unpricedToolsSeen.set(k, {
              provider: call.provider,
              tool: t.tool,
              model: call.model,
              uses: t.units,
              last: call.startedAt,
            });
        }
      settleRecorded(rt, call);
    },
  };
  ctx.recorder.addEnricher(enricher);

  // Batches already counted in the user sketch: a batch written again after a failure is counted there once.
  const sketched = new WeakSet<readonly LlmCall[]>();
  const sink: Sink = {
    name: 'cost',
    lossless: true,
    // The database restarting or out of reach, a full disk: the batch is written again (as the store's is) for up
    // to 5 minutes, so the spend of the calls served meanwhile reaches /api/cost once it is back, instead of being
    // dropped while the calls themselves are stored. Only a batch certainly not applied: the upserts add.
    retry: { retryForMs: SPEND_RETRY_MS, retryable: isRetryableAdd },
    maxBatch: 1024,
    // on SQLite its next batch waits on the writer thread while one is written (the deltas are sums: order is free)
    inFlight: ctx.store.kind === 'sqlite' ? 2 : 1,
    // one spend upsert transaction per batch: wait a little for a fuller one
    lingerMs: 50,
    async write(calls) {
      if (!sketched.has(calls)) {
        sketched.add(calls);
        for (const c of calls) if (c.costUsd && c.user) sketch.add(c.user, c.costUsd);
      }
      await spend.apply(deltasOf(calls, isUnpriced));
    },
  };
  ctx.recorder.addSink(sink);

  const minuteRetention = durationMs(config.costs.minuteRetention);
  const gpuPriced = config.pricing.models.filter((m) => m.gpuHours !== undefined);
  const queries = new SpendQueries(spend, config.costs, gpuPriced, () => ctx.clock.now(), minuteRetention);

  let latest: { providers: string[]; ratio: number } | null = null;
  const noteReconciliation = (r: { report: unknown; gapRatio: number }): void => {
    const providers = ((r.report as { providers?: string[] }).providers ?? []).slice().sort();
    latest = { providers, ratio: r.gapRatio };
    gapGauge.reset();
    gapGauge.set({ provider: providers.join(',') || 'all' }, r.gapRatio);
  };
  const last = (await spend.listReconciliations(1))[0];
  if (last) noteReconciliation(last);

  registerCostRoutes(ctx.api, {
    rt,
    queries,
    audit: ctx.audit,
    bodyLimit: ctx.config.server.bodyLimit,
    unpriced: unpricedSeen,
    unpricedTools: unpricedToolsSeen,
    onReconciled: noteReconciliation,
    calls: ctx.store.backend,
    // A team-scoped principal's spend comes from the call rollups, narrowed to its scope (src/cost/scoped-spend.ts).
    scopedQueries: (scope) =>
      rollupSpendQueries(ctx.store, scope, {
        costs: config.costs,
        now: () => ctx.clock.now(),
        minuteRetentionMs: durationMs(ctx.config.storage.retention.minute),
      }),
  });

  registerKeyRoutes(ctx.api, {
    rt,
    keyStore,
    bodyLimit: ctx.config.server.bodyLimit,
    audit: ctx.audit,
    logger: ctx.logger,
  });

  ctx.signals.register({
    name: 'cost',
    // unpriced_calls: calls with tokens but no price, per provider and model, over the days the window touches (from
    // the spend aggregates); not an alert kind: the GPU page reads it so an unpriced model is not shown as costing $0.
    signals: ['budget_ratio', 'reconciliation_gap', 'unpriced_calls'],
    async query(q) {
      if (q.signal === 'unpriced_calls') {
        const cells = await queries.trackedCells(dayOf(q.now - q.windowMs), dayOf(q.now));
        const calls = new Map<string, { provider: string; model: string; n: number }>();
        for (const c of cells) {
          if (c.unpriced <= 0) continue;
          const k = `${c.provider}\u0000${c.model}`;
          const m = calls.get(k) ?? { provider: c.provider, model: c.model, n: 0 };
          m.n += c.unpriced;
          calls.set(k, m);
        }
        return [...calls.values()].map((m) => ({
          labels: { provider: m.provider, model: m.model },
          value: m.n,
          samples: m.n,
        }));
      }
      if (q.signal === 'budget_ratio') {
        const ratios = await rt.budgets.ratios();
        // A `block` budget that refused a call within the rule's window is at its limit for alerting, though its spend
        // may be under it (a call is refused when spend + calls in flight + its estimate would pass the limit): the
        // default BudgetExceeded (>= 1) fires while it refuses calls, and resolves once refusals stop (QA34).
        const blocked = await rt.budgets.blockedSince(q.now - q.windowMs);
        return [...ratios].map(([budget, ratio]) => ({
          labels: { budget },
          value: blocked.has(budget) ? Math.max(ratio, 1) : ratio,
          samples: null,
        }));
      }
      if (!latest) return [];
      return [{ labels: { provider: latest.providers.join(',') }, value: Math.abs(latest.ratio), samples: null }];
    },
  });

  let timer: NodeJS.Timeout | undefined;
  let erasedTimer: NodeJS.Timeout | undefined;
  const tick = async (): Promise<void> => {
    const failed = await runEach([
      ['budget ratios', () => rt.budgets.ratios()],
      // On PostgreSQL this sweep also notes this replica alive: run even when reading the ratios fails, or the other
      // replicas would release this live replica's reservations as a dead one's after a minute (R1).
      ['budget prune', () => rt.budgets.prune()],
      ['spend minutes', () => spend.pruneMinutes(ctx.clock.now() - minuteRetention)],
      // Daily rows (per user, key, team, ...) follow the hour rollups' retention: they were kept for ever (QA36).
      ['spend days', () => spend.pruneDays(ctx.clock.now() - durationMs(ctx.config.storage.retention.hour))],
    ]);
    if (failed.length > 0)
      log.warn({ event: 'cost_maintenance_failed', err: failed.join('; ') }, 'cost maintenance failed');
  };

  // DELETE /api/users/{id}/data: the erased user's per-user spend rows go too, and their per-user budgets' buckets
  // (on PostgreSQL, rows of budget_buckets and budget_reservations keyed by the user's id).
  const userBudgets = rt.budgetList.filter((b) => b.scope === 'user').map((b) => b.name);
  ctx.erasers?.push({
    name: 'cost',
    erase: async (user) => {
      // Not a row, but the user's id as a label of llm_user_cost_usd_total on /metrics: the series goes too.
      sketch.forget(user);
      // and off the other replicas' (they read it within ERASED_USERS_REFRESH_MS); a failure fails the erase, to be run again
      await erasedUsers?.announce(user);
      return {
        spend_rows: await spend.eraseUser(user),
        budget_rows: (await rt.ledger.forget?.(userBudgets, user)) ?? 0,
      };
    },
  });

  return {
    name: 'cost',
    runtime: rt,
    spend,
    queries,
    enricher,
    sink,
    async start() {
      for (const file of config.costs.itemFiles) {
        try {
          const items = parseCostItems(readFileSync(file, 'utf8'), file);
          await spend.addCostItems(items);
          log.info(
            { event: 'cost_items_loaded', file, items: items.length },
            `loaded ${items.length} cost items from ${file}`,
          );
        } catch (err) {
          log.warn(
            { event: 'cost_items_failed', file, err: (err as Error).message },
            `cost items from ${file} not loaded`,
          );
        }
      }
      timer = setInterval(() => void tick(), 15_000);
      timer.unref();
      if (erasedUsers) {
        await forgetErased();
        erasedTimer = setInterval(() => void forgetErased(), ERASED_USERS_REFRESH_MS);
        erasedTimer.unref();
      }
    },
    stop() {
      clearInterval(timer);
      clearInterval(erasedTimer);
    },
  };
}

/** The cost capability as a module for `createApp`. */
export const createCostModule: ModuleFactory = (ctx) => buildCostModule(ctx);

/**
 * Runs each maintenance step in turn, each whatever the others did (one failing does not skip the rest); returns what
 * failed, as `name: message`.
 */
export async function runEach(steps: readonly (readonly [string, () => unknown])[]): Promise<string[]> {
  const failed: string[] = [];
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (err) {
      failed.push(`${name}: ${(err as Error)?.message ?? String(err)}`);
    }
  }
  return failed;
}
