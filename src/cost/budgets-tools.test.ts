// The admission estimate's tool definitions: their JSON length, as JSON.stringify gives it, without serializing a
// set the estimate has seen before (agents send the same tools with every call).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { estimateInputTokens, toolsJsonLength } from './budgets.js';

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

const WORDS = ['read', 'the', 'file', 'at', '"path"', 'line\nbreak', 'tab\there', 'é', '😀', '\u0001', '\ud800', '\\'];
function text(r: () => number, n: number): string {
  let s = '';
  while (s.length < n) s += `${WORDS[Math.floor(r() * WORDS.length)]} `;
  return s;
}

/** A Claude Code-like set: 20 tools with long descriptions and JSON-schema parameters. */
function toolSet(seed: number): unknown[] {
  const r = rng(seed);
  return Array.from({ length: 20 }, (_, i) => ({
    type: 'function',
    function: {
      name: `tool_${i}`,
      description: text(r, 800),
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string', description: text(r, 60) },
          limit: { type: 'integer', minimum: 0, maximum: 1e21, default: 0.1 },
          flags: { type: 'array', items: { type: 'boolean' }, default: [true, false, null] },
        },
        required: ['path'],
        additionalProperties: false,
      },
    },
  }));
}

/** One random change to a copy of `tools` that keeps its tools' names (so its signature). */
function changed(tools: unknown[], r: () => number): unknown[] {
  type Params = {
    properties: { limit: { maximum: number; default: number } };
    required: string[];
    additionalProperties?: boolean;
  };
  const t = structuredClone(tools) as { function: Record<string, unknown> & { parameters: Params } }[];
  const f = (t[Math.floor(r() * t.length)] as (typeof t)[number]).function;
  const pick = Math.floor(r() * 8);
  if (pick === 0) f.description = `${f.description as string}x`;
  else if (pick === 1) f.description = (f.description as string).replace('"', '\\');
  else if (pick === 2) f.parameters.properties.limit.maximum = 1e20 + 2 ** 70;
  else if (pick === 3) f.parameters.properties.limit.default = -0;
  else if (pick === 4) f.parameters.required = ['path', 'limit'];
  else if (pick === 5) f.extra = { nested: [1, 'two', { three: null }] };
  else if (pick === 6) delete f.parameters.additionalProperties;
  // the same members in another order: the same JSON length
  else {
    const { required, ...rest } = f.parameters;
    f.parameters = { required, ...rest } as Params;
  }
  return t;
}

afterEach(() => vi.restoreAllMocks());

describe('toolsJsonLength', () => {
  it('is JSON.stringify(tools).length for sets seen before, changed sets under the same names, and new ones', () => {
    const r = rng(3);
    const base = toolSet(1);
    for (let i = 0; i < 400; i++) {
      const tools = r() < 0.4 ? structuredClone(base) : r() < 0.8 ? changed(base, r) : toolSet(100 + i);
      expect(toolsJsonLength(tools)).toBe(JSON.stringify(tools).length);
    }
    // a key "__proto__" of the request's own (JSON.parse makes it one), and an empty set
    const odd = JSON.parse('[{"name":"p","__proto__":{"a":"b"}}]') as unknown[];
    for (let i = 0; i < 3; i++) expect(toolsJsonLength(odd)).toBe(JSON.stringify(odd).length);
    const other = JSON.parse('[{"name":"p","__proto__":{"a":"bc"}}]') as unknown[];
    expect(toolsJsonLength(other)).toBe(JSON.stringify(other).length);
    expect(toolsJsonLength([])).toBe(2);
  });

  it('a set seen twice is not serialized again while it comes unchanged; the estimate is the same', () => {
    const tools = toolSet(7);
    const body = () => ({ messages: [{ role: 'user', content: 'hi' }], tools: structuredClone(tools) });
    const first = estimateInputTokens(body(), 'chat.completions');
    expect(estimateInputTokens(body(), 'chat.completions')).toBe(first);
    const stringify = vi.spyOn(JSON, 'stringify');
    expect(estimateInputTokens(body(), 'chat.completions')).toBe(first);
    expect(estimateInputTokens(body(), 'chat.completions')).toBe(first);
    // (JSON.stringify is not called for the tools: before, it serialized them at every call)
    expect(stringify.mock.calls.filter(([v]) => Array.isArray(v))).toHaveLength(0);
    stringify.mockRestore();
    // a change inside: serialized again, with its own length
    const edited = body();
    (edited.tools[3] as { function: { description: string } }).function.description += ' and more';
    expect(estimateInputTokens(edited, 'chat.completions')).toBe(
      first - Math.ceil(JSON.stringify(tools).length / 3) + Math.ceil(JSON.stringify(edited.tools).length / 3),
    );
  });
});
