import { describe, expect, it } from 'vitest';
import { AnthropicStreamReader, fastAnthropicEvent } from './anthropic/index.js';
import { chunkInfo, fastChunkInfo } from './openai-compatible/index.js';
import { fastResponsesEvent, readParsedEvent } from './openai-responses/index.js';

const j = (o: unknown) => JSON.stringify(o);
const anthropicText = (text: string, index = 0) =>
  j({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
const responsesText = (delta: string) =>
  j({
    type: 'response.output_text.delta',
    sequence_number: 4,
    item_id: 'msg_1',
    output_index: 0,
    content_index: 0,
    delta,
    logprobs: [],
  });

const tricky = [
  'Hello',
  '',
  ' with "quotes", \\ backslashes, \n newlines, \u00e9 and 世界',
  'a "delta":"fake" and \\"text\\":\\"x',
  'ends with a backslash \\',
  '"}}',
  '{"type":"message_stop"}',
];

/** Events the fast readers must answer themselves, as Anthropic and OpenAI write them. */
const anthropicCommon = [
  ...tricky.map((t) => anthropicText(t)),
  anthropicText('x', 12),
  j({ type: 'ping' }),
  j({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  j({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 't', name: 'f', input: {} } }),
  j({ type: 'content_block_stop', index: 0 }),
  j({ type: 'message_stop' }),
];
/** Events they must leave to the parser, or read exactly as it does. */
const anthropicOther = [
  j({ type: 'message_start', message: { id: 'm', usage: { input_tokens: 5, output_tokens: 1 } } }),
  j({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }),
  j({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"a"' } }),
  j({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }),
  j({ type: 'content_block_delta', index: 0, delta: { text: 'keys in another order', type: 'text_delta' } }),
  j({ type: 'content_block_delta', delta: { type: 'text_delta', text: 'no index' }, index: 0 }),
  j({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'more', extra: 1 } }),
  j({ type: 'error', error: { type: 'overloaded_error', message: 'busy' } }),
  '{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "spaced"}}',
  j({ index: 0, type: 'content_block_delta', delta: { type: 'text_delta', text: 'type second' } }),
  '{"type":"ping\\u0020"}',
];

const responsesCommon = [
  ...tricky.map(responsesText),
  j({ type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'older order' }),
  j({ type: 'response.created', sequence_number: 0, response: { id: 'r', status: 'in_progress', output: [] } }),
  j({ type: 'response.in_progress', response: { id: 'r' } }),
  j({ type: 'response.output_item.added', item: { type: 'message', content: [] } }),
  j({ type: 'response.content_part.added', part: { type: 'output_text', text: '' } }),
  j({ type: 'response.output_text.done', text: 'the whole answer, again' }),
  j({ type: 'response.output_item.done', item: { type: 'message', content: [{ type: 'output_text', text: 'all' }] } }),
  j({ type: 'response.function_call_arguments.delta', delta: '{"a":' }),
  j({ type: 'response.reasoning_summary_text.delta', delta: 'thinking' }),
];
const responsesOther = [
  j({ type: 'response.refusal.delta', delta: "I can't" }),
  j({
    type: 'response.completed',
    response: {
      status: 'completed',
      output: [{ type: 'message', content: [{ type: 'output_text', text: 'hi' }] }],
      usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 },
    },
  }),
  j({ type: 'response.failed', response: { status: 'failed', error: { code: 'server_error' } } }),
  j({ type: 'error', code: 'rate_limit_exceeded', message: 'slow down' }),
  j({ type: 'response.output_text.delta', delta: 1 }),
  j({ type: 'response.output_text.delta', item_id: 'x' }),
  '{"type": "response.output_text.delta", "delta": "spaced"}',
  j({ sequence_number: 1, type: 'response.output_text.delta', delta: 'type second' }),
];

describe('fastAnthropicEvent', () => {
  it.each(anthropicCommon)('reads the common event without parsing, as the parser does: %s', (data) => {
    const fast = fastAnthropicEvent(data);
    expect(fast).not.toBeNull();
    expect(fast).toEqual(new AnthropicStreamReader().readParsed(data));
  });

  it.each(anthropicOther)('leaves anything else to the parser, or agrees with it: %s', (data) => {
    const fast = fastAnthropicEvent(data);
    if (fast !== null) expect(fast).toEqual(new AnthropicStreamReader().readParsed(data));
  });

  it('leaves the events that carry usage and stop reasons to the parser, so the reader keeps its state', () => {
    const reader = new AnthropicStreamReader();
    reader.read(j({ type: 'message_start', message: { usage: { input_tokens: 5, cache_read_input_tokens: 2 } } }));
    reader.read(anthropicText('hi'));
    const end = reader.read(
      j({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }),
    );
    expect(end?.usage).toMatchObject({ inputTokens: 7, outputTokens: 9, cachedInputTokens: 2 });
    expect(end?.finishReason).toBe('end_turn');
  });
});

describe('fastResponsesEvent', () => {
  it.each(responsesCommon)('reads the common event without parsing, as the parser does: %s', (data) => {
    const fast = fastResponsesEvent(data);
    expect(fast).not.toBeNull();
    expect(fast).toEqual(readParsedEvent(data));
  });

  it.each(responsesOther)('leaves anything else to the parser, or agrees with it: %s', (data) => {
    const fast = fastResponsesEvent(data);
    if (fast !== null) expect(fast).toEqual(readParsedEvent(data));
  });

  it('never parses the events that repeat the whole answer', () => {
    const long = 'word '.repeat(50_000);
    for (const data of [
      j({ type: 'response.output_text.done', text: long }),
      j({ type: 'response.content_part.done', part: { type: 'output_text', text: long } }),
    ])
      expect(fastResponsesEvent(data)).toEqual(readParsedEvent(data));
  });
});

describe('both fast readers on random text', () => {
  it('never disagree with their parsers, and read nearly every delta themselves', () => {
    const pieces = ['"', '\\', 'text', 'delta', '":"', '{', '}', '}}', ',', ':', 'x', ' ', '\n', 'é', 'type'];
    let seed = 11;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let parsed = 0;
    for (let n = 0; n < 2000; n++) {
      let text = '';
      for (let k = Math.floor(rnd() * 8); k > 0; k--) text += pieces[Math.floor(rnd() * pieces.length)];
      const a = anthropicText(text);
      const fa = fastAnthropicEvent(a);
      if (fa === null) parsed++;
      else expect(fa).toEqual(new AnthropicStreamReader().readParsed(a));
      const r = responsesText(text);
      const fr = fastResponsesEvent(r);
      if (fr === null) parsed++;
      else expect(fr).toEqual(readParsedEvent(r));
    }
    // Left to the parser: Responses deltas whose text holds `"delta":"` written as a key would be.
    expect(parsed).toBeLessThan(100);
  });
});

describe('output that is not the answer (tool-call arguments, thinking): ChunkInfo.other', () => {
  it('is read from every format, by the fast readers as by the parsers, and never as the answer text', () => {
    const anth = new AnthropicStreamReader();
    for (const [delta, other] of [
      [{ type: 'input_json_delta', partial_json: '{"city":' }, '{"city":'],
      [{ type: 'thinking_delta', thinking: 'Let me see' }, 'Let me see'],
      [{ type: 'signature_delta', signature: 'c2ln' }, undefined],
    ] as const) {
      const info = anth.read(j({ type: 'content_block_delta', index: 0, delta }));
      expect(info?.other).toBe(other);
      expect(info?.text).toBe('');
    }
    for (const type of [
      'response.function_call_arguments.delta',
      'response.reasoning_summary_text.delta',
      'response.custom_tool_call_input.delta',
    ]) {
      const data = j({ type, sequence_number: 3, item_id: 'fc_1', output_index: 0, delta: '{"city":"Par' });
      expect(fastResponsesEvent(data)).toMatchObject({ content: true, text: '', other: '{"city":"Par' });
      expect(readParsedEvent(data)).toEqual(fastResponsesEvent(data));
    }
    // an audio delta is base64, not text to count
    expect(fastResponsesEvent(j({ type: 'response.audio.delta', delta: 'UklGRg==' }))?.other).toBeUndefined();
    const tool = {
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: [
              { index: 0, function: { arguments: '{"a":1' } },
              { index: 1, function: { arguments: '}' } },
            ],
          },
        },
      ],
    };
    expect(chunkInfo(tool, 'chat.completions')).toMatchObject({ content: true, text: '', other: '{"a":1}' });
    const reasoning = j({
      id: 'c',
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: { reasoning_content: 'hmm' } }],
    });
    expect(fastChunkInfo(reasoning, 'chat.completions')).toMatchObject({ content: true, text: '', other: 'hmm' });
    expect(chunkInfo(JSON.parse(reasoning), 'chat.completions')).toEqual(fastChunkInfo(reasoning, 'chat.completions'));
  });
});
