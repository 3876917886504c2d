// The workers' part of `GET /metrics` under `serve --workers N`: each worker's metrics as it last reported them, plus
// what workers that exited had counted. Every answer covers every worker exactly once, so the fleet's counters and
// histograms never go down (Prometheus would read that as a counter reset and see a burst in rate()) and never count
// a worker twice:
// - a worker that does not answer in time (busy, stopped) counts with its last report, not as zero;
// - a worker that exits while an answer is being put together is either live or retired in it, never both: the
//   answer is read from the members and the retired parts at one instant, after every report came in.
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

export type Snapshot = MetricObjectWithValues<MetricValue<string>>[];

/** Parts of retired metrics kept before they are folded into one. */
const FOLD_AT = 8;

interface Entry {
  last: Snapshot | null;
  /** Drained: its last report is final (sent as it stopped taking calls), later ones are not taken. */
  final: boolean;
}

export class FleetMetrics {
  private readonly live = new Map<number, Entry>();
  /** Counters and histograms of workers that exited, as they last reported them; folded now and then. */
  private retired: Snapshot[] = [];
  private folding = false;

  /** A worker started: it counts once it reports. */
  add(id: number): void {
    this.live.set(id, { last: null, final: false });
  }

  /** A worker's report (an answer to a refresh). Ignored once it drained or exited. */
  report(id: number, snap: Snapshot): void {
    const e = this.live.get(id);
    if (e && !e.final) e.last = snap;
  }

  /** A worker's last report, sent as it drained: what it counted in all. */
  final(id: number, snap: Snapshot | null): void {
    const e = this.live.get(id);
    if (!e) return;
    if (snap) e.last = snap;
    e.final = true;
  }

  /** A worker exited: its counters and histograms stay in every later answer as it last reported them; gauges go. */
  retire(id: number): void {
    const e = this.live.get(id);
    this.live.delete(id);
    // prom-client types `type` as a numeric enum, but its JSON has the names
    const keep = (e?.last ?? []).filter((m) => ['counter', 'histogram'].includes(String(m.type)));
    if (keep.length === 0) return;
    this.retired.push(keep);
    // A fold that fails leaves the parts as they are (every answer still adds them up), not a rejection that ends the
    // recorder process.
    if (this.retired.length >= FOLD_AT) this.fold().catch(() => undefined);
  }

  /**
   * Asks every live worker for its report (`ask` resolves null when it does not answer), then returns one snapshot per
   * worker, live (its latest report) or exited, read at one instant.
   */
  async collect(ask: (id: number) => Promise<Snapshot | null>): Promise<Snapshot[]> {
    await Promise.all(
      [...this.live.keys()].map(async (id) => {
        const snap = await ask(id).catch(() => null);
        if (snap) this.report(id, snap);
      }),
    );
    return this.current();
  }

  /** What the workers count now, without asking them: their latest reports and what exited workers counted. */
  current(): Snapshot[] {
    const out: Snapshot[] = [];
    for (const e of this.live.values()) if (e.last) out.push(e.last);
    return [...out, ...this.retired];
  }

  /** Folds the retired parts into one (a fleet whose workers keep dying holds one part, not one per worker). */
  private async fold(): Promise<void> {
    if (this.folding) return;
    this.folding = true;
    try {
      const n = this.retired.length;
      const merged = await AggregatorRegistry.aggregate(this.retired.slice(0, n)).getMetricsAsJSON();
      // Only appended to meanwhile: the first n are the ones folded.
      this.retired.splice(0, n, merged as Snapshot);
    } finally {
      this.folding = false;
    }
  }
}
