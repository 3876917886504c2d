import { describe, expect, it } from 'vitest';
import { OMITTED_MARK, TEXT_HEAD_CHARS, TEXT_TAIL_CHARS } from '../calls/bounded-text.js';
import { openaiCompatible, type StreamReader } from '../providers/index.js';
import { MAX_EVENT_CHARS, StreamMeter } from './sse.js';

const chunk = (o: unknown): string => `data: ${JSON.stringify(o)}\n\n`;
const content = (text: string, withUsage = false) =>
  chunk({
    id: 'c',
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta: { content: text }, finish_reason: null }],
    ...(withUsage ? { usage: null } : {}),
  });

describe('StreamMeter', () => {
  it('passes bytes through untouched when the client asked for usage itself, and meters them', () => {
    const m = new StreamMeter('chat.completions', false);
    const parts = [
      chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }], usage: null }),
      content('Hel', true),
      content('lo', true),
      chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }),
      chunk({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }),
      'data: [DONE]\n\n',
    ];
    const wire = Buffer.from(parts.join(''));
    // Split at awkward places, including inside a multi-byte character-free JSON token.
    const out: Buffer[] = [];
    for (let i = 0; i < wire.length; i += 7) out.push(m.push(wire.subarray(i, i + 7), i) as Buffer);
    expect(Buffer.concat(out).equals(wire)).toBe(true);
    expect(m.text.toString()).toBe('Hello');
    expect(m.usage?.outputTokens).toBe(2);
    expect(m.finishReason).toBe('stop');
    expect(m.firstContentAt).toBeGreaterThan(0);
    expect(m.done).toBe(true);
  });

  it('removes the usage chunk and the usage:null fields it caused, so the client sees the direct stream', () => {
    const direct = [
      chunk({ id: 'c', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }),
      chunk({ id: 'c', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] }),
      chunk({ id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      'data: [DONE]\n\n',
    ].join('');
    const withUsage = [
      chunk({
        id: 'c',
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
        usage: null,
      }),
      chunk({ id: 'c', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }], usage: null }),
      chunk({ id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }),
      chunk({ id: 'c', choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }),
      'data: [DONE]\n\n',
    ].join('');
    const m = new StreamMeter('chat.completions', true);
    let out = '';
    const buf = Buffer.from(withUsage);
    for (let i = 0; i < buf.length; i += 13) out += m.push(buf.subarray(i, i + 13), 1).toString();
    out += m.end(2);
    expect(out).toBe(direct);
    expect(m.usage).toEqual({
      inputTokens: 3,
      outputTokens: 1,
      cachedInputTokens: 0,
      reasoningTokens: 0,
      cacheWriteInputTokens: 0,
    });
  });

  it('keeps multi-byte characters split across chunks intact', () => {
    const m = new StreamMeter('chat.completions', true);
    const buf = Buffer.from(content('héllo → 世界'));
    let out = '';
    for (let i = 0; i < buf.length; i++) out += m.push(buf.subarray(i, i + 1), i).toString();
    expect(out).toBe(content('héllo → 世界'));
    expect(m.text.toString()).toBe('héllo → 世界');
  });

  it('decodes a chunk of ASCII after a cut-off character as the whole would be decoded', () => {
    // A lead byte whose character never finishes (invalid UTF-8), then ASCII: the replacement character stays where
    // it was, as in the text decoded whole, whether the ASCII comes alone or not.
    const wire = Buffer.concat([
      Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"a'),
      Buffer.from([0xc3]),
    ]);
    const rest = Buffer.from('b"}}]}\n\n');
    const m = new StreamMeter('chat.completions', true);
    const out = `${m.push(wire, 1)}${m.push(rest, 2)}${m.end(3)}`;
    expect(out).toBe(Buffer.concat([wire, rest]).toString());
    expect(m.text.toString()).toBe('a\ufffdb');
  });

  it('marks refusals and tool calls as content', () => {
    const m = new StreamMeter('chat.completions', false);
    m.push(Buffer.from(chunk({ choices: [{ index: 0, delta: { refusal: "I can't help" } }] })), 5);
    expect(m.refusal).toBe("I can't help");
    expect(m.firstContentAt).toBe(5);
    const t = new StreamMeter('chat.completions', false);
    t.push(
      Buffer.from(chunk({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'f' } }] } }] })),
      9,
    );
    expect(t.firstContentAt).toBe(9);
  });

  it('reads completions text chunks', () => {
    const m = new StreamMeter('completions', false);
    m.push(
      Buffer.from(chunk({ object: 'text_completion', choices: [{ index: 0, text: 'abc', finish_reason: null }] })),
      1,
    );
    expect(m.text.toString()).toBe('abc');
  });

  it('reads CRLF-delimited events and multi-line data the same way', () => {
    const m = new StreamMeter('chat.completions', false);
    const events = [
      'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\r\n\r\n',
      'event: message\r\ndata: {"choices":[{"index":0,\r\ndata: "delta":{"content":"b"}}]}\r\n\r\n',
      ': keep-alive\n\n',
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
      'data: [DONE]\r\n\r\n',
    ];
    const wire = Buffer.from(events.join(''));
    for (let i = 0; i < wire.length; i += 5) m.push(wire.subarray(i, i + 5), i);
    expect(m.text.toString()).toBe('ab');
    expect(m.events).toBe(3);
    expect(m.finishReason).toBe('stop');
    expect(m.done).toBe(true);
  });
  it('reads the events of one chunk in place, LF and CRLF mixed, and an unterminated last one at the end', () => {
    const wire = [
      'data: {"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}\n\n',
      'data:{"choices":[{"index":0,"delta":{"content":"b"}}]}\r\n\r\n',
      'event: message\ndata: {"choices":[{"index":0,"delta":{"content":"c"}}]}\n\n',
      'data: {"choices":[{"index":0,"delta":{"content":"d"}}]}\n\n',
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
    ].join('');
    for (const filter of [false, true]) {
      const m = new StreamMeter('chat.completions', filter);
      const out = `${m.push(Buffer.from(wire), 1)}${m.end(2)}`;
      expect(out).toBe(wire);
      expect(m.text.toString()).toBe('abcd');
      expect(m.events).toBe(5);
      expect(m.finishReason).toBe('stop');
    }
  });
});

describe('StreamMeter bounds', () => {
  it('passes an event longer than MAX_EVENT_CHARS through unread, then reads the events after it', () => {
    for (const filter of [false, true]) {
      const m = new StreamMeter('chat.completions', filter);
      const huge = `data: ${'x'.repeat(2 * MAX_EVENT_CHARS)}\n\n`;
      const wire = Buffer.from(content('a') + huge + content('b'));
      const out: string[] = [];
      for (let i = 0; i < wire.length; i += 65_536) out.push(String(m.push(wire.subarray(i, i + 65_536), i)));
      out.push(m.end(1));
      expect(out.join('')).toBe(wire.toString());
      expect(m.overlong).toBe(1);
      expect(m.text.toString()).toBe('ab');
    }
  });

  it('keeps the head and tail of an endless answer, and its whole length', () => {
    const m = new StreamMeter('chat.completions', false);
    const piece = 'y'.repeat(1000);
    for (let i = 0; i < 2000; i++)
      m.push(Buffer.from(content(i === 0 ? `START${piece}` : i === 1999 ? `${piece}END` : piece)), i);
    const kept = m.text.kept();
    expect(kept.totalChars).toBe(2_000_000 + 8);
    expect(kept.text.length).toBe(TEXT_HEAD_CHARS + OMITTED_MARK.length + TEXT_TAIL_CHARS);
    expect(kept.text.startsWith('START')).toBe(true);
    expect(kept.text.endsWith('END')).toBe(true);
  });

  it('when reading fails, the bytes still flow (filtered streams keep what was not yet sent)', () => {
    const m = new StreamMeter('chat.completions', true);
    const first = content('a');
    expect(m.push(Buffer.from(first), 1)).toBe(first);
    // Make the next read throw, as a bug in metering would.
    (m as unknown as { onEvent: () => never }).onEvent = () => {
      throw new Error('boom');
    };
    const rest = content('b') + content('c');
    const half = Buffer.from(rest);
    const out = String(m.push(half.subarray(0, 10), 2)) + String(m.push(half.subarray(10), 3)) + m.end(4);
    expect(out).toBe(rest);
    expect(m.failure?.message).toBe('boom');
    expect(m.text.toString()).toBe('a');
  });
});

describe('StreamMeter on an OpenAI stream read by the scan', () => {
  const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini' };
  const ev = (choices: unknown[], usage?: unknown) =>
    chunk({ ...head, choices, ...(usage === undefined ? {} : { usage }) });
  const texts = ['Hé', 'llo "wor', 'ld" \\ ', '世界🙂', ''];
  /** The stream as the upstream writes it when asked for usage, and as the client would see it direct. */
  const stream = (withUsage: boolean) =>
    [
      ev(
        [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, finish_reason: null }],
        withUsage ? null : undefined,
      ),
      ...texts.map((t) => ev([{ index: 0, delta: { content: t }, finish_reason: null }], withUsage ? null : undefined)),
      ev(
        [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, id: 't', function: { name: 'f', arguments: '{"a":"\\"}' } }] },
          },
        ],
        withUsage ? null : undefined,
      ),
      ev([{ index: 0, delta: {}, finish_reason: 'tool_calls' }], withUsage ? null : undefined),
      ...(withUsage
        ? [
            ev([], {
              prompt_tokens: 7,
              completion_tokens: 9,
              total_tokens: 16,
              prompt_tokens_details: { cached_tokens: 2 },
            }),
          ]
        : []),
      'data: [DONE]\n\n',
    ].join('');

  it('gives the direct stream and the same text, usage, finish and times however the bytes are split', () => {
    const wire = Buffer.from(stream(true));
    const direct = stream(false);
    for (const size of [1, 2, 3, 5, 17, 64, wire.length]) {
      const m = new StreamMeter('chat.completions', true);
      let out = '';
      let t = 0;
      for (let i = 0; i < wire.length; i += size) out += m.push(wire.subarray(i, i + size), ++t).toString();
      out += m.end(++t);
      expect(out, `split every ${size} bytes`).toBe(direct);
      expect(m.text.toString()).toBe(texts.join(''));
      expect(m.usage).toEqual({
        inputTokens: 7,
        outputTokens: 9,
        cachedInputTokens: 2,
        reasoningTokens: 0,
        cacheWriteInputTokens: 0,
      });
      expect(m.finishReason).toBe('tool_calls');
      expect(m.events).toBe(texts.length + 4);
      expect(m.failure).toBeNull();
      // Content starts with the first text and ends with the tool call (times are the read counter here).
      expect(m.firstContentAt).toBeGreaterThan(0);
      expect(m.lastContentAt).toBeGreaterThanOrEqual(m.firstContentAt as number);
      if (size === 1) expect(m.lastContentAt).toBeGreaterThan(m.firstContentAt as number);
    }
  });

  it('cuts `,"usage":null` only where it is a member, and leaves the text that spells it', () => {
    const m = new StreamMeter('chat.completions', true);
    const spelled = ev([{ index: 0, delta: { content: 'the "usage":null field' }, finish_reason: null }], null);
    const out = m.push(Buffer.from(spelled), 1);
    expect(out).toBe(ev([{ index: 0, delta: { content: 'the "usage":null field' }, finish_reason: null }]));
    expect(m.text.toString()).toBe('the "usage":null field');
  });
});

describe('StreamMeter reads a text delta like the last one in place', () => {
  const reader = () => openaiCompatible.openaiCompatibleAdapter.streamReader('chat.completions');
  /** The same reader without its text span: every event is cut out and read, as before the repeats. */
  const plain = (): StreamReader => {
    const r = reader();
    return { read: (d) => r.read(d) };
  };
  /** Counts the events the reader is given. */
  const counting = () => {
    const r = reader();
    const c = {
      reads: 0,
      read(d: string) {
        c.reads++;
        return r.read(d);
      },
      get textStart() {
        return r.textStart;
      },
      get textEnd() {
        return r.textEnd;
      },
      get freeStart() {
        return r.freeStart;
      },
      get freeEnd() {
        return r.freeEnd;
      },
    };
    return c;
  };
  const head = { id: 'chatcmpl-9', object: 'chat.completion.chunk', created: 17, model: 'gpt-4o-mini' };
  /** A chunk as OpenAI and the simulator write it (logprobs and finish_reason null, usage null when asked for). */
  const text = (t: string, usage = true, h: object = head) =>
    chunk({
      ...h,
      choices: [{ index: 0, delta: { content: t }, logprobs: null, finish_reason: null }],
      ...(usage ? { usage: null } : {}),
    });
  const role = chunk({
    ...head,
    choices: [
      { index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null },
    ],
    usage: null,
  });
  const finish = chunk({
    ...head,
    choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }],
    usage: null,
  });
  const usage = chunk({ ...head, choices: [], usage: { prompt_tokens: 4, completion_tokens: 9, total_tokens: 13 } });
  /** A text delta as OpenAI writes it by default: usage null, then its obfuscation string (raw: a JSON string's inside). */
  const obfuscated = (t: string, obf: string) =>
    text(t).replace(',"usage":null}', `,"usage":null,"obfuscation":"${obf}"}`);
  const metered = (r: StreamReader, wire: Buffer, size: number, filter: boolean) => {
    const m = new StreamMeter('chat.completions', filter, r);
    const out: string[] = [];
    let t = 0;
    for (let i = 0; i < wire.length; i += size) out.push(m.push(wire.subarray(i, i + size), ++t).toString());
    out.push(m.end(++t));
    const { text: kept, otherText, ...rest } = m as unknown as Record<string, unknown>;
    return {
      out: out.join(''),
      text: (kept as StreamMeter['text']).kept(),
      other: (otherText as StreamMeter['text']).kept(),
      events: m.events,
      first: m.firstContentAt,
      last: m.lastContentAt,
      usage: m.usage,
      finish: m.finishReason,
      failure: m.failure?.message ?? null,
      done: m.done,
      keys: Object.keys(rest).length,
    };
  };

  it('reads the simulator-shaped stream with the reader given 4 of its events, and meters it as reading each would', () => {
    const pieces = Array.from({ length: 40 }, (_, i) => ` word${i}`);
    const wire = Buffer.from([role, ...pieces.map((p) => text(p)), finish, usage, 'data: [DONE]\n\n'].join(''));
    for (const filter of [false, true]) {
      const r = counting();
      const got = metered(r, wire, wire.length, filter);
      // role, the first text (which the rest repeat), finish; the usage chunk is read by the scan too
      expect(r.reads).toBe(4);
      expect(got).toEqual(metered(plain(), wire, wire.length, filter));
      expect(got.text.text).toBe(pieces.join(''));
      expect(got.events).toBe(43);
    }
  });

  it("reads OpenAI's obfuscated text deltas the same way, whatever their obfuscation string holds", () => {
    const pieces = Array.from({ length: 40 }, (_, i) => ` word${i}`);
    const obf = (i: number) => ['hQ3xk', 'a', '', 'q\\"z', 'Zz\\\\'][i % 5] as string;
    const wire = Buffer.from(
      [role, ...pieces.map((p, i) => obfuscated(p, obf(i))), finish, usage, 'data: [DONE]\n\n'].join(''),
    );
    for (const filter of [false, true]) {
      const r = counting();
      const got = metered(r, wire, wire.length, filter);
      expect(r.reads).toBe(4);
      expect(got).toEqual(metered(plain(), wire, wire.length, filter));
      expect(got.text.text).toBe(pieces.join(''));
      expect(got.failure).toBeNull();
    }
    // A text delta with usage after its obfuscation is no repeat: its usage is read each time.
    const withUsage = (t: string, n: number) =>
      obfuscated(t, 'o').replace(
        '"o"}',
        `"o","usage":{"prompt_tokens":${n},"completion_tokens":${n},"total_tokens":${2 * n}}}`,
      );
    const twice = Buffer.from([withUsage('a', 1), usage, withUsage('b', 1)].join(''));
    const got = metered(reader(), twice, twice.length, false);
    expect(got).toEqual(metered(plain(), twice, twice.length, false));
    expect(got.usage?.inputTokens).toBe(1);
  });

  it("checks a head again in a chunk's text where a repeat's place in the text before held one (each event read alike)", () => {
    // A run of repeats checks its tail and the next event's head together. The text before ends inside an event whose
    // head was checked so (c), and the next text, starting at c, has another event where that head was (a refusal
    // delta: its head is as long as a text delta's): it must be compared, not taken as checked.
    const x = text('x').replace('{"content":"', '{"refusal":"');
    const headChars = text('').indexOf('{"content":"') + '{"content":"'.length;
    const before = role.length + text('a').length + text('b').length;
    const c = text('c'.repeat(before - text('').length));
    const wire = Buffer.from([role, text('a'), text('b'), c, x, finish, usage, 'data: [DONE]\n\n'].join(''));
    const cut = before + headChars + 5;
    for (const filter of [false, true]) {
      const read = (r: StreamReader) => {
        const m = new StreamMeter('chat.completions', filter, r);
        const out = m.push(wire.subarray(0, cut), 1).toString() + m.push(wire.subarray(cut), 2).toString() + m.end(3);
        return { out, text: m.text.kept(), other: m.otherText.kept(), refusal: m.refusal, events: m.events };
      };
      const got = read(reader());
      expect(got).toEqual(read(plain()));
      expect(got.text.text).toBe(`ab${'c'.repeat(before - text('').length)}`);
    }
  });

  it('gives what reading every event gives on mixed streams however they are split', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const texts = ['a', '', 'é世🙂', 'say "hi"', 'back\\slash', 'tab\tx', 'usage":null', '\n', 'x'.repeat(300)];
    const kinds: (() => string)[] = [
      () => text(texts[rand(texts.length)] as string),
      () => text(texts[rand(texts.length)] as string),
      () => text(texts[rand(texts.length)] as string, false),
      () => text('other head', true, { ...head, id: 'chatcmpl-10' }),
      () => role,
      () => finish,
      // the same bytes around a string that is not JSON on one line (a raw newline), or not closed
      () => text('RAW', true).replace('RAW', 'a\nb'),
      () => text('RAW', true).replace('RAW"', 'open'),
      () => text('no space', true).replace('data: ', 'data:'),
      () => text('crlf', true).replace('\n\n', '\r\n\r\n'),
      () => text('obf', true).replace(',"usage":null}', ',"usage":null,"obfuscation":"xy"}'),
      // OpenAI's obfuscation, a different string in each chunk (escapes, a raw newline, not a string, not last)
      () => obfuscated(texts[rand(texts.length)] as string, ['k', 'a\\"b', '', 'x\\\\'][rand(4)] as string),
      () => obfuscated(texts[rand(texts.length)] as string, ['Qz', 'z9'][rand(2)] as string),
      () => obfuscated('raw', 'a\nb'),
      () => obfuscated('num', 'n').replace('"obfuscation":"n"', '"obfuscation":7'),
      () => obfuscated('after', 'n').replace('"n"}', '"n","x":1}'),
      () => obfuscated('unclosed', 'n').replace('"n"}', '"n}'),
      () =>
        obfuscated('with usage', 'n').replace(
          '"n"}',
          '"n","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}',
        ),
      () => ': comment\n\n',
      // usage:null twice, before the choices, or as the first member
      () => text('two', true).replace(',"usage":null}', ',"usage":null,"usage":null}'),
      () => text('front', true).replace('{"id"', '{"usage":null,"id"'),
      () => text('spaced', true).replace(',"usage":null}', ', "usage":null}'),
      () => `event: x\n${text('named')}`,
    ];
    for (let round = 0; round < 60; round++) {
      const events = Array.from({ length: 5 + rand(30) }, () => (kinds[rand(kinds.length)] as () => string)());
      const wire = Buffer.from([...events, rand(2) ? usage : '', 'data: [DONE]\n\n'].join(''));
      for (const size of [1, 3, 29, 200, wire.length]) {
        const filter = rand(2) === 1;
        expect(metered(reader(), wire, size, filter), `round ${round}, split every ${size}`).toEqual(
          metered(plain(), wire, size, filter),
        );
      }
    }
  });
});
