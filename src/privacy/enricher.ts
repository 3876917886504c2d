// The privacy enricher: right after tokens are counted, a call's prompt and answer text is redacted in place, so
// everything downstream — captured content, quality evidence and the review queue, LLM-judge requests — only ever
// sees the redacted text. Counts per kind go to `llmscope_redactions_total{kind}`.
import type { Enricher, SpanRecord } from '../calls/index.js';
import { type Redactor, redactWithRanges } from './redact.js';

function redactAttributes(r: Redactor, attrs: Record<string, unknown>): void {
  for (const k in attrs) {
    const v = attrs[k];
    if (typeof v === 'string') attrs[k] = r.redact(v);
  }
}

/**
 * Redacts a span's name, its string attributes and its events' names and attributes in place (spans an instrumented
 * app sent over OTLP: an app may name a span after its request, `GET /users/<email>`).
 */
export function redactSpan(r: Redactor, span: SpanRecord): void {
  span.name = r.redact(span.name);
  redactAttributes(r, span.attributes);
  for (const e of span.events) {
    e.name = r.redact(e.name);
    if (e.attributes) redactAttributes(r, e.attributes);
  }
}

export function privacyEnricher(redactor: Redactor): Enricher {
  return {
    name: 'privacy',
    enrich(call) {
      // An upstream's error message may quote the request (an invalid value, a content-policy excerpt).
      if (call.errorMessage) call.errorMessage = redactor.redact(call.errorMessage);
      // Metadata is the caller's free text too (an email as a customer id, a token in a trace note).
      const meta = call.metadata;
      if (meta) for (const k in meta) meta[k] = redactor.redact(meta[k] as string);
      // Spans a call arrives with (OTLP from an instrumented app) may carry personal data in any attribute or event
      // (an end user's email, an exception quoting the input); the gateway's own spans are built later, from
      // redacted figures.
      for (const sp of call.spans) redactSpan(redactor, sp);
      const i = call.internal;
      if (!i) return;
      if (i.promptText)
        i.promptText = i.assistantRanges
          ? redactWithRanges(redactor, i.promptText, i.assistantRanges)
          : redactor.redact(i.promptText);
      if (i.outputText) i.outputText = redactor.redact(i.outputText);
    },
  };
}
