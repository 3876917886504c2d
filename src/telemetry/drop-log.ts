// The log line for observability work llmscope shed: a sink whose lane was full (or a quality evaluation past its
// bound) drops calls rather than slow the ones it serves, and counts them in llmscope_recorder_dropped_total{sink};
// `sink_dropped` says so in the log too, at most once per interval, with how many each sink dropped since the last.

/** Drops are summed and told at most this often (as sink_error is rate-limited). */
export const DROP_LOG_EVERY_MS = 10_000;

type Reason = 'queue_full' | 'sink_error' | 'shutdown';

/** Hands a drop to the log (`dropLogger`); `flush` tells what is waiting for its interval's end now. */
export interface DropLog {
  (sink: string, n: number, reason: Reason): void;
  /** Tells the drops still summed for the interval's end now: a process that stops calls it before its last flush. */
  flush(): void;
}

/**
 * A function to hand each drop to: the first drop after a quiet interval is logged at once; drops within the interval
 * after it are summed per sink and reason and logged when the interval ends (an unref'd timer, so a process exiting
 * does not wait for it: it calls `flush` as it stops); a shutdown's drops at once, since nothing comes after them.
 * `sink_error` drops are summed too (the failure itself is `sink_error`'s line).
 */
export function dropLogger(
  logger: { warn: (fields: object, msg: string) => void },
  everyMs = DROP_LOG_EVERY_MS,
  now: () => number = Date.now,
): DropLog {
  const pending = new Map<string, { sink: string; reason: Reason; dropped: number }>();
  let last = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | null = null;
  const flush = (): void => {
    timer = null;
    if (pending.size === 0) return;
    last = now();
    for (const { sink, reason, dropped } of pending.values())
      logger.warn(
        { event: 'sink_dropped', sink, reason, dropped },
        `sink ${sink} dropped ${dropped} call${dropped === 1 ? '' : 's'} (${reason}); counted in llmscope_recorder_dropped_total`,
      );
    pending.clear();
  };
  const flushNow = (): void => {
    if (timer !== null) clearTimeout(timer);
    flush();
  };
  const note = (sink: string, n: number, reason: Reason): void => {
    if (!(n > 0)) return;
    const k = `${sink}\u0000${reason}`;
    const p = pending.get(k);
    if (p !== undefined) p.dropped += n;
    else pending.set(k, { sink, reason, dropped: n });
    if (reason === 'shutdown') {
      // Nothing comes after a shutdown's drops: told now, with whatever was waiting.
      flushNow();
      return;
    }
    if (timer !== null) return;
    const wait = last + everyMs - now();
    if (wait <= 0) flush();
    else {
      timer = setTimeout(flush, wait);
      timer.unref();
    }
  };
  return Object.assign(note, { flush: flushNow });
}
