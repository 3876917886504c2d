import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../calls/index.js';
import { chunkInfo, fastChunkInfo } from './index.js';

const j = (o: unknown) => JSON.stringify(o);
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
  // text deltas of choice 0: one read in two comparisons, one (a finish reason) read piece by piece after them
  ['chat.completions', chat({ content: 'x' }, 'length')],
  ['chat.completions', chat({ content: '' })],
  ['chat.completions', JSON.stringify({ choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] })],
];

/** Chunks the fast path must leave to the parser (null), or read as the parser does. */
const other: [Endpoint, string][] = [
  ['chat.completions', chat({ role: 'assistant', content: '', refusal: null })],
  ['chat.completions', chat({ content: 'x', refusal: null })],
  ['chat.completions', chat({ content: 'x' }).replace('"index":0', '"index":1')],
  ['chat.completions', chat({ content: 'x' }).replace('"logprobs":null', '"logprobs":{"content":[]}')],
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

describe('fastChunkInfo reads the rest of a stream without JSON.parse as well', () => {
  const usage = {
    prompt_tokens: 10,
    completion_tokens: 16,
    total_tokens: 26,
    prompt_tokens_details: { cached_tokens: 4, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 2, audio_tokens: 0 },
  };
  /** Chunks as servers write them that the scan must answer itself (not null), exactly as the parser does. */
  const answered: [string, Endpoint, string][] = [
    ['OpenAI role chunk', 'chat.completions', chat({ role: 'assistant', content: '', refusal: null })],
    ['usage-only final chunk', 'chat.completions', chat(undefined, null, { choices: [], usage })],
    ['finish with usage on the same chunk', 'chat.completions', chat({}, 'length', { usage })],
    ['refusal delta', 'chat.completions', chat({ refusal: "I can't help with that" })],
    ['reasoning delta', 'chat.completions', chat({ reasoning_content: 'thinking "hard" \\ 世界' })],
    ['reasoning delta (OpenRouter, Groq, newer vLLM)', 'chat.completions', chat({ reasoning: 'thinking "hard"' })],
    ['both reasoning names', 'chat.completions', chat({ reasoning_content: 'same', reasoning: 'same' })],
    ['role and content together (Ollama)', 'chat.completions', chat({ role: 'assistant', content: 'Hi' })],
    ['tool_calls null', 'chat.completions', chat({ content: 'x', tool_calls: null })],
    ['escaped quotes and unicode', 'chat.completions', chat({ content: 'say "hi" \\ é 世界 🙂 \u2028' })],
    ['content ending in an escaped backslash', 'chat.completions', chat({ content: 'C:\\dir\\' })],
    ['text holding keys and brackets', 'chat.completions', chat({ content: '"usage":{"x":1}],"choices":[{' })],
    [
      'llama.cpp key order',
      'chat.completions',
      j({
        choices: [{ finish_reason: null, index: 0, delta: { content: 'x' } }],
        created: 1,
        id: 'c',
        model: 'm',
        object: 'chat.completion.chunk',
      }),
    ],
    ['obfuscation after the choices', 'chat.completions', chat({ content: 'x' }, null, { obfuscation: 'abc' })],
    // OpenAI's text deltas carry obfuscation after usage: the choice read once, then the members after it
    ['obfuscation, empty text', 'chat.completions', chat({ content: '' }, null, { obfuscation: 'a\\"b' })],
    ['obfuscation with a finish', 'chat.completions', chat({}, 'stop', { obfuscation: 'abcd' })],
    [
      'a finish reason before the delta',
      'chat.completions',
      j({ choices: [{ index: 0, finish_reason: 'stop', delta: {} }] }),
    ],
    [
      'completions text',
      'completions',
      j({ choices: [{ text: ' hi', index: 0, logprobs: null, finish_reason: null }] }),
    ],
    ['completions final', 'completions', j({ choices: [{ text: '', index: 0, finish_reason: 'stop' }], usage })],
    ['empty choice', 'chat.completions', j({ choices: [{}] })],
    ['no choices, no usage', 'chat.completions', j({ id: 'c', choices: [] })],
    [
      'duplicate finish_reason: the last wins',
      'chat.completions',
      '{"choices":[{"index":0,"finish_reason":"stop","delta":{"content":"a"},"finish_reason":null}]}',
    ],
    [
      'duplicate content: the last wins',
      'chat.completions',
      '{"choices":[{"index":0,"delta":{"content":"a","content":"b"}}]}',
    ],
    [
      'a plain usage before the choices',
      'chat.completions',
      '{"usage":null,"choices":[{"index":0,"delta":{"content":"a"}}]}',
    ],
  ];
  it.each(answered)('%s', (_name, endpoint, data) => {
    const fast = fastChunkInfo(data, endpoint);
    expect(fast).not.toBeNull();
    expect(fast).toEqual(chunkInfo(JSON.parse(data), endpoint));
  });

  /** Chunks it must leave to the parser: anything it cannot read value by value. */
  const left: [string, Endpoint, string][] = [
    [
      'tool-call delta',
      'chat.completions',
      chat({ tool_calls: [{ index: 0, id: 't', function: { name: 'f', arguments: '{"a":' } }] }),
    ],
    ['function_call delta', 'chat.completions', chat({ function_call: { name: 'f', arguments: '' } })],
    [
      'logprobs object',
      'chat.completions',
      j({ choices: [{ index: 0, delta: { content: 'a' }, logprobs: { content: [] } }] }),
    ],
    [
      'two choices',
      'chat.completions',
      j({
        choices: [
          { index: 0, delta: { content: 'a' } },
          { index: 1, delta: { content: 'b' } },
        ],
      }),
    ],
    [
      'an object before the choices',
      'chat.completions',
      j({ usage: { prompt_tokens: 1 }, choices: [{ index: 0, delta: {} }] }),
    ],
    [
      'a bracket inside a string before the choices',
      'chat.completions',
      j({ id: 'a[b', choices: [{ index: 0, delta: { content: 'x' } }] }),
    ],
    [
      'usage followed by more members (OpenAI obfuscation)',
      'chat.completions',
      j({ id: 'c', choices: [], usage, obfuscation: 'x' }),
    ],
    ['usage followed by more members', 'chat.completions', j({ choices: [], usage, model: 'm' })],
    ['an escaped key', 'chat.completions', '{"choices":[{"index":0,"delta":{"cont\\u0065nt":"x"}}]}'],
    ['two deltas', 'chat.completions', '{"choices":[{"index":0,"delta":{"content":"a"},"delta":{"content":"b"}}]}'],
    ['usage null after a usage object', 'chat.completions', `{"choices":[],"usage":${j(usage)},"x":1,"usage":null}`],
    ['spaces', 'chat.completions', '{"choices": [{"index": 0, "delta": {"content": "a"}}]}'],
    ['trailing space', 'chat.completions', `${chat({ content: 'a' })} `],
    ['not JSON', 'chat.completions', '{"choices":[{"index":0,"delta":{"content":"a'],
  ];
  it.each(left)('leaves to the parser: %s', (_name, endpoint, data) => {
    expect(fastChunkInfo(data, endpoint)).toBeNull();
  });

  it('agrees with the parser on random chunks of every shape it may meet', () => {
    let seed = 11;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const texts = ['', 'a', '"', '\\', 'é世', '"usage":null', ']}', '{"', 'finish_reason', '\\"content\\":\\"x'];
    const values = () => pick<unknown>([null, 'stop', '', 0, 1.5e3, true, false, pick(texts)]);
    let answered = 0;
    for (let n = 0; n < 3000; n++) {
      const delta: Record<string, unknown> = {};
      for (const k of ['role', 'content', 'refusal', 'reasoning_content', 'reasoning', 'x'])
        if (rnd() < 0.4) delta[k] = values();
      const choice: Record<string, unknown> = {};
      for (const k of ['index', 'delta', 'logprobs', 'finish_reason', 'text']) {
        if (rnd() < 0.3) continue;
        choice[k] = k === 'delta' ? delta : values();
      }
      const top: Record<string, unknown> = {};
      for (const k of ['id', 'object', 'model', 'choices', 'usage', 'obfuscation']) {
        if (rnd() < 0.25) continue;
        top[k] =
          k === 'choices'
            ? rnd() < 0.2
              ? []
              : [choice]
            : k === 'usage'
              ? pick<unknown>([null, { prompt_tokens: 3, completion_tokens: Math.floor(rnd() * 9) }])
              : values();
      }
      const data = j(top);
      for (const endpoint of ['chat.completions', 'completions'] as const) {
        const fast = fastChunkInfo(data, endpoint);
        if (fast === null) continue;
        answered++;
        expect(fast, data).toEqual(chunkInfo(JSON.parse(data), endpoint));
      }
    }
    // About a third: a usage object that is not the last member, and deltas the fast path does not read, are parsed.
    expect(answered).toBeGreaterThan(1500);
  });
});
