// Request ids of the calls made from OTLP spans. An id is the span's start (milliseconds since the epoch, 12 hex
// digits), its trace id and its span id: `otlp-019af3c2d1e0-<trace_id>-<span_id>`. The same span always gives the
// same id (so a re-sent export counts once), and ids made at about the same time sort together: the calls' primary
// key and every table keyed by a call's id (quality, trace spans) take each new call on their last page, where the
// old form, `otlp-<trace_id>-<span_id>` (random trace ids first), put every insert on a random page of each.
//
// Calls stored under the old form keep their ids. A span re-sent after the change (an exporter's retry across an
// upgrade) has a new-form id; `knownIds` also looks for its old form (`legacyOtlpId`), so it still counts once.

const TIME_LED = /^otlp-([0-9a-f]{12,})-([0-9a-f]{32})-([0-9a-f]{16})$/;

/** The id of the call made from the span with these ids that started at `startNs` (nanoseconds since the epoch). */
export function otlpRequestId(traceId: string, spanId: string, startNs: bigint): string {
  const ms = startNs < 0n ? 0n : startNs / 1_000_000n;
  return `otlp-${ms.toString(16).padStart(12, '0')}-${traceId}-${spanId}`;
}

/** The id a call made from the same span got before ids led with the time; null for any other id. */
export function legacyOtlpId(id: string): string | null {
  const m = TIME_LED.exec(id);
  return m ? `otlp-${m[2]}-${m[3]}` : null;
}

/** The span's start (ms since the epoch, whole) that a time-led OTLP id carries; null for any other id. */
export function otlpIdTime(id: string): number | null {
  const m = TIME_LED.exec(id);
  return m ? Number.parseInt(m[1] as string, 16) : null;
}
