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
});
