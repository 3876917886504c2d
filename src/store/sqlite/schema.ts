// The store's own tables (migration namespace `core`): the raw call ledger and the per-minute and per-hour rollups.
import type { SqliteMigration } from './migrations.js';

/**
 * How far past the upgrade a re-sent span may still have been stored under its old-form OTLP id: its start time is
 * the sending app's clock, which may run ahead of this server's (exporters retry for minutes, not days).
 */
export const LEGACY_OTLP_IDS_MARGIN_MS = 86_400_000;

const rollupTable = (name: string) => `
CREATE TABLE ${name} (
  t INTEGER NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  feature TEXT NOT NULL,
  team TEXT NOT NULL,
  requests INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  client_error INTEGER NOT NULL,
  upstream_error INTEGER NOT NULL,
  rate_limited INTEGER NOT NULL,
  timeout INTEGER NOT NULL,
  cancelled INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  refusals INTEGER NOT NULL,
  -- histograms in histogram.ts's packed form (encodeHistogram)
  latency BLOB NOT NULL,
  ttft BLOB NOT NULL,
  tpot BLOB NOT NULL
);
-- rows carry up to a few hundred bytes of histograms, so a rowid table with a unique key index, not WITHOUT ROWID
CREATE UNIQUE INDEX ${name}_key ON ${name} (t, provider, model, endpoint, feature, team);
`;

export const CORE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'calls ledger and per-minute/per-hour rollups',
    up: `
CREATE TABLE calls (
  request_id TEXT PRIMARY KEY,
  trace_id TEXT,
  started_at REAL NOT NULL,
  ended_at REAL NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  stream INTEGER NOT NULL,
  status TEXT NOT NULL,
  http_status INTEGER NOT NULL,
  error_type TEXT,
  "user" TEXT,
  team TEXT,
  feature TEXT,
  session TEXT,
  api_key_id TEXT,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cached_input_tokens INTEGER,
  reasoning_tokens INTEGER,
  token_source TEXT,
  ttft_ms REAL,
  tpot_ms REAL,
  latency_ms REAL NOT NULL,
  overhead_ms REAL NOT NULL,
  cost_usd REAL,
  price TEXT,
  finish_reason TEXT,
  refusal INTEGER NOT NULL,
  request_bytes INTEGER NOT NULL,
  response_bytes INTEGER NOT NULL,
  source TEXT NOT NULL,
  spans TEXT NOT NULL,
  events TEXT NOT NULL,
  content TEXT
);
-- newest-first listing and keyset paging walk this index; retention deletes by its prefix
CREATE INDEX calls_started ON calls (started_at, request_id);
-- the dashboard's equality filters, each in time order (provider and endpoint have few values: the time index serves)
CREATE INDEX calls_model ON calls (model, started_at);
CREATE INDEX calls_user ON calls ("user", started_at);
CREATE INDEX calls_team ON calls (team, started_at);
CREATE INDEX calls_feature ON calls (feature, started_at);
CREATE INDEX calls_status ON calls (status, started_at);
${rollupTable('calls_rollup_minute')}
${rollupTable('calls_rollup_hour')}
`,
  },
  {
    version: 2,
    name: 'id prefix search: trace_id and session indexes',
    up: `
-- GET /api/requests?q= looks ids up by prefix: request_id is the primary key; these serve the other two
CREATE INDEX calls_trace ON calls (trace_id);
CREATE INDEX calls_session ON calls (session) WHERE session IS NOT NULL;
`,
  },
  {
    version: 3,
    name: 'cache_write_input_tokens: prompt tokens written to the provider cache (Anthropic)',
    up: `ALTER TABLE calls ADD COLUMN cache_write_input_tokens INTEGER;`,
  },
  {
    version: 4,
    name: "error_message: the upstream's (or llmscope's) error message of a failed call, clipped and redacted",
    up: `ALTER TABLE calls ADD COLUMN error_message TEXT;`,
  },
  {
    version: 5,
    name: "metadata: a call's string key/value metadata as a JSON object (NULL when it has none)",
    up: `ALTER TABLE calls ADD COLUMN metadata TEXT;`,
  },
  {
    version: 6,
    name: 'partial indexes: calls_status holds only calls that did not succeed, calls_trace only calls with a trace id',
    // Each index is a b-tree insert in every call's write transaction (the writer thread's main cost). Most calls
    // succeed, and a status=ok filter is served by the time index (nearly every row matches, so a page fills at
    // once); listCallsSql adds the status <> 'ok' term that lets the other statuses use this index. Calls sent to
    // /api/ingest without a trace id need no entry in calls_trace: it serves only the id prefix search, whose range
    // terms imply trace_id IS NOT NULL.
    up: `
DROP INDEX calls_status;
CREATE INDEX calls_status ON calls (status, started_at) WHERE status <> 'ok';
DROP INDEX calls_trace;
CREATE INDEX calls_trace ON calls (trace_id) WHERE trace_id IS NOT NULL;
`,
  },
  {
    version: 7,
    name: 'partial indexes: calls_user, calls_team and calls_feature hold only calls that carry the attribute',
    // Calls without a user, team or feature (a gateway call without attribution headers, an ingested record without
    // them) wrote an entry keyed NULL into each of the three indexes, which no filter ever reads: the filters are
    // equalities (`"user" = ?`, `team IN (...)`), which imply IS NOT NULL, so the planner uses these indexes as before.
    // Three fewer b-tree inserts for such a call (about 2.3 µs of the writer thread's 10.5 for its row, measured).
    up: `
DROP INDEX calls_user;
CREATE INDEX calls_user ON calls ("user", started_at) WHERE "user" IS NOT NULL;
DROP INDEX calls_team;
CREATE INDEX calls_team ON calls (team, started_at) WHERE team IS NOT NULL;
DROP INDEX calls_feature;
CREATE INDEX calls_feature ON calls (feature, started_at) WHERE feature IS NOT NULL;
`,
  },
  {
    version: 8,
    name: "OTLP calls' ids lead with the span's start time; legacy_otlp_ids: until when ids of the old form may be stored",
    // Ids made from OTLP spans were `otlp-<trace_id>-<span_id>`, random first, so each call's primary-key entry (and
    // its entries in the tables keyed by call id) went to a random page; they now lead with the span's start time
    // (src/store/otlp-ids.ts). A span re-sent after the upgrade must still count once, so knownIds also looks for the
    // old form of an id whose time is up to `until`: the upgrade's time with a margin for the sending app's clock,
    // noted only when the database holds OTLP calls already (none: no look-ups of the old form at all).
    up: (db) => {
      db.exec('CREATE TABLE legacy_otlp_ids (until REAL NOT NULL)');
      const any = db.prepare("SELECT 1 FROM calls WHERE request_id >= 'otlp-' AND request_id < 'otlp.' LIMIT 1").get();
      if (any) db.prepare('INSERT INTO legacy_otlp_ids (until) VALUES (?)').run(Date.now() + LEGACY_OTLP_IDS_MARGIN_MS);
    },
  },
  {
    version: 9,
    name: "call_logs: the log lines that carried a call's request_id, as written to stdout (GET /api/requests/:id logs)",
    // A row per kept line, or (line NULL) a count of lines past the per-call cap. Read by request_id in time order;
    // removed with the call (deleteCalls) and by retention on `at`, as raw calls are on started_at.
    up: `
CREATE TABLE call_logs (
  request_id TEXT NOT NULL,
  at REAL NOT NULL,
  seq INTEGER NOT NULL,
  line TEXT,
  dropped INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX call_logs_request ON call_logs (request_id, at, seq);
CREATE INDEX call_logs_at ON call_logs (at);
`,
  },
  {
    version: 10,
    name: "calls_api_key: a virtual key's calls (GET /api/requests?api_key_id=), only calls made with a key",
    // Partial, as calls_user is (v7): a call made without a virtual key writes no entry.
    up: `CREATE INDEX calls_api_key ON calls (api_key_id, started_at) WHERE api_key_id IS NOT NULL;`,
  },
  {
    version: 11,
    name: "upstream_request_id: the provider's own id for a call (OpenAI's x-request-id, Anthropic's request-id)",
    // Partial: only calls whose upstream gave an id write an entry. GET /api/requests?upstream_request_id= and the
    // `q` prefix search read it (a range on the column implies IS NOT NULL, so the planner takes the partial index).
    up: `
ALTER TABLE calls ADD COLUMN upstream_request_id TEXT;
CREATE INDEX calls_upstream_request ON calls (upstream_request_id) WHERE upstream_request_id IS NOT NULL;
`,
  },
];
