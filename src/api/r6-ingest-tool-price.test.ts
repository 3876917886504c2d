// POST /api/ingest takes a record as GET /api/requests returns it (QA33). Since ba21b48 a call that used a built-in
// tool billed per use (web search, file search) lists it in its price (`price.tools`, an array): such a record, read
// from GET /api/requests/:id and posted back, was refused 400 (price's values had to be numbers or strings).
import { describe, expect, it } from 'vitest';
import { callToWire } from '../calls/call.js';
import { parseBody } from '../http/index.js';
import { ingestRecordSchema, recordToCall } from './ingest.js';

/** A Claude call that searched the web twice, as GET /api/requests/:id lists it (its list fields). */
const searched = {
  request_id: 'src-ws-1',
  started_at: '2026-12-07T03:03:25.935Z',
  ended_at: '2026-12-07T03:03:27.175Z',
  provider: 'anthropic',
  model: 'claude-sonnet-4-5',
  endpoint: 'messages',
  stream: false,
  status: 'ok',
  http_status: 200,
  input_tokens: 1000,
  output_tokens: 100,
  token_source: 'usage',
  cost_usd: 0.0245,
  price: {
    input: 0.000003,
    cached_input: 3e-7,
    output: 0.000015,
    tools: [
      { tool: 'web_search', unit_price: 0.01, units: 2 },
      { tool: 'web_fetch', unit_price: 0, units: 1 },
    ],
    source: 'anthropic/claude-sonnet-4-5',
  },
  finish_reason: 'end_turn',
  refusal: false,
  source: 'gateway',
};

describe('ingest: a record whose price lists built-in tools', () => {
  it('is taken back as GET /api/requests gave it, its cost_usd kept', () => {
    const rec = parseBody(ingestRecordSchema, { ...searched, request_id: 'copy-ws-1' });
    expect(callToWire(recordToCall(rec))).toMatchObject({
      request_id: 'copy-ws-1',
      cost_usd: 0.0245,
      source: 'ingest',
    });
  });

  it('an unpriced tool (unit_price null) too', () => {
    const price = { ...searched.price, tools: [{ tool: 'web_search_preview', unit_price: null, units: 1 }] };
    expect(() => parseBody(ingestRecordSchema, { ...searched, price })).not.toThrow();
  });

  it('refuses a price whose tools are not a list of tool uses', () => {
    expect(() =>
      parseBody(ingestRecordSchema, { ...searched, price: { ...searched.price, tools: 'web_search' } }),
    ).toThrow(/price/);
    const unknownTool = { ...searched.price, tools: [{ tool: 'code_interpreter', unit_price: 0.03, units: 1 }] };
    expect(() => parseBody(ingestRecordSchema, { ...searched, price: unknownTool })).toThrow(/price/);
  });

  it('refuses tool uses that are negative or not whole, a price below 0, and uses that cost more than a call may', () => {
    // priced since c535212 when the record has no cost_usd: before, -3 uses were dropped and -1 USD replaced by the
    // catalog's price with 202, and 1e15 uses at 1e300 made the call's cost Infinity (every spend total of its day null)
    const { cost_usd: _, ...noCost } = searched;
    const withTools = (tools: unknown[]) => ({ ...noCost, price: { tools } });
    for (const [tools, param] of [
      [[{ tool: 'web_search', unit_price: 0.01, units: -3 }], 'price.tools.0.units'],
      [[{ tool: 'web_search', unit_price: 0.01, units: 2.5 }], 'price.tools.0.units'],
      [[{ tool: 'web_search', unit_price: -1, units: 3 }], 'price.tools.0.unit_price'],
      [[{ tool: 'web_search', unit_price: 1e300, units: 1e15 }], 'price.tools.0.unit_price'],
      [[{ tool: 'web_search', unit_price: 2000, units: 1e9 }], 'price.tools'],
      [
        [
          { tool: 'web_search', unit_price: 0, units: 1e9 },
          { tool: 'web_search', unit_price: 1e6, units: 1e9 },
        ],
        'price.tools',
      ],
    ] as const) {
      let param_: string | undefined;
      try {
        parseBody(ingestRecordSchema, withTools([...tools]));
      } catch (e) {
        param_ = (e as { param?: string }).param;
      }
      expect(param_, JSON.stringify(tools)).toBe(param);
    }
    // what GET /api/requests lists is still taken: whole uses, a price of 0 or more, or none
    expect(() =>
      parseBody(
        ingestRecordSchema,
        withTools([
          { tool: 'web_search', unit_price: 0.01, units: 3 },
          { tool: 'web_fetch', unit_price: 0, units: 0 },
          { tool: 'web_search_preview', unit_price: null, units: 1 },
        ]),
      ),
    ).not.toThrow();
  });

  it('bounds the uses at the price they are priced at: a line of 0 uses names none, as pricing reads it', () => {
    const { cost_usd: _, ...noCost } = searched;
    const withTools = (tools: unknown[]) => ({ ...noCost, price: { tools } });
    const paramOf = (tools: unknown[]): string | undefined => {
      try {
        parseBody(ingestRecordSchema, withTools(tools));
      } catch (e) {
        return (e as { param?: string }).param ?? 'refused';
      }
      return undefined;
    };
    // priced at $1e6 a search (the 0-use line's price is skipped): 1e9 of them cost $1e15, past what a call may cost;
    // before, the bound read the last line's $0 and took it (the call stored at $1e15)
    const past = [
      { tool: 'web_search', unit_price: 1e6, units: 1e9 },
      { tool: 'web_search', unit_price: 0, units: 0 },
    ];
    expect(paramOf(past)).toBe('price.tools');
    // priced at $0.01 a search, $0.03: before, refused 400 by the 0-use line's $1e12 (3 × 1e12 past the bound)
    const cheap = [
      { tool: 'web_search', unit_price: 0.01, units: 3 },
      { tool: 'web_search', unit_price: 1e12, units: 0 },
    ];
    expect(paramOf(cheap)).toBeUndefined();
    expect(recordToCall(parseBody(ingestRecordSchema, withTools(cheap))).internal).toMatchObject({
      toolUses: { web_search: 3 },
      toolUnitPrices: { web_search: 0.01 },
    });
  });
});
