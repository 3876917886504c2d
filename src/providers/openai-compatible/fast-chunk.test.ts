import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../calls/index.js';
import { chunkInfo, fastChunkInfo } from './index.js';

const chat = (delta: unknown, finish: string | null = null, extra: object = {}) =>
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    usage: null,
    ...extra,
  });

/** Chunks the fast path must read exactly as the parser does. */
const common: [Endpoint, string][] = [
  ['chat.completions', chat({ content: 'Hello' })],
  ['chat.completions', chat({ content: ' with "quotes", \\ backslashes, \n newlines, \u00e9 and 世界' })],
  ['chat.completions', chat({ content: 'a "content":"fake" and \\"content\\":\\"x' })],
  ['chat.completions', chat({ content: 'ends with a backslash \\' })],
  ['chat.completions', chat({ content: 'x' }, 'stop', { usage: undefined, stop_reason: null })],
  ['chat.completions', chat({ content: '"finish_reason":"stop"' })],
  ['chat.completions', chat({}, 'stop')],
  ['chat.completions', chat({ content: null }, 'length')],
  ['chat.completions', JSON.stringify({ choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] })],
];

/** Chunks the fast path must leave to the parser (null), or read as the parser does. */
const other: [Endpoint, string][] = [
  ['chat.completions', chat({ role: 'assistant', content: '', refusal: null })],
  [
    'completions',
    JSON.stringify({
      object: 'text_completion',
      choices: [{ text: ' hi', index: 0, logprobs: null, finish_reason: null }],
    }),
  ],
  ['completions', JSON.stringify({ choices: [{ text: '', index: 0, finish_reason: 'stop' }] })],
  ['chat.completions', chat({ refusal: "I can't" })],
  ['chat.completions', chat({ tool_calls: [{ index: 0, function: { name: 'f', arguments: '' } }] })],
  ['chat.completions', chat({ reasoning_content: 'hmm' })],
  [
    'chat.completions',
    JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }),
  ],
  [
    'chat.completions',
    JSON.stringify({
      choices: [
        { index: 0, delta: { content: 'a' } },
        { index: 1, delta: { content: 'b' } },
      ],
    }),
  ],
  ['chat.completions', JSON.stringify({ choices: [{ index: 0, delta: { content: 'a' } }] }, null, 1)],
  ['chat.completions', '{"choices": [{"index": 0, "delta": {"content": "spaced"}}]}'],
  ['chat.completions', '{"choices":[{"index":0,"delta": {"content": "half spaced"},"finish_reason": "stop"}]}'],
  ['chat.completions', JSON.stringify({ 'we\\"content': 'odd key', choices: [{ index: 0, delta: {} }] })],
  ['chat.completions', JSON.stringify({ choices: [{ index: 0, message: { content: 'not a delta' } }] })],
  ['chat.completions', JSON.stringify({ role: 'content', choices: [{ index: 0, delta: {} }] })],
  ['embeddings', JSON.stringify({ choices: [] })],
];

describe('fastChunkInfo', () => {
  it.each(common)('reads the common %s chunk without parsing, as chunkInfo does: %s', (endpoint, data) => {
    const fast = fastChunkInfo(data, endpoint);
    expect(fast).not.toBeNull();
    expect(fast).toEqual(chunkInfo(JSON.parse(data), endpoint));
  });

  it.each(other)('leaves anything else (%s) to the parser, or agrees with it: %s', (endpoint, data) => {
    const fast = fastChunkInfo(data, endpoint);
    if (fast !== null) expect(fast).toEqual(chunkInfo(JSON.parse(data), endpoint));
  });

  it('never disagrees with the parser on random deltas, and reads nearly all of them itself', () => {
    const pieces = ['"', '\\', 'content', '":"', 'finish_reason', '{', '}', ',', ':', 'x', ' ', '\n', 'é', 'null'];
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let parsed = 0;
    for (let n = 0; n < 2000; n++) {
      let text = '';
      for (let k = Math.floor(rnd() * 8); k > 0; k--) text += pieces[Math.floor(rnd() * pieces.length)];
      const data = chat({ content: text }, rnd() < 0.2 ? text || 'stop' : null);
      const fast = fastChunkInfo(data, 'chat.completions');
      if (fast === null) parsed++;
      else expect(fast).toEqual(chunkInfo(JSON.parse(data), 'chat.completions'));
    }
    // Left to the parser: deltas whose text looks like a key it checks (e.g. the word "finish_reason" in quotes).
    expect(parsed).toBeLessThan(100);
  });
});
