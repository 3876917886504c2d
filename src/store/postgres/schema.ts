// The store's own tables on PostgreSQL (migration namespace `core`): the raw call ledger, declaratively partitioned
// by day on started_at, and the per-minute and per-hour rollups, whose histograms merge inside the upsert.
import type { PgMigration } from './migrations.js';

/**
 * Histograms are `int8[]`: one element per non-empty bucket, `(series << 11 | bucket) << 40 | count`, sorted (see
 * histogram-pg.ts). Merging is concatenation then compaction (sum the counts of equal buckets), so the rollup
 * upsert merges in one statement; `llmscope_hist_sum` aggregates many rows with `array_cat` (C, cheap) and compacts
 * once per group, and `llmscope_hist_cat` only concatenates, for readers that sum equal buckets themselves.
 */
const HISTOGRAM_FUNCTIONS = `
CREATE FUNCTION llmscope_hist_compact(h int8[]) RETURNS int8[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg((k << 40) | least(c, 1099511627775) ORDER BY k), '{}'::int8[])
  FROM (SELECT v >> 40 AS k, sum(v & 1099511627775)::int8 AS c FROM unnest(h) AS v GROUP BY 1) s
$$;
CREATE FUNCTION llmscope_hist_merge(a int8[], b int8[]) RETURNS int8[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT llmscope_hist_compact(coalesce(a, '{}'::int8[]) || coalesce(b, '{}'::int8[]))
$$;
CREATE AGGREGATE llmscope_hist_sum(int8[]) (
  SFUNC = array_cat, STYPE = int8[], FINALFUNC = llmscope_hist_compact, INITCOND = '{}', PARALLEL = SAFE
);
-- concatenation only: the reader sums equal buckets (histogramOfPg does), which costs less than compacting in SQL
CREATE AGGREGATE llmscope_hist_cat(int8[]) (SFUNC = array_cat, STYPE = int8[], INITCOND = '{}', PARALLEL = SAFE);
`;

// Key columns compare bytewise (COLLATE "C"): the listing's tie-break on request_id must order as SQLite and
// JavaScript do whatever the database's locale, and C comparisons are the cheapest.
const FIGURES = `
  requests bigint NOT NULL,
  ok bigint NOT NULL,
  client_error bigint NOT NULL,
  upstream_error bigint NOT NULL,
  rate_limited bigint NOT NULL,
  timeout bigint NOT NULL,
  cancelled bigint NOT NULL,
  refusals bigint NOT NULL,
  input_tokens double precision NOT NULL,
  output_tokens double precision NOT NULL,
  cached_input_tokens double precision NOT NULL,
  cost_usd double precision NOT NULL,
  -- latency, TTFT and TPOT histograms in one array (histogram-pg.ts)
  hist bigint[] NOT NULL`;

// fillfactor leaves room for HOT updates: the current bucket's rows are upserted over and over
const rollupTable = (name: string) => `
CREATE TABLE ${name} (
  t bigint NOT NULL,
  provider text COLLATE "C" NOT NULL,
  model text COLLATE "C" NOT NULL,
  endpoint text COLLATE "C" NOT NULL,
  feature text COLLATE "C" NOT NULL,
  team text COLLATE "C" NOT NULL,${FIGURES},
  -- the dashboard's range scans walk this index by its t prefix
  PRIMARY KEY (t, provider, model, endpoint, feature, team)
) WITH (fillfactor = 80);
`;

// The same figures with every dimension merged, one row per bucket: what an unfiltered, ungrouped view (the
// overview's summary) reads — a day of minutes is 1440 rows instead of 1440 × the number of keys.
const totalTable = (name: string) => `
CREATE TABLE ${name} (
  t bigint PRIMARY KEY,${FIGURES}
) WITH (fillfactor = 80);
`;

export const PG_CORE_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'calls ledger partitioned by day, per-minute/per-hour rollups with mergeable histograms',
    up: `
${HISTOGRAM_FUNCTIONS}
CREATE TABLE calls (
  request_id text COLLATE "C" NOT NULL,
  trace_id text COLLATE "C",
  started_at double precision NOT NULL,
  ended_at double precision NOT NULL,
  provider text COLLATE "C" NOT NULL,
  model text COLLATE "C" NOT NULL,
  endpoint text COLLATE "C" NOT NULL,
  stream boolean NOT NULL,
  status text COLLATE "C" NOT NULL,
  http_status integer NOT NULL,
  error_type text,
  "user" text COLLATE "C",
  team text COLLATE "C",
  feature text COLLATE "C",
  session text COLLATE "C",
  api_key_id text,
  input_tokens double precision,
  output_tokens double precision,
  cached_input_tokens double precision,
  reasoning_tokens double precision,
  token_source text,
  ttft_ms double precision,
  tpot_ms double precision,
  latency_ms double precision NOT NULL,
  overhead_ms double precision NOT NULL,
  cost_usd double precision,
  price text,
  finish_reason text,
  refusal boolean NOT NULL,
  request_bytes double precision NOT NULL,
  response_bytes double precision NOT NULL,
  source text NOT NULL,
  spans text NOT NULL,
  events text NOT NULL,
  content text,
  -- newest-first listing and keyset paging walk this index backwards; it is also what makes a retried call a no-op
  PRIMARY KEY (started_at, request_id)
) PARTITION BY RANGE (started_at);
-- GET /api/requests/:id (one probe per day partition)
CREATE INDEX calls_request_id ON calls (request_id);
-- the dashboard's equality filters, each in listing order (provider and endpoint have few values: the key serves)
CREATE INDEX calls_model ON calls (model, started_at, request_id);
CREATE INDEX calls_user ON calls ("user", started_at, request_id);
CREATE INDEX calls_team ON calls (team, started_at, request_id);
CREATE INDEX calls_feature ON calls (feature, started_at, request_id);
CREATE INDEX calls_status ON calls (status, started_at, request_id);
${rollupTable('calls_rollup_minute')}
${rollupTable('calls_rollup_hour')}
${totalTable('calls_total_minute')}
${totalTable('calls_total_hour')}
`,
  },
  {
    version: 2,
    name: 'id prefix search: trace_id and session indexes',
    up: `
-- GET /api/requests?q= looks ids up by prefix (columns are COLLATE "C": byte-order ranges use these b-trees)
CREATE INDEX calls_trace_id ON calls (trace_id);
CREATE INDEX calls_session ON calls (session) WHERE session IS NOT NULL;
`,
  },
  {
    version: 3,
    name: 'cache_write_input_tokens: prompt tokens written to the provider cache (Anthropic)',
    up: `ALTER TABLE calls ADD COLUMN cache_write_input_tokens double precision;`,
  },
  {
    version: 4,
    name: "error_message: the upstream's (or llmscope's) error message of a failed call, clipped and redacted",
    up: `ALTER TABLE calls ADD COLUMN error_message text;`,
  },
  {
    version: 5,
    name: "metadata: a call's string key/value metadata as jsonb (NULL when it has none), GIN-indexed for meta.* filters",
    up: `
ALTER TABLE calls ADD COLUMN metadata jsonb;
-- GET /api/requests?meta.<key>=<value> is a containment test (metadata @> '{"key": "value"}'), which this serves
CREATE INDEX calls_metadata ON calls USING gin (metadata jsonb_path_ops);
`,
  },
  {
    version: 6,
    name: "call_logs: the log lines that carried a call's request_id, as written to stdout (GET /api/requests/:id logs)",
    // A row per kept line, or (line NULL) a count of lines past the per-call cap. Read by request_id in time order;
    // removed with the call (deleteCalls) and by retention on at, as raw calls are on started_at.
    up: `
CREATE TABLE call_logs (
  request_id text COLLATE "C" NOT NULL,
  at double precision NOT NULL,
  seq bigint NOT NULL,
  line text,
  dropped integer NOT NULL DEFAULT 0
);
CREATE INDEX call_logs_request ON call_logs (request_id, at, seq);
CREATE INDEX call_logs_at ON call_logs (at);
`,
  },
  {
    version: 7,
    name: "calls_api_key: a virtual key's calls (GET /api/requests?api_key_id=), only calls made with a key",
    up: `CREATE INDEX calls_api_key ON calls (api_key_id, started_at, request_id) WHERE api_key_id IS NOT NULL;`,
  },
  {
    version: 8,
    name: "upstream_request_id: the provider's own id for a call (OpenAI's x-request-id, Anthropic's request-id)",
    // COLLATE "C", as the other id columns: the `q` prefix search is a byte-order range the index serves.
    up: `
ALTER TABLE calls ADD COLUMN upstream_request_id text COLLATE "C";
CREATE INDEX calls_upstream_request ON calls (upstream_request_id) WHERE upstream_request_id IS NOT NULL;
`,
  },
];
