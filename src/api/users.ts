// GET /api/users/:id: one user's spend (today and this month from the cost capability's daily aggregates; the
// window's by model and by feature from the calls), calls (count, error rate, latency p50/p95, the most recent
// ones), feedback and evaluation verdicts on their recent calls, and the budgets that apply to them.
// Bounded: the window's calls are read through the Store interface (the ledger's user index) up to MAX_USER_SCAN
// calls (`truncated` says when a window holds more; window figures then cover the newest MAX_USER_SCAN), and the
// quality extras are read for the newest QUALITY_CALLS of them.
import { z } from 'zod';
import { callToWire, type LlmCall } from '../calls/index.js';
import { unpricedCall } from '../calls/units.js';
import { LlmscopeError } from '../errors.js';
import { parseQuery, type Router, sendJson } from '../http/index.js';
import { type Store, scopedStore } from '../store/index.js';
import { timeParamSchema } from '../time.js';
import type { DetailExtra } from './requests.js';
import { qualityOf, withExtras } from './sessions.js';

export const MAX_USER_SCAN = 5_000;
export const QUALITY_CALLS = 200;
export const DEFAULT_WINDOW_MS = 24 * 3_600_000;
const SCAN_PAGE = 500;

export interface UserRoutesOptions {
  now: () => number;
  /** The same extras as `/api/requests/:id` (evaluations, feedback); read on every request. */
  detailExtras?: DetailExtra[];
  onExtraError?: (err: unknown) => void;
  /**
   * The user's spend and budgets, from the cost capability when it is loaded (src/cost/user-facts.ts gives this
   * shape; the core API imports no capability).
   */
  cost?: {
    spentUsd(user: string, from: number, to: number): Promise<number>;
    budgets(user: string, now: number): Promise<Record<string, unknown>[]>;
  };
}

const time = timeParamSchema;

const userQuery = z.object({
  from: time.optional(),
  to: time.optional(),
  recent: z
    .string()
    .regex(/^\d+$/, { message: 'expected an integer from 1 to 100' })
    .transform(Number)
    .refine((n) => n >= 1 && n <= 100, { message: 'expected an integer from 1 to 100' })
    .optional(),
});

interface Group {
  calls: number;
  errors: number;
  cost: number;
  unpriced: number;
  input: number;
  output: number;
}

const r9 = (n: number): number => Math.round(n * 1e9) / 1e9;
const r3 = (n: number): number => Math.round(n * 1000) / 1000;

function groupWire(key: string, k: string | null, g: Group) {
  return {
    [key]: k,
    calls: g.calls,
    errors: g.errors,
    cost_usd: r9(g.cost),
    unpriced_calls: g.unpriced,
    input_tokens: g.input,
    output_tokens: g.output,
  };
}

function addTo(map: Map<string | null, Group>, k: string | null, c: LlmCall): void {
  let g = map.get(k);
  if (!g) {
    g = { calls: 0, errors: 0, cost: 0, unpriced: 0, input: 0, output: 0 };
    map.set(k, g);
  }
  g.calls++;
  if (c.status !== 'ok') g.errors++;
  if (unpricedCall(c)) g.unpriced++;
  g.cost += c.costUsd ?? 0;
  g.input += c.inputTokens ?? 0;
  g.output += c.outputTokens ?? 0;
}

/** The nearest-rank quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export function registerUserRoutes(router: Router, all: Store, opts: UserRoutesOptions): void {
  router.get('/api/users/:id', async ({ res, url, params, principal }) => {
    const user = params['id'] ?? '';
    // A scoped principal sees the user's calls in its scope; the per-user spend aggregates and budgets span every
    // team, so they are left out (null, []) for it, and the window's spend comes from the scope's calls.
    const store = scopedStore(all, principal?.scope);
    const spend = principal?.scope ? undefined : opts.cost;
    const q = parseQuery(userQuery, url);
    const now = opts.now();
    const to = q.to ?? now;
    const from = q.from ?? to - DEFAULT_WINDOW_MS;
    if (from >= to)
      throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', 'invalid query parameters: "from" must be before "to"', {
        param: 'from',
      });

    const calls: LlmCall[] = [];
    let cursor: string | undefined;
    let truncated = false;
    for (;;) {
      const page = await store.listCalls({ user, from, to, limit: SCAN_PAGE, cursor });
      calls.push(...page.items);
      if (!page.nextCursor) break;
      if (calls.length >= MAX_USER_SCAN) {
        truncated = true;
        break;
      }
      cursor = page.nextCursor;
    }

    const d = new Date(now);
    const today = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    const [todayUsd, monthUsd] = spend
      ? await Promise.all([spend.spentUsd(user, today, now + 1), spend.spentUsd(user, month, now + 1)])
      : [null, null];
    if (calls.length === 0 && !monthUsd) {
      const ever = await store.listCalls({ user, limit: 1 });
      if (ever.items.length === 0)
        throw new LlmscopeError(
          'LLMSCOPE_ERR_NOT_FOUND',
          `no call from user "${user}" in the store; calls carry a user from the x-llmscope-user header, the body's "user" field or a virtual key`,
        );
    }

    const byModel = new Map<string | null, Group>();
    const byFeature = new Map<string | null, Group>();
    const byStatus: Record<string, number> = {};
    const latencies: number[] = [];
    let errors = 0;
    let cost = 0;
    let unpriced = 0;
    for (const c of calls) {
      addTo(byModel, c.model, c);
      addTo(byFeature, c.feature, c);
      byStatus[c.status] = (byStatus[c.status] ?? 0) + 1;
      latencies.push(c.latencyMs);
      if (c.status !== 'ok') errors++;
      if (unpricedCall(c)) unpriced++;
      cost += c.costUsd ?? 0;
    }
    latencies.sort((a, b) => a - b);
    const order = (m: Map<string | null, Group>) =>
      [...m].sort((a, b) => b[1].cost - a[1].cost || b[1].calls - a[1].calls);
    const p = (v: number | null) => (v === null ? null : r3(v));

    const examined = await withExtras(
      calls.slice(0, QUALITY_CALLS),
      (c) => ({ request_id: c.requestId }),
      opts.detailExtras ?? [],
      opts.onExtraError,
    );
    const quality = qualityOf(examined);

    const budgets = spend ? await spend.budgets(user, now) : [];

    sendJson(res, 200, {
      user,
      window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
      spend: {
        today_usd: todayUsd,
        month_usd: monthUsd,
        window_usd: r9(cost),
        window_unpriced_calls: unpriced,
        by_model: order(byModel).map(([k, g]) => groupWire('model', k, g)),
        by_feature: order(byFeature).map(([k, g]) => groupWire('feature', k, g)),
      },
      calls: {
        count: calls.length,
        errors,
        error_rate: calls.length ? errors / calls.length : null,
        by_status: byStatus,
        latency_p50_ms: p(quantile(latencies, 0.5)),
        latency_p95_ms: p(quantile(latencies, 0.95)),
        truncated,
      },
      recent: calls.slice(0, q.recent ?? 20).map(callToWire),
      feedback: quality.feedback,
      quality: {
        calls_examined: quality.calls_examined,
        verdicts: quality.verdicts,
        by_evaluator: quality.by_evaluator,
      },
      budgets,
    });
  });
}
