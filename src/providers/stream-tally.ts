// The tally a stream meter keeps of a call's events (the gateway's SSE meter, Gemini's JSON-array meter, a Responses
// WebSocket response): the fields tallyChunk sets, declared once for every meter that extends it.
import { BoundedText } from '../calls/bounded-text.js';
import type { ChunkTally, Usage } from './adapter.js';

export class StreamTally implements ChunkTally {
  firstContentAt: number | null = null;
  lastContentAt: number | null = null;
  /** The content text seen, bounded (head and tail of a long answer). */
  readonly text = new BoundedText();
  /** Output that is not the answer's text (tool-call arguments, thinking), bounded: counted, never read as the answer. */
  readonly otherText = new BoundedText();
  refusal: string | null = null;
  finishReason: string | null = null;
  usage: Usage | null = null;
  /** The error type when the stream itself reported that the call failed (an `error` event, `response.failed`). */
  error: string | null = null;
  errorMessage: string | null = null;
  /** That error was a rate limit: the call is recorded `rate_limited`, as a 429 answer is. */
  rateLimited = false;
  /** The response's id, when the stream said it (a Responses stream's final event). */
  responseId: string | null = null;
  /** The model that answered, when the stream said it. */
  responseModel: string | null = null;
}
