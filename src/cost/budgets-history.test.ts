// The admission estimate's tool-call history (tool calls' inputs, tool results' other parts, thinking, Responses
// reasoning and tool output items, Gemini function calls and responses): counted by their JSON's characters without
// serializing them at every call (agents send their whole history with each call).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { estimateInputTokens, jsonChars } from './budgets.js';

/** A seeded random number generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['read', 'file', '"path"', 'line\nbreak', 'tab\there', 'é', '😀', '\u0001', '\ud800', '\\', '__proto__'];
const NUMBERS = [0, -0, 1, -17, 0.1, 1e21, 1e-7, 2 ** 70, 123456789.125, Number.MAX_VALUE];

function value(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 4 ? 5 : 8));
  if (pick === 0) return WORDS.slice(0, 1 + Math.floor(r() * WORDS.length)).join(r() < 0.5 ? ' ' : '');
  if (pick === 1) return NUMBERS[Math.floor(r() * NUMBERS.length)];
  if (pick === 2) return r() < 0.5;
  if (pick === 3) return null;
  if (pick === 4) return 'x'.repeat(Math.floor(r() * 300));
  if (pick === 5) return Array.from({ length: Math.floor(r() * 5) }, () => value(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 5); i > 0; i--) {
    const k = WORDS[Math.floor(r() * WORDS.length)] as string;
    Object.defineProperty(o, k, { value: value(r, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return o;
}

/** Each string of `v`, keys too, with the characters JSON escapes made plain: so its JSON has no escapes. */
function plain(v: unknown): unknown {
  // each such character to its own plain one (keys stay distinct)
  const p = (s: string) =>
    s.replace(/["\\\u0000-\u001f\ud800-\udfff]/g, (c) => String.fromCharCode(0x4e00 + (c.charCodeAt(0) & 0xfff)));
  if (typeof v === 'string') return p(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v === null || typeof v !== 'object') return v;
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v))
    Object.defineProperty(o, p(k), { value: plain(x), enumerable: true, writable: true, configurable: true });
  return o;
}

afterEach(() => vi.restoreAllMocks());

describe('jsonChars', () => {
  it("is the length of the value's JSON with its strings' escapes as one character (JSON.stringify's if none)", () => {
    const r = rng(11);
    for (let i = 0; i < 2000; i++) {
      // JSON.parse makes what a request holds (own "__proto__" keys included)
      const v = JSON.parse(JSON.stringify(value(r, 0)) ?? 'null');
      const n = jsonChars(v);
      expect(n).toBe(JSON.stringify(plain(v)).length);
      expect(n).toBeLessThanOrEqual(JSON.stringify(v).length);
    }
    // what JSON.parse does not make: left out, null in arrays, a Date, toJSON, a class's object; deep nesting
    class Point {
      constructor(readonly x = 1) {}
    }
    const deep = JSON.parse(`${'['.repeat(200)}1${']'.repeat(200)}`);
    for (const v of [
      { a: undefined, b: () => 1, c: 1 },
      [undefined, () => 1, Symbol('s')],
      { when: new Date(0) },
      { t: { toJSON: () => 'abc' } },
      [new Point()],
      Object.create(null),
      deep,
      { deep },
    ])
      expect(jsonChars(v)).toBe(JSON.stringify(v).length);
  });

  it('counts a value nested past 64 deep as a shallow one (escapes as one character), and throws on one that contains itself', () => {
    const r = rng(12);
    for (let i = 0; i < 50; i++) {
      let v = JSON.parse(JSON.stringify({ s: 'line\nbreak "quoted" \\', v: value(r, 0) }));
      for (let d = 0; d < 100; d++) v = d % 2 ? [v, 'tab\there'] : { [`k"${d}`]: v };
      // (before, what lay past 64 deep was JSON.stringify's length, escapes counted twice)
      expect(jsonChars(v)).toBe(JSON.stringify(plain(v)).length);
    }
    const loop: unknown[] = [1];
    loop.push({ loop });
    expect(() => jsonChars(loop)).toThrow(TypeError);
    expect(() => jsonChars({ a: [loop] })).toThrow(TypeError);
  });
});

describe('the estimate of a tool-call history', () => {
  const history = (turns: number) => ({
    anthropic: {
      messages: Array.from({ length: turns }, (_, t) => [
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: `look at f${t}`, signature: 'E'.repeat(40) },
            { type: 'tool_use', id: `toolu_${t}`, name: 'Edit', input: { file_path: `/f${t}.ts`, lines: [1, 2, t] } },
          ],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: `toolu_${t}`, content: [{ type: 'text', text: 'ok' }] }],
        },
      ]).flat(),
    },
    responses: {
      input: Array.from({ length: turns }, (_, t) => [
        { type: 'reasoning', id: `rs_${t}`, summary: [], encrypted_content: 'gAAAA'.repeat(20) },
        { type: 'function_call', call_id: `c${t}`, name: 'shell', arguments: '{"cmd":["ls"]}' },
        { type: 'function_call_output', call_id: `c${t}`, output: `total ${t}` },
      ]).flat(),
    },
    gemini: {
      contents: Array.from({ length: turns }, (_, t) => [
        { role: 'model', parts: [{ functionCall: { name: 'read', args: { path: `/f${t}` } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'read', response: { content: `text ${t}` } } }] },
      ]).flat(),
    },
  });

  it('is made without serializing the history: JSON.stringify is not called, the estimate grows with it', () => {
    const small = history(2);
    const large = history(40);
    const stringify = vi.spyOn(JSON, 'stringify');
    const est = (h: ReturnType<typeof history>) => [
      estimateInputTokens(h.anthropic, 'messages'),
      estimateInputTokens(h.responses, 'responses'),
      estimateInputTokens(h.gemini, 'generate_content'),
    ];
    const [a2, r2, g2] = est(small);
    const [a40, r40, g40] = est(large);
    // before, each tool call, thinking block, reasoning item, tool output and function part was serialized
    expect(stringify).not.toHaveBeenCalled();
    stringify.mockRestore();
    expect(a40).toBeGreaterThan(a2 as number);
    expect(r40).toBeGreaterThan(r2 as number);
    expect(g40).toBeGreaterThan(g2 as number);
    // these parts hold no character JSON escapes: each counts what serializing it counted, so the same estimate
    const parts: unknown[] = [
      ...large.anthropic.messages.flatMap((m): unknown[] => m.content),
      ...large.responses.input.filter((i) => i.type !== 'function_call'), // (its arguments are in the prompt text)
      ...large.gemini.contents.flatMap((c): unknown[] => c.parts),
    ];
    for (const p of parts) expect(jsonChars(p)).toBe(JSON.stringify(p).length);
  });
});
