// Progress bars for long CLI work (backtest, reconcile, bench), drawn on stderr only when it is a terminal: piped or
// redirected output, and --json runs, stay free of control characters.
import { SingleBar } from 'cli-progress';

export interface Progress {
  start(total: number, payload?: Record<string, unknown>): void;
  update(done: number, payload?: Record<string, unknown>): void;
  /** Sets a new total (e.g. once the work is known), keeping what is done. */
  setTotal(total: number): void;
  stop(): void;
  /** Whether a bar is drawn at all. */
  readonly shown: boolean;
}

/** The signals that end a command while its bar is drawn (a terminal's Ctrl-C, a kill, the terminal closing). */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const none: Progress = { start() {}, update() {}, setTotal() {}, stop() {}, shown: false };

/**
 * A bar with `format` (cli-progress tokens: {bar} {value} {total} {percentage} {eta_formatted}, plus payload keys),
 * or a no-op when `stream` is not a TTY or `quiet` is set.
 */
export function progressBar(
  format: string,
  opts: { stream?: NodeJS.WriteStream & { isTTY?: boolean }; quiet?: boolean } = {},
): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet || !stream.isTTY) return none;
  const bar = new SingleBar({ format, hideCursor: true, stream, etaBuffer: 50, fps: 10, clearOnComplete: true });
  let running = false;
  // The bar hides the cursor and turns off line wrap while it draws; Ctrl-C (or a kill) ended the process with both
  // still off, leaving the user's terminal without a cursor. On a stop signal the bar is stopped (which restores
  // them), then the signal is raised again so the process ends as it would have (exit 130 on Ctrl-C), unless
  // something else listens for it.
  const onSignal = (signal: NodeJS.Signals) => {
    stopBar();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const stopBar = () => {
    if (!running) return;
    running = false;
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    bar.stop();
  };
  return {
    shown: true,
    start(total, payload) {
      running = true;
      for (const s of STOP_SIGNALS) process.once(s, onSignal);
      bar.start(total, 0, payload);
    },
    update(done, payload) {
      if (running) bar.update(done, payload);
    },
    setTotal(total) {
      if (running) bar.setTotal(total);
    },
    stop: stopBar,
  };
}
