// Token counts when the upstream gave no usage: counted with gpt-tokenizer (o200k_base) after the response,
// never on the hot path. Also completes TPOT, which needs the output token count.
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { type Enricher, tpotOf } from './index.js';

export function countTokens(text: string): number {
  if (!text) return 0;
  return encode(text, { disallowedSpecial: new Set() }).length;
}

export const tokenEnricher: Enricher = {
  name: 'tokens',
  enrich(call) {
    const i = call.internal;
    if (!i) return;
    // Calls that produced output (including cut and cancelled streams) are counted; refused ones are not.
    const producedOutput =
      call.httpStatus < 400 || call.status === 'cancelled' || call.errorType === 'upstream_stream_cut';
    if (call.tokenSource === null && producedOutput) {
      call.inputTokens = countTokens(i.promptText ?? '');
      call.outputTokens = call.endpoint === 'embeddings' ? 0 : countTokens(i.outputText ?? '');
      call.cachedInputTokens = 0;
      call.reasoningTokens = 0;
      call.tokenSource = 'tokenizer';
    }
    if (call.stream && call.tpotMs === null) call.tpotMs = tpotOf(i.firstContentAt, i.lastContentAt, call.outputTokens);
  },
};
