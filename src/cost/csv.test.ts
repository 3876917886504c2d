// /api/cost/summary?format=csv's rows (./csv.ts): RFC 4180 quoting of client-controlled keys, formula injection
// defused with a leading ' (OWASP), nulls as empty cells, and the rest and total rows after the groups.
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { type CsvFigures, csvCell, summaryCsv, summaryCsvName } from './csv.js';

const f = (over: Partial<CsvFigures> = {}): CsvFigures => ({
  cost_usd: 0.5,
  requests: 2,
  unpriced_requests: 0,
  input_tokens: 1000,
  output_tokens: 200,
  cached_input_tokens: 0,
  cache_write_input_tokens: null,
  reasoning_tokens: 0,
  tool_cost_usd: 0,
  token_cost_usd: 0.5,
  cost_per_request: 0.25,
  cost_per_1k_tokens: 0.5 / 1.2,
  ...over,
});

describe('csvCell', () => {
  it('quotes commas, quotes and line breaks (RFC 4180)', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\rlf')).toBe('"cr\rlf"');
    expect(csvCell('plain')).toBe('plain');
  });

  it("defuses a cell a spreadsheet would read as a formula with a leading ' (OWASP)", () => {
    for (const v of ['=HYPERLINK("http://x")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx'])
      expect(csvCell(v).replace(/^"/, '').startsWith("'")).toBe(true);
    expect(csvCell('=1+1,2')).toBe(`"'=1+1,2"`);
    // numbers are not text: a negative figure stays a number
    expect(csvCell(-1.5)).toBe('-1.5');
  });

  it('writes null as an empty cell', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
  });
});

describe('summaryCsv', () => {
  it('a header, a row per group, the rest and the total; hostile keys read back as sent, defused', () => {
    const users = ['ana, from "ops"\nteam', '=cmd|"/c calc"!A1', null];
    const text = summaryCsv(
      {
        total: f({ cost_usd: 2, requests: 8 }),
        groups: users.map((key, i) => ({ ...f({ unpriced_requests: i }), key, share: 0.25 })),
        rest: f({ cost_usd: 0.5 }),
      },
      'user',
    );
    expect(text.endsWith('\r\n')).toBe(true);
    const rows = parse(text) as string[][];
    expect(rows[0]).toEqual([
      'row',
      'user',
      'cost_usd',
      'share',
      'requests',
      'unpriced_requests',
      'input_tokens',
      'output_tokens',
      'cached_input_tokens',
      'cache_write_input_tokens',
      'reasoning_tokens',
      'cost_per_request',
      'cost_per_1k_tokens',
      'tool_cost_usd',
      'token_cost_usd',
    ]);
    expect(rows.map((r) => [r[0], r[1]])).toEqual([
      ['row', 'user'],
      ['group', 'ana, from "ops"\nteam'],
      ['group', `'=cmd|"/c calc"!A1`],
      ['group', ''],
      ['rest', ''],
      ['total', ''],
    ]);
    expect(rows[1]?.slice(2)).toEqual([
      '0.5',
      '0.25',
      '2',
      '0',
      '1000',
      '200',
      '0',
      '',
      '0',
      '0.25',
      String(0.5 / 1.2),
      '0',
      '0.5',
    ]);
    expect(rows[3]?.[5]).toBe('2');
    expect(rows[5]?.slice(2, 5)).toEqual(['2', '', '8']);
  });

  it("the built-in tools' spend and the tokens' as the last two columns, empty where the JSON's are null (decision 163)", () => {
    const text = summaryCsv(
      {
        total: f({ cost_usd: 0.6, tool_cost_usd: 0.05, token_cost_usd: 0.55 }),
        groups: [
          { ...f({ cost_usd: 0.6, tool_cost_usd: 0.05, token_cost_usd: 0.55 }), key: 'gpt-4o', share: 1 },
          // a sum that does not keep the tool part (meta.<key>, team-scoped): null, an empty cell, not 0
          { ...f({ tool_cost_usd: null, token_cost_usd: null }), key: 'scoped', share: 0 },
        ],
        rest: null,
      },
      'model',
    );
    const rows = parse(text) as string[][];
    // the columns before keep their places: a script reading cost_per_1k_tokens as the 13th still finds it
    expect(rows[0]?.slice(11)).toEqual(['cost_per_request', 'cost_per_1k_tokens', 'tool_cost_usd', 'token_cost_usd']);
    expect(rows.map((r) => [r[0], r.length, ...r.slice(13)])).toEqual([
      ['row', 15, 'tool_cost_usd', 'token_cost_usd'],
      ['group', 15, '0.05', '0.55'],
      ['group', 15, '', ''],
      ['total', 15, '0.05', '0.55'],
    ]);
  });

  it('without a grouping: the total alone', () => {
    const rows = parse(summaryCsv({ total: f(), groups: [], rest: null }, undefined)) as string[][];
    expect(rows.map((r) => r.slice(0, 3))).toEqual([
      ['row', 'total', 'cost_usd'],
      ['total', '', '0.5'],
    ]);
  });

  it('names the file by grouping and range', () => {
    expect(summaryCsvName('meta.tenant', '2026-12-01T00:00:00.000Z', '2026-12-07T10:30:00.000Z')).toBe(
      'llmscope-cost-meta.tenant-2026-12-01T000000Z-2026-12-07T103000Z.csv',
    );
  });
});
