import { afterEach, describe, expect, it, vi } from 'vitest';
import { fastChunkInfo, namedBeforeChoices, openaiCompatibleAdapter } from './index.js';

/** The first event's responseModel and responseId as the reader gave them before namedBeforeChoices: JSON.parse. */
function parsed(data: string): { model?: string; id?: string } {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(data);
  } catch {
    return {};
  }
  if (typeof o.model !== 'string' || !o.model) return {};
  return typeof o.id === 'string' && o.id ? { model: o.model, id: o.id } : { model: o.model };
}

function firstRead(data: string): { model?: string; id?: string } {
  const info = openaiCompatibleAdapter.streamReader?.('chat.completions').read(data);
  const out: { model?: string; id?: string } = {};
  if (info?.responseModel !== undefined) out.model = info.responseModel;
  if (info?.responseId !== undefined) out.id = info.responseId;
  return out;
}

/** OpenAI's (and the simulator's) first event of a chat stream. */
const OPENAI_FIRST =
  '{"id":"chatcmpl-r9zRwwl2HyjctsuURI13m7HRcrekc","object":"chat.completion.chunk","created":1796634828,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_c10f81e2","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}';
const CHOICE = '[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]';

const cases: string[] = [
  OPENAI_FIRST,
  `{"id":"a","model":"m","choices":${CHOICE}}`,
  `{"model":"m","choices":${CHOICE}}`,
  `{"id":"a","choices":${CHOICE}}`,
  `{"choices":${CHOICE}}`,
  `{"id":"","model":"m","choices":${CHOICE}}`,
  `{"id":"a","model":"","choices":${CHOICE}}`,
  `{"id":7,"model":"m","choices":${CHOICE}}`,
  `{"id":"a","model":null,"choices":${CHOICE}}`,
  `{"model":"m","model":"n","id":"a","id":"b","choices":${CHOICE}}`,
  `{"model":"m","model":null,"choices":${CHOICE}}`,
  `{"model":"m","created":-1.5e3,"ok":true,"no":false,"choices":${CHOICE}}`,
  // blanks around values, escapes, keys after the choices, a text that names them: parsed, as before
  `{"id": "a","model": "m","choices":${CHOICE}}`,
  `{"id":"a" ,"model":"m","choices":${CHOICE}}`,
  `{"id":"a","model":"m\\"x","choices":${CHOICE}}`,
  `{"id":"a","mod\\u0065l":"m","choices":${CHOICE}}`,
  `{"id":"a","model":"m","choices":${CHOICE},"model":"late"}`,
  `{"id":"a","model":"m","choices":${CHOICE},"id":"late"}`,
  `{"model":"m","choices":[{"index":0,"delta":{"content":"a model"},"logprobs":null,"finish_reason":null}]}`,
  `{"model":"m","choices":[{"index":0,"delta":{"content":"paid"},"logprobs":null,"finish_reason":null}]}`,
  `{"model":"m","choices":${CHOICE},"usage":null,"obfuscation":"x"}`,
  // not JSON: neither reads a model (JSON.parse throws; the scan finds no member form it knows)
  `{"id":"a","model":"m" "x":1,"choices":${CHOICE}}`,
  `{"id":"a",,"model":"m","choices":${CHOICE}}`,
];

afterEach(() => vi.restoreAllMocks());

describe("a chat stream's first event: its id and model", () => {
  it('are what JSON.parse reads, for every form fastChunkInfo answers', () => {
    for (const data of cases) {
      if (fastChunkInfo(data, 'chat.completions') === null) continue;
      expect(firstRead(data), data).toEqual(parsed(data));
    }
  });

  it('are read from the members before the choices without parsing the event (OpenAI first event)', () => {
    const spy = vi.spyOn(JSON, 'parse');
    expect(firstRead(OPENAI_FIRST)).toEqual({ model: 'gpt-4o-mini', id: 'chatcmpl-r9zRwwl2HyjctsuURI13m7HRcrekc' });
    expect(spy).not.toHaveBeenCalled();
  });

  it('are what JSON.parse reads on random well-formed events', () => {
    let seed = 13;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pick = <T>(xs: T[]): T => xs[rnd(xs.length)] as T;
    const strings = ['', 'm', 'gpt-4o', 'a"b', 'back\\slash', 'é世界', 'model', 'id', '"model":"x"', 'a,b:c', '\u0001'];
    const value = () =>
      pick<() => string>([
        () => JSON.stringify(pick(strings)),
        () => String(rnd(2000) - 1000),
        () => '1.5e-3',
        () => pick(['true', 'false', 'null']),
      ])();
    const keys = ['id', 'model', 'object', 'created', 'service_tier', 'system_fingerprint', 'x', 'mode', 'idx'];
    const blanks = () => (rnd(8) === 0 ? ' ' : '');
    const tails = ['', ',"usage":null', ',"model":"late"', ',"id":"late"', ',"obfuscation":"q"', ',"x":1'];
    const choices = [
      CHOICE,
      '[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]',
      '[{"index":0,"delta":{"content":"the model said id"},"logprobs":null,"finish_reason":null}]',
      '[]',
    ];
    let read = 0;
    let scanned = 0;
    for (let n = 0; n < 20_000; n++) {
      const members: string[] = [];
      for (let m = rnd(7); m > 0; m--) members.push(`"${pick(keys)}":${blanks()}${value()}${blanks()}`);
      const data = `{${members.map((m) => `${m},`).join('')}"choices":${pick(choices)}${pick(tails)}}`;
      if (fastChunkInfo(data, 'chat.completions') === null) continue;
      read++;
      if (namedBeforeChoices(data) !== null) scanned++;
      expect(firstRead(data), data).toEqual(parsed(data));
    }
    // both ways were taken, many times
    expect(read).toBeGreaterThan(10_000);
    expect(scanned).toBeGreaterThan(2_000);
    expect(read - scanned).toBeGreaterThan(2_000);
  });
});
