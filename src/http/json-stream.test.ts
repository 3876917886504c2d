// The piecewise JSON parser against JSON.parse: the same values for the same texts however they are cut, and a
// refusal for every text JSON.parse refuses.
import { describe, expect, it } from 'vitest';
import { JsonStreamParser, parseJsonInTurns } from './json-stream.js';

/** A seeded generator, so a failure names a case that can be run again. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const STRINGS = ['', 'a', 'héllo wörld', 'quote " back \\ slash', 'nl\nand\ttab', '\u2028\u2029', '😀 emoji', '\ud800'];
const KEYS = ['a', 'model', '__proto__', 'constructor', 'x y', '', 'a'];

function value(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 4 ? 5 : 8));
  switch (k) {
    case 0:
      return STRINGS[Math.floor(r() * STRINGS.length)] + 'x'.repeat(Math.floor(r() * 3) * 40);
    case 1:
      return [0, -0.5, 12345678901234567000, 1e-7, 3, -42, 1.5e300][Math.floor(r() * 7)];
    case 2:
      return [true, false, null][Math.floor(r() * 3)];
    case 3:
      return '';
    case 4:
      return Math.floor(r() * 1000);
    case 5:
    case 6:
      return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 4); i > 0; i--)
        Object.defineProperty(o, KEYS[Math.floor(r() * KEYS.length)] as string, {
          value: value(r, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return o;
    }
  }
}

/** JSON text of `v` with whitespace, escapes and a duplicate key sprinkled in, as clients may send. */
function text(v: unknown, r: () => number): string {
  const ws = () => [' ', '\n', '\t', '\r\n  ', ''][Math.floor(r() * 5)] as string;
  if (typeof v === 'string')
    return r() < 0.3
      ? JSON.stringify(v).replace(/[a-z]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
      : JSON.stringify(v);
  if (Array.isArray(v)) return `[${ws()}${v.map((x) => text(x, r)).join(`${ws()},${ws()}`)}${ws()}]`;
  if (v && typeof v === 'object') {
    const members = Object.keys(v).map(
      (k) => `${JSON.stringify(k)}${ws()}:${ws()}${text((v as Record<string, unknown>)[k], r)}`,
    );
    if (r() < 0.2) members.unshift('"a": "first of two"');
    return `{${ws()}${members.join(`,${ws()}`)}${ws()}}`;
  }
  return JSON.stringify(v);
}

/** `t` fed in random pieces (one character to a few hundred). */
function parseInPieces(t: string, r: () => number): unknown {
  const p = new JsonStreamParser();
  for (let at = 0; at < t.length; ) {
    const n = 1 + Math.floor(r() * (r() < 0.5 ? 4 : 300));
    p.write(t.slice(at, at + n));
    at += n;
  }
  return p.end();
}

/**
 * Whether two parsed values are the same: own keys in the same order, the same prototypes, Object.is for the rest
 * (toStrictEqual reads an own "constructor" key as the object's type, and the generated objects have one).
 */
function same(a: unknown, b: unknown): boolean {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every(
      (k, i) =>
        k === kb[i] && same(Object.getOwnPropertyDescriptor(a, k)?.value, Object.getOwnPropertyDescriptor(b, k)?.value),
    )
  );
}

function outcome(f: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: f() };
  } catch (err) {
    expect(err).toBeInstanceOf(SyntaxError);
    return { ok: false };
  }
}

describe('JsonStreamParser', () => {
  it('gives what JSON.parse gives, however the text is cut', () => {
    for (let seed = 1; seed <= 1500; seed++) {
      const r = rng(seed);
      const t = text(value(r, 0), r);
      const want = JSON.parse(t);
      const got = parseInPieces(t, r);
      expect(same(got, want), `seed ${seed}: ${t}`).toBe(true);
    }
  });

  it('refuses exactly the texts JSON.parse refuses', () => {
    const cuts = [
      '',
      ' ',
      '{',
      '[',
      '[1,]',
      '{"a":1,}',
      '{"a"}',
      '{"a" 1}',
      '01',
      '-',
      '1.',
      '.5',
      '1e',
      '+1',
      'tru',
      'truex',
      'nul',
      'NaN',
      '"\\x"',
      '"\\u12g4"',
      '"a\nb"',
      '"\u0001"',
      '[1 2]',
      '{} {}',
      '\ufeff{}',
      '[,1]',
      "'a'",
      '{"a":1]',
      '[1}',
      '"\\',
      '"abc',
      '{"a":',
      '1 x',
      '[]]',
      '{,}',
    ];
    for (const t of cuts) expect(outcome(() => parseInPieces(t, rng(1))).ok, JSON.stringify(t)).toBe(false);
    for (const t of cuts) expect(outcome(() => JSON.parse(t)).ok, JSON.stringify(t)).toBe(false);
    // Random damage to valid texts: refused when JSON.parse refuses, the same value when it does not.
    for (let seed = 1; seed <= 1500; seed++) {
      const r = rng(seed);
      const t = text(value(r, 0), r);
      const at = Math.floor(r() * t.length);
      const bad = [
        t.slice(0, at) + t.slice(at + 1),
        t.slice(0, at) + '"{}[],:\\e-0tn '[Math.floor(r() * 14)] + t.slice(at),
        t.slice(0, at),
      ][seed % 3] as string;
      const want = outcome(() => JSON.parse(bad));
      const got = outcome(() => parseInPieces(bad, r));
      expect(got.ok, `seed ${seed}: ${bad}`).toBe(want.ok);
      if (want.ok && got.ok) expect(same(got.value, want.value), `seed ${seed}: ${bad}`).toBe(true);
    }
  });

  it('reads a long string cut into many pieces, and says where a text goes wrong', () => {
    expect(same({ a: [1, { b: '' }] }, { a: [1, { b: 'x' }] })).toBe(false);
    const long = 'word '.repeat(200_000);
    const p = new JsonStreamParser();
    const t = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: long }] });
    for (let at = 0; at < t.length; at += 65_536) p.write(t.slice(at, at + 65_536));
    expect((p.end() as { messages: [{ content: string }] }).messages[0].content).toBe(long);
    const q = new JsonStreamParser();
    q.write('{"a": [1, 2');
    expect(() => q.write(',, 3]}')).toThrow('unexpected character at position 12');
  });

  it('parses a body kept in the pieces it came in (a large answer), a character cut between two of them', async () => {
    const value = {
      id: 'x',
      text: 'é€😀'.repeat(200_000),
      calls: Array.from({ length: 20_000 }, (_, i) => ({ n: i })),
    };
    const whole = Buffer.from(JSON.stringify(value));
    const pieces: Buffer[] = [];
    // odd sizes, so that multi-byte characters fall across pieces
    for (let at = 0, k = 0; at < whole.length; k++) {
      const size = 1 + ((k * 7919) % 70_001);
      pieces.push(whole.subarray(at, at + size));
      at += size;
    }
    expect(await parseJsonInTurns(pieces, 0)).toEqual(value);
    expect(await parseJsonInTurns([whole.subarray(0, 10), whole.subarray(10)])).toEqual(value);
    await expect(parseJsonInTurns([...pieces, Buffer.from(',')], 0)).rejects.toThrow(SyntaxError);
  });
});
