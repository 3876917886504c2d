// Token counts when the upstream gave no usage: counted with gpt-tokenizer (o200k_base) after the response,
// never on the hot path. Also completes TPOT, which needs the output token count.
// The work per call is bounded: counting is linear in the text (BPE is quadratic in the length of one
// pre-tokenizer piece, so runs of 129+ non-space or space characters are counted in 128-character slices), and
// at most COUNT_CAP_CHARS of a text are counted; the rest is extrapolated and the call says `token_source:
// estimate`.
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { type KeptText, keepText, OMITTED_MARK, TEXT_HEAD_CHARS, TEXT_TAIL_CHARS } from './bounded-text.js';
import { type CallInternals, type Enricher, PLATFORM_ENDPOINTS, type TokenSource, tpotOf } from './index.js';
import { forEachTokenPiece } from './token-pieces.js';

/** Characters of one text counted exactly; beyond, the count is extrapolated from what was counted. */
export const COUNT_CAP_CHARS = 64 * 1024;
/** Bytes of a JSON answer per output token, for an answer too large to parse (it has no usage to read). */
const BYTES_PER_TOKEN = 4;

const NO_SPECIAL = { disallowedSpecial: new Set<string>() };
const enc = (s: string): number => (s ? encode(s, NO_SPECIAL).length : 0);

/** Tokens in `text`, in time linear in its length (exact for text without runs of 129+ like characters). */
export function countTokens(text: string): number {
  if (!text) return 0;
  let n = 0;
  forEachTokenPiece(text, (from, to) => {
    n += enc(from === 0 && to === text.length ? text : text.slice(from, to));
  });
  return n;
}

/**
 * Tokens of a text of `totalChars` characters of which `kept` is what was kept (all of it, or head + OMITTED_MARK +
 * tail): counted exactly up to COUNT_CAP_CHARS, else extrapolated by tokens per character of the counted part.
 */
export function countKeptTokens(kept: string, totalChars: number): { tokens: number; estimated: boolean } {
  const whole = kept.length === totalChars;
  if (whole && kept.length <= COUNT_CAP_CHARS) return { tokens: countTokens(kept), estimated: false };
  let sample = whole ? kept : kept.replace(OMITTED_MARK, '\n');
  if (sample.length > COUNT_CAP_CHARS) {
    const tail = COUNT_CAP_CHARS >> 2;
    sample = sample.slice(0, COUNT_CAP_CHARS - tail) + sample.slice(sample.length - tail);
  }
  const counted = countTokens(sample);
  return { tokens: Math.round((counted * totalChars) / Math.max(1, sample.length)), estimated: true };
}

/**
 * The JSON of a request's tool definitions, as the provider is sent it, kept bounded: tools are serialized one at a
 * time until TEXT_HEAD_CHARS + TEXT_TAIL_CHARS characters, and the rest's length is extrapolated from those (10,000
 * tool definitions are not all serialized to count them). Null when there are none.
 */
export function toolsText(tools: unknown): KeptText | null {
  if (!Array.isArray(tools) || tools.length === 0) return null;
  const cap = TEXT_HEAD_CHARS + TEXT_TAIL_CHARS;
  const parts: string[] = [];
  let chars = 1;
  for (const t of tools) {
    const j = JSON.stringify(t) ?? 'null';
    parts.push(j);
    chars += j.length + 1;
    if (chars > cap) break;
  }
  const text = `[${parts.join(',')}]`;
  if (parts.length === tools.length) return keepText(text);
  const kept = keepText(text);
  return { text: kept.text, totalChars: Math.round((text.length * tools.length) / parts.length) };
}

function tokensOf(text: string | null, totalChars: number | undefined): { tokens: number; estimated: boolean } {
  if (text === null) return { tokens: 0, estimated: false };
  return countKeptTokens(text, totalChars ?? text.length);
}

/** A stream's output tokens seen: its answer text, what else it streamed (tool-call arguments, thinking), its audio. */
function streamedOutput(i: CallInternals): { tokens: number; estimated: boolean } {
  const answer = tokensOf(i.outputText, i.outputChars);
  answer.tokens += i.outputAudioTokens ?? 0;
  if (!i.otherOutputText) return answer;
  const other = tokensOf(i.otherOutputText, i.otherOutputChars);
  return { tokens: answer.tokens + other.tokens, estimated: answer.estimated || other.estimated };
}

export const tokenEnricher: Enricher = {
  name: 'tokens',
  enrich(call) {
    const i = call.internal;
    if (!i) return;
    // Calls that produced output (including cut and cancelled streams, and a Realtime response refused once the
    // provider had started it) are counted; refused or redirected ones are not.
    const producedOutput =
      call.httpStatus < 300 ||
      call.status === 'cancelled' ||
      call.errorType === 'upstream_stream_cut' ||
      i.spentUnadmitted === true;
    // A platform call (an image, speech, a transcription, a batch) has tokens only as its answer's usage says: its
    // prompt is no text the tokenizer counts, and its answer no tokens (0 would price it at $0, not unpriced).
    if (call.tokenSource === null && producedOutput && !PLATFORM_ENDPOINTS.has(call.endpoint)) {
      const input = tokensOf(i.promptText, i.promptChars);
      // the chat framing the provider bills beside the messages' text (OpenAI's: 3 a message, its role, 3 priming)
      if (i.promptText !== null && i.promptFraming) input.tokens += i.promptFraming;
      // the tool definitions, billed as prompt too (as their JSON: what the simulator bills, as Anthropic's tokens do)
      const tools = toolsText(i.tools);
      if (tools) {
        const t = countKeptTokens(tools.text, tools.totalChars);
        input.tokens += t.tokens;
        if (t.estimated) input.estimated = true;
      }
      let output = { tokens: 0, estimated: false };
      if (call.endpoint !== 'embeddings') {
        if (i.outputText !== null) output = streamedOutput(i);
        // An answer too large to keep for parsing: its size is all there is to go by.
        else if (i.outputChars) output = { tokens: Math.ceil(i.outputChars / BYTES_PER_TOKEN), estimated: true };
      }
      call.inputTokens = input.tokens;
      call.outputTokens = output.tokens;
      call.cachedInputTokens = 0;
      call.reasoningTokens = 0;
      const source: TokenSource = input.estimated || output.estimated ? 'estimate' : 'tokenizer';
      call.tokenSource = source;
    }
    // A stream that reported its input usage but ended before its output count (an Anthropic stream cancelled
    // before message_delta): the output seen so far is counted, and the record says the tokenizer was used.
    else if (call.tokenSource === 'usage' && call.outputTokens === null && producedOutput && i.outputText !== null) {
      const output = streamedOutput(i);
      call.outputTokens = output.tokens;
      call.tokenSource = output.estimated ? 'estimate' : 'tokenizer';
    }
    if (call.stream && call.tpotMs === null) call.tpotMs = tpotOf(i.firstContentAt, i.lastContentAt, call.outputTokens);
    if (i.otherOutputText) i.otherOutputText = null; // read only here
    if (i.tools !== undefined) i.tools = undefined; // read only here
  },
};
