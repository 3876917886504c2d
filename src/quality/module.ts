// The quality capability, assembled: refusal and capture enrichers (added when the module is built, so they run
// before the `content` enricher clears the text), the quality sink, the evaluation runner, the store (PostgreSQL,
// shared by the replicas, when the app's store is; SQLite in the ledger's database; else memory), the knowledge
// base, the judge, the API routes, and the hallucination and thumbs-down signals for alert rules.
import type { DetailExtra } from '../api/requests.js';
import type { AppContext, Module, ModuleFactory } from '../app-context.js';
import type { LlmCall } from '../calls/index.js';
import { durationMs } from '../config/index.js';
import { ModelRouter } from '../gateway/routing.js';
import { Redactor } from '../privacy/index.js';
import { scopedStore } from '../store/index.js';
import { dropLogger } from '../telemetry/drop-log.js';
import { registerQualityRoutes } from './api.js';
import { ChatClient } from './chat-client.js';
import { type QualityConfig, qualityConfigSchema } from './config.js';
import { SourceAttributionEvaluator } from './evaluators/attribution.js';
import { SelfConsistencyEvaluator } from './evaluators/consistency.js';
import { GroundingEvaluator } from './evaluators/grounding.js';
import { LlmJudgeEvaluator } from './evaluators/judge.js';
import type { Evaluator } from './evaluators/types.js';
import { KnowledgeBase } from './knowledge.js';
import { NliEvaluator } from './nli/evaluator.js';
import { qualityCallPart } from './per-call.js';
import { refusalEnricher } from './refusal.js';
import { BoundedRunner } from './runner.js';
import { sampled } from './sampling.js';
import { type EvaluatorName, QualityService } from './service.js';
import { qualitySignalSource } from './signals.js';
import { type QualityStore, qualityStoreFor } from './storage/index.js';

export interface QualityModule extends Module {
  readonly service: QualityService;
  readonly store: QualityStore;
  readonly config: QualityConfig;
  readonly knowledge: KnowledgeBase | undefined;
  /** Evaluations of one call, in wire form (for `/api/requests/:id`). */
  evaluationsFor(
    requestId: string,
  ): Promise<ReturnType<QualityService['evaluationsFor']> extends Promise<infer T> ? T : never>;
  /** Feedback on one call, in wire form (for `/api/requests/:id`). */
  feedbackFor(
    requestId: string,
  ): Promise<ReturnType<QualityService['feedbackFor']> extends Promise<infer T> ? T : never>;
  /** `{ evaluations, feedback }` for the requests API's detail view. */
  readonly detailExtra: DetailExtra;
  /** Resolves when queued evaluations have finished (tests, shutdown). */
  idle(timeoutMs?: number): Promise<boolean>;
}

export interface QualityModuleOptions {
  store?: QualityStore;
  knowledge?: KnowledgeBase;
  /** Replace an evaluator (tests). */
  evaluators?: Partial<Record<EvaluatorName, Evaluator>>;
}

function judgeFrom(ctx: AppContext, cfg: QualityConfig): Evaluator | null {
  const j = cfg.judge;
  if (!j || cfg.sampling.judge <= 0) return null;
  const provider = j.provider ? ctx.config.providers.find((p) => p.name === j.provider) : undefined;
  if (j.provider && !provider) {
    ctx.logger.warn(
      { event: 'quality_judge_disabled' },
      `quality.judge.provider "${j.provider}" is not a configured provider; the judge is off`,
    );
    return null;
  }
  const baseUrl = j.baseUrl ?? provider?.baseUrl;
  if (!baseUrl) {
    ctx.logger.warn(
      { event: 'quality_judge_disabled' },
      'quality.judge needs a provider or a baseUrl; the judge is off',
    );
    return null;
  }
  const keyEnv = j.apiKeyEnv ?? provider?.apiKeyEnv;
  const client = new ChatClient({
    provider: provider?.name ?? 'judge',
    baseUrl,
    apiKey: keyEnv ? process.env[keyEnv] : undefined,
    headers: { ...(provider?.headers ?? {}), ...j.headers },
    timeoutMs: j.timeoutMs,
    onCall: (c) => ctx.recorder.record(c),
    now: () => ctx.clock.now(),
  });
  return new LlmJudgeEvaluator({ client, model: j.model, maxRetries: j.maxRetries, temperature: j.temperature });
}

/** The NLI evaluator when configured; a model that cannot be loaded is logged with why, and NLI is off. */
async function nliFrom(ctx: AppContext, cfg: QualityConfig): Promise<Evaluator | null> {
  const n = cfg.evaluators.nli;
  if (!n || cfg.sampling.nli <= 0) return null;
  try {
    const nli = await NliEvaluator.load(n);
    ctx.logger.info({ event: 'quality_nli_loaded', model: n.model }, `NLI model loaded: ${n.model}`);
    return nli;
  } catch (err) {
    ctx.logger.error(
      { event: 'quality_nli_disabled', err: (err as Error).message },
      `quality.evaluators.nli is off: ${(err as Error).message}`,
    );
    return null;
  }
}

/** Redaction of feedback comments and review notes, with the app's patterns and counts; none with privacy.redact off. */
function textRedactor(ctx: AppContext): ((text: string) => string) | undefined {
  const p = ctx.config.privacy;
  if (p && !p.redact) return undefined;
  const r = new Redactor({
    patterns: p?.patterns ?? [],
    onRedact: (kind, n) => ctx.metrics.redactions.inc({ kind }, n),
  });
  return (text) => r.redact(text);
}

export async function buildQualityModule(ctx: AppContext, opts: QualityModuleOptions = {}): Promise<QualityModule> {
  // Parsed here too, so the module works whether or not the app's schema validated the section.
  const cfg = qualityConfigSchema.parse(ctx.config.quality ?? {});
  const store = opts.store ?? (await qualityStoreFor(ctx.store.backend, () => ctx.clock.now()));
  if (opts.store) await opts.store.migrate();

  let knowledge = opts.knowledge;
  if (!knowledge && cfg.knowledgeBase) {
    try {
      knowledge = await KnowledgeBase.fromFolder(cfg.knowledgeBase);
      for (const w of knowledge.warnings.slice(0, 20))
        ctx.logger.warn({ event: 'quality_kb_warning' }, `knowledge base: ${w}`);
      ctx.logger.info(
        { event: 'quality_kb_loaded', passages: knowledge.size },
        `knowledge base: ${knowledge.size} passages`,
      );
    } catch (err) {
      ctx.logger.warn(
        { event: 'quality_kb_failed', err: (err as Error).message },
        `cannot load quality.knowledgeBase ${cfg.knowledgeBase}; grounding uses request context only`,
      );
    }
  }

  const grounding =
    opts.evaluators?.grounding ??
    new GroundingEvaluator({ threshold: cfg.groundingThreshold, minContextWords: cfg.minContextWords });
  const attribution =
    opts.evaluators?.attribution ?? new SourceAttributionEvaluator({ minContextWords: cfg.minContextWords });
  const consistency = opts.evaluators?.consistency ?? new SelfConsistencyEvaluator();
  const judge = opts.evaluators?.judge ?? judgeFrom(ctx, cfg);
  const nli = opts.evaluators?.nli ?? (await nliFrom(ctx, cfg));
  const router = new ModelRouter(ctx.config.providers, ctx.config.routes);

  /** Extra answers to the same prompt from the call's own upstream (recorded as llmscope-eval calls). */
  const samplesFor = (call: LlmCall) => async (input: { context: string[] }) => {
    const r = router.resolve(call.model);
    if (!r) return [];
    const client = new ChatClient({
      provider: r.provider.name,
      baseUrl: r.provider.baseUrl,
      apiKey: r.provider.apiKeyEnv ? process.env[r.provider.apiKeyEnv] : undefined,
      headers: r.provider.headers,
      // Bounded by the quality section, not the provider's timeout (600 s by default), which sizes a user's call.
      timeoutMs: Math.min(durationMs(r.provider.timeout), cfg.consistencyTimeoutMs),
      onCall: (c) => ctx.recorder.record(c),
      now: () => ctx.clock.now(),
    });
    const prompt = input.context.join('\n');
    const replies = await Promise.all(
      Array.from({ length: cfg.consistencySampleCount }, () =>
        client
          .chat({ model: r.upstreamModel, messages: [{ role: 'user', content: prompt }], temperature: 1 })
          .then((x) => x.text),
      ),
    );
    return replies;
  };

  const evaluatorFor = (name: EvaluatorName, call: LlmCall): Evaluator | null => {
    switch (name) {
      case 'grounding':
        return grounding;
      case 'attribution':
        return attribution;
      case 'consistency':
        return !opts.evaluators?.consistency &&
          sampled(call.requestId, cfg.sampling.consistencySamples, 'consistency-samples')
          ? new SelfConsistencyEvaluator({ samples: samplesFor(call) })
          : consistency;
      case 'judge':
        return judge;
      case 'nli':
        return nli;
    }
  };

  // Evaluations past quality.maxPending are shed (the call is answered and stored, not scored): counted and logged.
  const noteDrop = dropLogger(ctx.logger);
  const runner = new BoundedRunner({
    concurrency: cfg.concurrency,
    maxPending: cfg.maxPending,
    onDrop: (n) => {
      ctx.metrics.dropped.inc({ sink: 'quality-evaluations' }, n);
      noteDrop('quality-evaluations', n, 'queue_full');
    },
    onError: (err) =>
      ctx.logger.warn({ event: 'quality_evaluation_failed', err: (err as Error)?.message }, 'evaluation failed'),
  });
  // Evaluators that call out run on a runner of their own (QualityServiceDeps.remoteRunner).
  const remoteRunner = new BoundedRunner({
    concurrency: cfg.concurrency,
    maxPending: cfg.maxPending,
    onDrop: (n) => {
      ctx.metrics.dropped.inc({ sink: 'quality-evaluations' }, n);
      noteDrop('quality-evaluations', n, 'queue_full');
    },
    onError: (err) =>
      ctx.logger.warn({ event: 'quality_evaluation_failed', err: (err as Error)?.message }, 'evaluation failed'),
  });
  const isRemote = (name: EvaluatorName, call: LlmCall): boolean =>
    name === 'judge' ||
    (name === 'consistency' &&
      !opts.evaluators?.consistency &&
      sampled(call.requestId, cfg.sampling.consistencySamples, 'consistency-samples'));
  const service = new QualityService({
    store,
    calls: ctx.store,
    metrics: ctx.metrics,
    clock: ctx.clock,
    logger: ctx.logger,
    config: {
      ...cfg,
      sampling: { ...cfg.sampling, judge: judge ? cfg.sampling.judge : 0, nli: nli ? cfg.sampling.nli : 0 },
    },
    runner,
    remoteRunner,
    isRemote,
    knowledge,
    flushCalls: () => ctx.recorder.flush(2_000),
    captureContent: ctx.config.telemetry?.captureContent === true,
    redact: textRedactor(ctx),
    evaluatorFor,
  });

  // Refusals and text capture are the module's per-call part (per-call.ts: in each gateway worker with
  // `serve --workers`); in one process they run here with the evaluators this module has.
  ctx.perCall.add({
    name: qualityCallPart.name,
    build: () => [...(cfg.refusals ? [refusalEnricher()] : []), service.captureEnricher()],
  });
  // On SQLite its next batch waits on the writer thread while one is written (the counts are sums: order is free)
  ctx.recorder.addSink({ ...service.sink(), inFlight: ctx.store.kind === 'sqlite' ? 2 : 1 });
  registerQualityRoutes(ctx.api, service, {
    bodyLimit: ctx.config.server.bodyLimit,
    now: () => ctx.clock.now(),
    audit: ctx.audit,
    visible: async (scope, id) => (await scopedStore(ctx.store, scope).getCall(id)) !== null,
  });
  // The hallucination_rate and thumbs_down_rate alert rules read the quality rollups through this source.
  ctx.signals.register(qualitySignalSource(store));

  let retentionTimer: NodeJS.Timeout | undefined;
  const detailExtra: DetailExtra = async (requestId) => {
    const [evaluations, feedback] = await Promise.all([
      service.evaluationsFor(requestId),
      service.feedbackFor(requestId),
    ]);
    return { evaluations, feedback };
  };
  // `/api/requests/:id` shows each call's evaluations and feedback.
  ctx.detailExtras?.push(detailExtra);
  // DELETE /api/users/{id}/data: the erased user's calls' feedback, evaluations and review items go too.
  ctx.erasers?.push({
    name: 'quality',
    erase: async (_user, requestIds) => {
      const r = await store.eraseCalls(requestIds);
      return { feedback: r.feedback, evaluations: r.evaluations, review_items: r.reviewItems };
    },
  });

  return {
    name: 'quality',
    service,
    store,
    config: cfg,
    knowledge,
    detailExtra,
    evaluationsFor: (id) => service.evaluationsFor(id),
    feedbackFor: (id) => service.feedbackFor(id),
    // A remote job is submitted from its call's local job, so once the local runner is idle the remote one has it.
    idle: async (timeoutMs) => (await runner.idle(timeoutMs)) && (await remoteRunner.idle(timeoutMs)),
    start() {
      const raw = durationMs(ctx.config.storage.retention.raw);
      const run = () =>
        store.applyRetention(ctx.clock.now() - raw).catch((err) => {
          ctx.logger.warn(
            { event: 'quality_retention_failed', err: (err as Error).message },
            'quality retention failed',
          );
          return 0;
        });
      retentionTimer = setInterval(run, 3_600_000);
      retentionTimer.unref();
    },
    async stop() {
      clearInterval(retentionTimer);
      const [local, remote] = await Promise.all([runner.close(5_000), remoteRunner.close(5_000)]);
      const abandoned = local + remote;
      if (nli instanceof NliEvaluator) await nli.close();
      if (abandoned > 0) {
        ctx.metrics.dropped.inc({ sink: 'quality-evaluations' }, abandoned);
        noteDrop('quality-evaluations', abandoned, 'shutdown');
      } else noteDrop.flush();
    },
  };
}

export const createQualityModule: ModuleFactory = (ctx) => buildQualityModule(ctx);
