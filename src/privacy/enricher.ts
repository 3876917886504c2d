// The privacy enricher: right after tokens are counted, a call's prompt and answer text is redacted in place, so
// everything downstream — captured content, quality evidence and the review queue, LLM-judge requests — only ever
// sees the redacted text. Counts per kind go to `llmscope_redactions_total{kind}`.
import type { Enricher } from '../calls/index.js';
import { type Redactor, redactWithRanges } from './redact.js';

export function privacyEnricher(redactor: Redactor): Enricher {
  return {
    name: 'privacy',
    enrich(call) {
      // An upstream's error message may quote the request (an invalid value, a content-policy excerpt).
      if (call.errorMessage) call.errorMessage = redactor.redact(call.errorMessage);
      // Metadata is the caller's free text too (an email as a customer id, a token in a trace note).
      const meta = call.metadata;
      if (meta) for (const k in meta) meta[k] = redactor.redact(meta[k] as string);
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
