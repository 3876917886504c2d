// POST /api/ingest takes a record as GET /api/requests returns it (DESIGN §3: one call record for
// /api/requests/:id and /api/ingest; README: "same snake_case record"). QA33: a record read from GET
// /api/requests/:id and posted back was refused 400 'Unrecognized keys: "api_key_id", "token_source",
// "overhead_ms", "price", "source"', three of them fields DESIGN lists.
import { describe, expect, it } from 'vitest';
import { callToWire } from '../calls/call.js';
import { parseBody } from '../http/index.js';
import { ingestRecordSchema, recordToCall } from './ingest.js';

/** A gateway call's record as GET /api/requests/:id lists it (its list fields). */
const gatewayRecord = {
  request_id: 'src-1',
  trace_id: '01a24e74c7eebefe74ad4c868bc109d1',
  started_at: '2026-12-07T03:03:25.935Z',
  ended_at: '2026-12-07T03:03:26.175Z',
  provider: 'upstream',
  model: 'gpt-4o-mini',
  endpoint: 'chat.completions',
  stream: true,
  status: 'ok',
  http_status: 200,
  error_type: null,
  error_message: null,
  user: 'alice',
  team: null,
  feature: null,
  session: null,
  api_key_id: 'key_0123456789abcdef0123',
  metadata: {},
  upstream_request_id: 'req_abc',
  input_tokens: 8,
  output_tokens: 10,
  cached_input_tokens: 0,
  cache_write_input_tokens: 0,
  reasoning_tokens: 0,
  token_source: 'tokenizer',
  ttft_ms: 108.7,
  tpot_ms: 9.99,
  latency_ms: 240,
  overhead_ms: 1.932,
  cost_usd: 0.0000072,
  price: { input: 1.5e-7, cached_input: 7.5e-8, output: 6e-7, source: 'openai/gpt-4o-mini' },
  finish_reason: 'stop',
  refusal: false,
  source: 'gateway',
};

describe('ingest: a record as GET /api/requests gives it', () => {
  it("is taken, keeping token_source and overhead_ms; the key, source and price are llmscope's own", () => {
    const rec = parseBody(ingestRecordSchema, { ...gatewayRecord, request_id: 'copy-1' });
    const wire = callToWire(recordToCall(rec));
    expect(wire).toMatchObject({
      request_id: 'copy-1',
      token_source: 'tokenizer',
      overhead_ms: 1.932,
      latency_ms: 240,
      ttft_ms: 108.7,
      cost_usd: 0.0000072,
      user: 'alice',
      // no key vouches for an ingested call, and it is an ingested one (docs/keys.md)
      api_key_id: null,
      source: 'ingest',
    });
  });

  it('without them, as before: token_source usage when tokens are given, overhead_ms 0', () => {
    const { token_source, overhead_ms, price, api_key_id, source, ...rest } = gatewayRecord;
    const wire = callToWire(recordToCall(parseBody(ingestRecordSchema, rest)));
    expect(wire).toMatchObject({ token_source: 'usage', overhead_ms: 0, api_key_id: null, source: 'ingest' });
  });

  it('still refuses keys that are no field of the record, and a bad token_source', () => {
    expect(() => parseBody(ingestRecordSchema, { ...gatewayRecord, spans: [] })).toThrow(/Unrecognized key/);
    expect(() => parseBody(ingestRecordSchema, { ...gatewayRecord, token_source: 'guess' })).toThrow(/token_source/);
  });
});
