// The per-call work that one process and every gateway worker of `serve --workers` run alike, and the few helpers a
// worker shares with the app, apart from src/server.ts: a gateway worker (src/cluster/worker.ts) imports this, not
// the whole app (its API routes, store, OTLP receivers, tracing), which took 0.3-0.4 s of each worker's start on 2 cores.
import type { Logger } from 'pino';
import { type Enricher, type LlmCall, Recorder, type Sink } from './calls/index.js';
import { tokenEnricher } from './calls/tokens.js';
import type { Config } from './config/index.js';
import { privacyEnricher, Redactor, scrubErrorMessage, scrubSpanErrors } from './privacy/index.js';
import type { Metrics } from './telemetry/metrics.js';
import { requestLogSink } from './telemetry/request-log.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * Keeps the call's text as its content when capture is on (already redacted by the privacy enricher, unless
 * `privacy.redact` is off), then drops the hot-path scratch, so stored calls stay small.
 */
const contentEnricher = (capture: boolean) => ({
  name: 'content',
  enrich(call: LlmCall) {
    const i = call.internal;
    // Capture off: an upstream's error message may quote the call's text; its quotes and the call's words go
    // (llmscope's own messages hold none and stay whole).
    if (!capture && call.errorMessage && !i?.ownError)
      call.errorMessage = scrubErrorMessage(call.errorMessage, [
        i?.promptText,
        i?.outputText,
        call.content?.input,
        call.content?.output,
      ]);
    // The spans an app sent with the call (OTLP): their exception events may quote the prompt as well.
    if (!capture) for (const sp of call.spans) scrubSpanErrors(sp, [i?.promptText, i?.outputText]);
    if (!i) return;
    if (capture && call.content === null)
      call.content = {
        input: i.promptText || null,
        output: i.outputText || null,
      };
    i.promptText = null;
    i.assistantRanges = null;
    i.outputText = null;
  },
});

/**
 * The per-call work that needs only the config and the call, and whose figures add up across processes: the same in
 * one process and in every gateway worker of `serve --workers` (src/cluster/worker.ts). `head` runs before the
 * modules' enrichers (tokens, then privacy redaction, so everything after sees only redacted text), `tail` after
 * them (content last, so it sees final figures); `sinks` are the metrics and the request log, counted or written by
 * the process that ran the rest (`/metrics` adds the processes up; each writes its own log lines). Spans are not
 * in it: the recorder process builds them from the call's timing marks, which cross the IPC channel anyway, while
 * the spans themselves would more than double a call's bytes on it (bench/workers-recorder.js).
 */
export function callWork(
  config: Config,
  parts: { metrics: Metrics; logger: Logger; redactor: Redactor },
): { head: Enricher[]; tail: Enricher[]; sinks: Sink[] } {
  return {
    head: [tokenEnricher, ...(config.privacy.redact ? [privacyEnricher(parts.redactor)] : [])],
    tail: [contentEnricher(config.telemetry.captureContent)],
    sinks: [parts.metrics.sink(), requestLogSink(parts.logger, config.telemetry.logFormat)],
  };
}

/** The redactor for a process's call text, counting into its metrics. */
export function redactorOf(config: Config, metrics: Metrics): Redactor {
  return new Redactor({
    patterns: config.privacy.patterns,
    onRedact: (kind, n) => metrics.redactions.inc({ kind }, n),
  });
}

/** A Recorder that counts the calls given to it: a draining server (or worker) waits for the calls it cut. */
export class CountingRecorder extends Recorder {
  recorded = 0;
  override record(call: LlmCall): void {
    this.recorded++;
    super.record(call);
  }
  /** Waits (polling every 5 ms, at most `timeoutMs`) until `count` calls have been given to it in all. */
  async waitFor(count: number, timeoutMs: number): Promise<void> {
    const by = Date.now() + timeoutMs;
    while (this.recorded < count && Date.now() < by) await new Promise((r) => setTimeout(r, 5));
  }
}

/** How long a draining server waits for the calls it cut at the grace's end to reach its recorder. */
export const CUT_CALLS_WAIT_MS = 2_000;
