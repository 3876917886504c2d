// The alerting service: compiled rules, the engine, the dispatcher, silences and notifiers, on a Clock; evaluates
// on an interval and flushes due groups every second. Assembled by the alerts module, and by backtests.
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../app-context.js';
import { LlmscopeError } from '../errors.js';
import { SignalRegistry } from '../signals/index.js';
import type { Store } from '../store/store.js';
import { CallCostTracker } from './call-cost-tracker.js';
import { Dispatcher, inhibitRulesOf, routesOf } from './dispatcher.js';
import { Engine } from './engine.js';
import type { Rule } from './model.js';
import { buildNotifiers, type Notifier } from './notifiers/index.js';
import { compileRules } from './rules.js';
import { configSilences, Silences } from './silences.js';
import { type AlertsConfig, ms } from './spec.js';
import type { AlertStateStore, NotificationRecord } from './state/types.js';

/** The election among replicas sharing one database (a `LeaderElector`): only the leader evaluates and notifies. */
export interface Leadership {
  /** This replica's leadership as of the last check. */
  isLeader(): boolean;
  /** Asks the database whether this replica still leads (before sending a notification). */
  confirm(): Promise<boolean>;
}

export interface AlertsServiceOptions {
  config: AlertsConfig;
  store: Store;
  state: AlertStateStore;
  clock: Clock;
  logger?: Logger | null;
  registry?: Registry;
  signals?: SignalRegistry;
  callCosts?: CallCostTracker;
  /**
   * With several replicas on one database: evaluate only while leading; on taking over, reload the shared state
   * (active alerts, notification log, silences) first. Followers reload active alerts each interval for the API.
   */
  leadership?: Leadership;
  /** Replaces the notifiers built from config (tests, backtests). */
  notifiers?: Map<string, Notifier>;
  env?: NodeJS.ProcessEnv;
}

export class AlertsService {
  readonly config: AlertsConfig;
  readonly rules: Rule[];
  readonly engine: Engine;
  readonly dispatcher: Dispatcher;
  readonly silences: Silences;
  readonly state: AlertStateStore;
  readonly clock: Clock;
  private readonly notifiers: Map<string, Notifier>;
  readonly logger: Logger | null;
  private readonly notificationsTotal: Counter<'receiver' | 'result'> | null = null;
  private readonly evalFailures: Counter<'rule'> | null = null;
  private evalTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private ticking: Promise<unknown> | null = null;
  private lastPrune = 0;
  private stopped = false;
  private readonly leadership: Leadership | null;
  /** Whether this replica evaluated as the leader last time (so a takeover reloads the shared state). */
  private leading = false;

  constructor(opts: AlertsServiceOptions) {
    this.config = opts.config;
    this.clock = opts.clock;
    this.logger = opts.logger ?? null;
    this.state = opts.state;
    this.leadership = opts.leadership ?? null;
    const { rules, issues } = compileRules(opts.config);
    if (issues.length)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `invalid alert rules:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
      );
    this.rules = rules;
    this.engine = new Engine({
      rules,
      store: opts.store,
      state: opts.state,
      signals: opts.signals ?? new SignalRegistry(),
      callCosts: opts.callCosts ?? new CallCostTracker(),
      evaluationIntervalMs: ms(opts.config.evaluationInterval),
      forOutageToleranceMs: ms(opts.config.forOutageTolerance),
    });
    if (opts.notifiers) this.notifiers = opts.notifiers;
    else {
      const built = buildNotifiers(opts.config.receivers, this.logger, opts.env);
      this.notifiers = built.notifiers;
      for (const p of built.problems) this.logger?.warn({ event: 'alert_receiver_unavailable' }, p);
    }
    this.silences = new Silences(opts.state, configSilences(opts.config.silences, opts.clock.now()));
    const sendResolved = new Map(opts.config.receivers.map((r) => [r.name, r.sendResolved]));
    if (opts.registry) {
      this.notificationsTotal = new Counter({
        name: 'llmscope_alert_notifications_total',
        help: 'Alert notifications sent by the built-in engine, by receiver and result (success or failure).',
        labelNames: ['receiver', 'result'],
        registers: [opts.registry],
      });
      this.evalFailures = new Counter({
        name: 'llmscope_alert_rule_evaluation_failures_total',
        help: 'Alert rule evaluations that failed (the rule keeps its previous state).',
        labelNames: ['rule'],
        registers: [opts.registry],
      });
      const engine = this.engine;
      new Gauge({
        name: 'llmscope_alerts',
        help: 'Alerts of the built-in engine by state (pending or firing).',
        labelNames: ['state'],
        registers: [opts.registry],
        collect() {
          const active = engine.activeAlerts();
          this.set({ state: 'pending' }, active.filter((a) => a.state === 'pending').length);
          this.set({ state: 'firing' }, active.filter((a) => a.state === 'firing').length);
        },
      });
    }
    this.dispatcher = new Dispatcher({
      routes: routesOf(opts.config),
      inhibitRules: inhibitRulesOf(opts.config),
      silences: this.silences,
      notifiers: this.notifiers,
      state: opts.state,
      sendResolved: (r) => sendResolved.get(r) ?? true,
      ...(this.leadership ? { maySend: () => (this.leadership as Leadership).confirm() } : {}),
      externalUrl: opts.config.externalUrl,
      onResult: (receiver, ok, error) => {
        this.notificationsTotal?.inc({ receiver, result: ok ? 'success' : 'failure' });
        if (!ok)
          this.logger?.warn(
            { event: 'alert_notification_failed', receiver, err: error },
            `notifying ${receiver} failed`,
          );
      },
    });
  }

  /** Loads persisted alerts, the notification log and silences. */
  async init(): Promise<void> {
    await this.engine.restore(this.clock.now());
    await this.dispatcher.restore();
    await this.silences.load();
  }

  /**
   * Replicas sharing the alert state (PostgreSQL): reads the silences again, so one created or expired through
   * another replica is listed (and can be expired) here at once, not only once this replica evaluates. A store that
   * cannot answer leaves the list as it was (said in the log). Nothing to do for a replica alone.
   */
  async syncSilences(): Promise<void> {
    if (!this.leadership) return;
    try {
      await this.silences.load();
    } catch (err) {
      this.logger?.warn(
        { event: 'silences_load_failed', err: (err as Error)?.message },
        'could not read the silences made through other replicas; listing those this replica knows',
      );
    }
  }

  /** Whether this replica evaluates: always, unless it is one of several electing a leader and not it. */
  isEvaluator(): boolean {
    return this.leadership?.isLeader() ?? true;
  }

  /** One evaluation: rules → alerts → dispatcher (and due notifications). Never throws. */
  async evaluate(): Promise<NotificationRecord[]> {
    try {
      if (this.leadership) {
        if (!this.leadership.isLeader()) {
          // a follower: show the leader's alerts in the API
          this.leading = false;
          await this.engine.restore();
          return [];
        }
        if (!this.leading) {
          // taking over: continue from what the previous leader left in the database
          await this.init();
          this.leading = true;
          this.logger?.info({ event: 'alerts_leader' }, 'this replica now evaluates the alert rules');
        } else await this.silences.load(); // silences may have been created through another replica
      }
      const now = this.clock.now();
      const { alerts, events } = await this.engine.evaluate(now);
      for (const h of this.engine.ruleHealth())
        if (h.health === 'err' && h.lastEvaluatedAt === now) this.evalFailures?.inc({ rule: h.ruleId });
      for (const e of events)
        if (e.kind === 'firing' || e.kind === 'resolved')
          this.logger?.info(
            { event: `alert_${e.kind}`, alertname: e.alertname, rule: e.ruleId, labels: e.labels, value: e.value },
            `alert ${e.alertname} ${e.kind}`,
          );
      this.dispatcher.ingest(alerts, now);
      const sent = await this.dispatcher.tick(now);
      await this.maybePrune(now);
      return sent;
    } catch (err) {
      this.logger?.warn({ event: 'alert_evaluation_failed', err: (err as Error)?.message }, 'alert evaluation failed');
      return [];
    }
  }

  /** Flushes due groups (between evaluations). Never throws. */
  async tick(): Promise<NotificationRecord[]> {
    if (this.leadership && (!this.leading || !this.leadership.isLeader())) return [];
    try {
      return await this.dispatcher.tick(this.clock.now());
    } catch (err) {
      this.logger?.warn({ event: 'alert_dispatch_failed', err: (err as Error)?.message }, 'alert dispatch failed');
      return [];
    }
  }

  private async maybePrune(now: number): Promise<void> {
    if (now - this.lastPrune < 3_600_000) return;
    this.lastPrune = now;
    const before = now - ms(this.config.historyRetention);
    await this.state.prune(before);
    this.silences.prune(before);
  }

  /** Evaluates now and then every evaluationInterval; flushes due groups every second. */
  start(): void {
    this.stopped = false;
    const run = () => this.evaluateSoon();
    run();
    this.evalTimer = setInterval(run, Math.max(100, ms(this.config.evaluationInterval)));
    this.evalTimer.unref();
    this.tickTimer = setInterval(() => {
      if (this.running || this.ticking || this.stopped) return;
      this.ticking = this.tick().finally(() => {
        this.ticking = null;
      });
    }, 1000);
    this.tickTimer.unref();
  }

  /** Starts an evaluation now unless one is running (e.g. when this replica has just been elected). */
  evaluateSoon(): void {
    if (this.running || this.stopped) return;
    this.running = this.evaluate().then(
      () => {
        this.running = null;
      },
      () => {
        this.running = null;
      },
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.evalTimer);
    clearInterval(this.tickTimer);
    await this.running;
    await this.ticking;
    const closed = new Set<Notifier>();
    for (const n of this.notifiers.values()) {
      if (closed.has(n)) continue;
      closed.add(n);
      await n.close?.().catch(() => undefined);
    }
  }
}
