// How a call's spans are kept in the `calls.spans` column. A gateway call's spans all share its trace id, and as
// objects they repeat the trace id and ten property names per span, about a third of the row: a streamed call's
// row then no longer fits two to a 4 KiB page, so every call cost a page of WAL. The compact form keeps the trace
// id once and each span as a tuple; rows written before it (an array of span objects) read as before.
import type { SpanRecord } from '../calls/index.js';

/** Marks the compact form: its first element is this number (the object form's are spans). */
const COMPACT = 0;

type Attrs = SpanRecord['attributes'];
type EventTuple = [name: string, time: number] | [name: string, time: number, attributes: Attrs];
type SpanTuple = [
  spanId: string,
  parentSpanId: string | null,
  name: string,
  kind: SpanRecord['kind'],
  startTime: number,
  endTime: number,
  status: SpanRecord['status'],
  attributes: Attrs,
  events: EventTuple[],
];

/** The column text for `spans`: compact when they share one trace id, else the plain JSON array. */
export function encodeSpans(spans: readonly SpanRecord[] | undefined): string {
  if (!spans || spans.length === 0) return '[]';
  const traceId = spans[0]?.traceId;
  const out: unknown[] = [COMPACT, traceId];
  for (const s of spans) {
    if (s.traceId !== traceId) return JSON.stringify(spans);
    const events: EventTuple[] = [];
    for (const e of s.events)
      events.push(e.attributes === undefined ? [e.name, e.time] : [e.name, e.time, e.attributes]);
    out.push([s.spanId, s.parentSpanId, s.name, s.kind, s.startTime, s.endTime, s.status, s.attributes, events]);
  }
  return JSON.stringify(out);
}

/** The spans from the column text, in either form. */
export function decodeSpans(text: string): SpanRecord[] {
  const v = JSON.parse(text) as unknown[];
  if (v.length === 0 || v[0] !== COMPACT) return v as SpanRecord[];
  const traceId = v[1] as string;
  const spans: SpanRecord[] = [];
  for (let i = 2; i < v.length; i++) {
    const [spanId, parentSpanId, name, kind, startTime, endTime, status, attributes, events] = v[i] as SpanTuple;
    spans.push({
      traceId,
      spanId,
      parentSpanId,
      name,
      kind,
      startTime,
      endTime,
      status,
      attributes,
      events: events.map((e) =>
        e.length === 3 ? { name: e[0], time: e[1], attributes: e[2] } : { name: e[0], time: e[1] },
      ),
    });
  }
  return spans;
}
