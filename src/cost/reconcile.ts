// Reconciliation: tracked spend against the provider's bill, per day, provider and model; the gap in $ and %, the
// causes visible in the data (unpriced models, days with no tracked traffic, models never seen, price changes,
// non-token items), and an overhead buffer to apply to tracked figures. Pure: the caller reads the store.
import { type Bill, BillError, type BillLine } from './bills.js';
import type { NonApiLine } from './non-api.js';
import type { PriceBook } from './pricing.js';
import { daysBetween } from './pricing.js';

/** A bill's line item for built-in tool uses (OpenAI's "web search tool calls", Anthropic's cost type web_search). */
const TOOL_ITEM = /\b(?:web|file)[ _-]?search\b/i;
/** A search line that is not per use: file search's vector storage (per GB-day), which no call's cost holds. */
const STORAGE_ITEM = /storage/i;

/**
 * Whether a bill's line is built-in tool uses (web search, file search tool calls; "gpt-4o, web search tool calls"
 * too), matched against the calls' tool spend rather than a model's tokens.
 */
export function isToolLine(l: Pick<BillLine, 'item'>): boolean {
  return TOOL_ITEM.test(l.item) && !STORAGE_ITEM.test(l.item);
}

/** One tracked (day, provider, model) aggregate, as the spend store keeps it. */
export interface TrackedCell {
  day: string;
  provider: string;
  model: string;
  costUsd: number;
  /**
   * The part of `costUsd` charged for built-in tool uses (decision 163): matched against the bill's tool lines, the
   * rest against the model's token lines. 0 for spend summed before llmscope kept it apart; absent: 0.
   */
  toolCostUsd?: number;
  requests: number;
  unpriced: number;
}

export type CauseKind =
  | 'untracked_days'
  | 'unpriced_models'
  | 'untracked_models'
  | 'price_change'
  | 'price_mismatch'
  | 'non_api_items'
  | 'tool_charges'
  | 'unitemized'
  | 'unexplained';

export interface Cause {
  kind: CauseKind;
  /** The part of the gap this cause accounts for (bill − tracked, USD). */
  gap_usd: number;
  message: string;
  days?: string[];
  models?: string[];
  items?: string[];
}

export interface GapRow {
  billed_usd: number;
  tracked_usd: number;
  gap_usd: number;
  /** gap / billed (null when nothing was billed). */
  gap_ratio: number | null;
}

export interface ReconciliationReport extends GapRow {
  format: string;
  from: string;
  to: string;
  providers: string[];
  causes: Cause[];
  /**
   * Add this share to tracked spend to expect the bill (gap / tracked, rounded up to 0.5%, at most MAX_BUFFER_RATIO);
   * null when nothing was tracked.
   */
  recommended_buffer_ratio: number | null;
  /** The buffer still needed once the named causes are fixed (unexplained gap / tracked), capped the same way. */
  residual_buffer_ratio: number | null;
  /** True when gap / tracked was above MAX_BUFFER_RATIO, so the recommended buffer is the cap, not the gap. */
  buffer_capped: boolean;
  /** Why there is no buffer, or why it is capped; null when the buffer is simply gap / tracked. */
  buffer_note: string | null;
  by_day: (GapRow & { day: string })[];
  by_model: (GapRow & { provider: string; model: string; requests: number; unpriced_requests: number })[];
  /** True when |gap_ratio| is over the configured threshold (the reconciliation_gap alert signal). */
  over_threshold: boolean;
}

export interface ReconcileInput {
  bill: Bill;
  tracked: readonly TrackedCell[];
  /** Non-API items llmscope tracks (config, imports); those carrying a bill's provider count against its other lines. */
  nonApi?: readonly NonApiLine[];
  prices: PriceBook;
  from?: string;
  to?: string;
  /** Share of the bill above which the gap is flagged (default 0.05). */
  threshold?: number;
  /** The catalog provider billing each gateway provider, when its name alone does not say (pricing billersOf). */
  billers?: ReadonlyMap<string, string>;
}

/**
 * A recommended buffer above this share of tracked spend is no buffer at all: the tracking is missing most of what is
 * billed, and the causes have to be fixed instead.
 */
export const MAX_BUFFER_RATIO = 0.5;

/** Provider names as OpenTelemetry's GenAI conventions (and users) write them → the catalog's names. */
const PROVIDER_ALIASES: Readonly<Record<string, string>> = {
  mistral_ai: 'mistral',
  mistralai: 'mistral',
  'gcp.gemini': 'google',
  'gcp.vertex_ai': 'google',
  'gcp.gen_ai': 'google',
  gemini: 'google',
  vertex_ai: 'google',
  vertexai: 'google',
  google_ai: 'google',
  together_ai: 'together',
  togetherai: 'together',
  fireworks_ai: 'fireworks',
  deepseek_ai: 'deepseek',
  'anthropic.claude': 'anthropic',
  open_ai: 'openai',
  // (the conventions' Amazon Bedrock; llmscope records an agent framework's call on a Bedrock model id as `bedrock`,
  // the catalog's name, decision 165)
  'aws.bedrock': 'bedrock',
  aws_bedrock: 'bedrock',
  amazon_bedrock: 'bedrock',
};

/** A provider's name as reconciliation compares it: lower case, GenAI-convention names mapped to the catalog's. */
export function providerKey(name: string): string {
  const n = name.trim().toLowerCase();
  // (billing consoles write the service with spaces: Amazon Bedrock, Vertex AI, Mistral AI)
  return PROVIDER_ALIASES[n] ?? PROVIDER_ALIASES[n.replace(/\s+/g, '_')] ?? n;
}

/** A model name the catalog does not know, without its date or `-latest` (gpt-x-2025-01-31, claude-y@20250101). */
function undatedModel(model: string): string {
  return model
    .trim()
    .toLowerCase()
    .replace(/@.*$/, '')
    .replace(/-(\d{4}-\d{2}-\d{2}|\d{8})$/, '')
    .replace(/-latest$/, '');
}

const OTHER = '(non-token items)';
/** A day and provider's built-in tool uses: the bill's tool lines against the calls' tool spend (decision 163). */
const TOOLS = '(built-in tools)';
/** A day and provider the bill gives only whole (not split by line item): all its tracked spend compared at once. */
const WHOLE = '(whole bill)';
const round = (n: number): number => Math.round(n * 1e6) / 1e6;

function gapRow(billed: number, tracked: number): GapRow {
  return {
    billed_usd: round(billed),
    tracked_usd: round(tracked),
    gap_usd: round(billed - tracked),
    gap_ratio: billed > 0 ? round((billed - tracked) / billed) : null,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

interface Cell {
  day: string;
  provider: string;
  model: string;
  billed: number;
  tracked: number;
  requests: number;
  unpriced: number;
  /** The unpriced models among the tracked calls (more than one in a whole-bill cell). */
  unpricedModels: Set<string>;
}

export function reconcile(input: ReconcileInput): ReconciliationReport {
  const { bill, prices } = input;
  const billDays = bill.lines.map((l) => l.day).sort();
  const from = input.from ?? billDays[0];
  const to = input.to ?? billDays.at(-1);
  if (!from || !to) throw new BillError('the bill has no lines; give --from and --to');
  const providers = [...new Set(bill.lines.map((l) => providerKey(l.provider)))].sort();
  const inRange = (d: string): boolean => d >= from && d <= to;

  // Model names differ between the bill (dated snapshots) and calls (aliases): compare catalog ids where known,
  // else the name without its date.
  const canonical = (model: string, provider: string | null): string =>
    prices.entryFor(model, provider)?.model ?? undatedModel(model);
  const cells = new Map<string, Cell>();
  const cell = (day: string, provider: string, model: string): Cell => {
    const k = `${day}\u0000${provider}\u0000${model}`;
    let c = cells.get(k);
    if (!c) {
      c = { day, provider, model, billed: 0, tracked: 0, requests: 0, unpriced: 0, unpricedModels: new Set() };
      cells.set(k, c);
    }
    return c;
  };
  // Days a provider billed as a whole (no line items): every line and tracked call of that day and provider goes to
  // one cell, so the day's model use, tool calls and storage are compared together rather than the whole bill being
  // taken for non-token items.
  const wholeDays = new Set(
    bill.lines.filter((l) => l.whole && inRange(l.day)).map((l) => `${l.day}\u0000${providerKey(l.provider)}`),
  );
  const isWhole = (day: string, provider: string): boolean =>
    wholeDays.size > 0 && wholeDays.has(`${day}\u0000${provider}`);
  // Providers whose bill lists built-in tool uses apart (decision 163). Where it lists none (a generic CSV's model
  // totals, an export without them), its model lines hold whatever the searches cost: the calls' whole cost, tools
  // included, is compared with them, as before tool spend was kept apart (else a false price_mismatch and a
  // tool_charges of the same size and opposite sign). A bill that lists them on some days billed none on the others.
  const toolBilled = new Set(
    bill.lines.filter((l) => isToolLine(l) && inRange(l.day)).map((l) => providerKey(l.provider)),
  );
  for (const l of bill.lines as BillLine[]) {
    if (!inRange(l.day)) continue;
    const p = providerKey(l.provider);
    const model = isWhole(l.day, p)
      ? WHOLE
      : isToolLine(l)
        ? TOOLS
        : l.model === null
          ? OTHER
          : canonical(l.model, l.provider);
    cell(l.day, p, model).billed += l.amountUsd;
  }
  // A tracked call counts against the bill of its gateway provider's name (simulator, openai-prod), else of the
  // provider that provider's base URL bills through, else of the catalog provider of its model.
  const billerOf = (t: TrackedCell): string | null => {
    const entry = prices.entryFor(t.model, t.provider);
    for (const p of [t.provider, input.billers?.get(t.provider), entry?.provider])
      if (p && providers.includes(providerKey(p))) return providerKey(p);
    return null;
  };
  for (const t of input.tracked) {
    if (!inRange(t.day)) continue;
    const billedBy = billerOf(t);
    if (billedBy === null) continue;
    const model = canonical(t.model, t.provider);
    const whole = isWhole(t.day, billedBy);
    // The tool part of the calls' cost against the bill's tool lines, the rest against the model's token lines.
    const tools = whole || !toolBilled.has(billedBy) ? 0 : (t.toolCostUsd ?? 0);
    const c = cell(t.day, billedBy, whole ? WHOLE : model);
    c.tracked += t.costUsd - tools;
    if (tools !== 0) cell(t.day, billedBy, TOOLS).tracked += tools;
    c.requests += t.requests;
    c.unpriced += t.unpriced;
    if (t.unpriced > 0) c.unpricedModels.add(model);
  }
  for (const n of input.nonApi ?? [])
    if (n.provider && providers.includes(providerKey(n.provider)) && inRange(n.day)) {
      const p = providerKey(n.provider);
      cell(n.day, p, isWhole(n.day, p) ? WHOLE : OTHER).tracked += n.amountUsd;
    }

  const all = [...cells.values()];
  const billed = all.reduce((s, c) => s + c.billed, 0);
  const tracked = all.reduce((s, c) => s + c.tracked, 0);
  const gap = billed - tracked;

  // Days on which a provider billed but no call to it was seen at all: the gateway was bypassed or down.
  const seen = new Set(all.filter((c) => c.requests > 0).map((c) => `${c.day}\u0000${c.provider}`));
  const untrackedDay = (c: Cell): boolean => !seen.has(`${c.day}\u0000${c.provider}`) && c.model !== OTHER;
  const causes: Cause[] = [];
  const used = new Set<Cell>();
  const take = (pred: (c: Cell) => boolean): Cell[] => {
    const out = all.filter((c) => !used.has(c) && pred(c));
    for (const c of out) used.add(c);
    return out;
  };
  const sumGap = (cs: Cell[]): number => cs.reduce((s, c) => s + c.billed - c.tracked, 0);

  const noTraffic = take((c) => untrackedDay(c) && c.billed > 0);
  if (noTraffic.length > 0) {
    const days = [...new Set(noTraffic.map((c) => c.day))].sort();
    causes.push({
      kind: 'untracked_days',
      gap_usd: round(sumGap(noTraffic)),
      days,
      message: `${days.length} day(s) billed with no tracked traffic (${days.join(', ')}): calls bypassed the gateway, or it was not running`,
    });
  }

  // (A whole-bill cell's gap cannot be split between its unpriced calls and the rest: it is `unitemized`, below.)
  const unpricedCells = take((c) => c.unpriced > 0 && c.model !== WHOLE);
  if (unpricedCells.length > 0) {
    const models = [...new Set(unpricedCells.flatMap((c) => [...c.unpricedModels]))].sort();
    const calls = unpricedCells.reduce((s, c) => s + c.unpriced, 0);
    // A model with a price counts unpriced calls only as records sent to /api/ingest without their cost or units
    // (decision 152): the advice is to send those, not to price a model that has a price.
    const priced = new Set(
      unpricedCells.flatMap((c) => [...c.unpricedModels].filter((m) => prices.entryFor(m, c.provider) !== null)),
    );
    const noPrice = models.filter((m) => !priced.has(m));
    // Or, since f72aebb, an image or audio call of a model priced by its tokens that recorded no token usage (a
    // gpt-image-1 span or answer without usage): its fix is its usage, not its cost or units on /api/ingest.
    const byTokens = new Set(
      unpricedCells.flatMap((c) =>
        [...c.unpricedModels].filter(
          (m) => priced.has(m) && prices.billingUnitOf(m, c.provider, Date.parse(`${c.day}T00:00:00Z`)) === null,
        ),
      ),
    );
    const perUnit = [...priced].filter((m) => !byTokens.has(m)).sort();
    const tokenPriced = [...byTokens].sort();
    const fixes = [
      ...(noPrice.length > 0 ? [`add ${noPrice.join(', ')} under pricing.models`] : []),
      ...(perUnit.length > 0
        ? [
            `${perUnit.join(', ')} ha${perUnit.length === 1 ? 's' : 've'} a price, but calls sent to /api/ingest said neither their cost nor their units: send cost_usd or price.unit and price.units with them`,
          ]
        : []),
      ...(tokenPriced.length > 0
        ? [
            `${tokenPriced.join(', ')} ${tokenPriced.length === 1 ? 'is' : 'are'} priced by the token, but calls (images, audio) recorded no token usage: send their usage with them (the answer's usage; gen_ai.usage.* on a span; cost_usd or the tokens on a record sent to /api/ingest)`,
          ]
        : []),
    ];
    causes.push({
      kind: 'unpriced_models',
      gap_usd: round(sumGap(unpricedCells)),
      models,
      message: `${calls} tracked call(s) to ${models.join(', ')} have no cost: ${fixes.join('; ')}`,
    });
  }

  const modelsSeen = new Set(all.filter((c) => c.requests > 0).map((c) => `${c.provider}\u0000${c.model}`));
  const unseen = take(
    (c) => c.model !== OTHER && c.model !== TOOLS && c.billed > 0 && !modelsSeen.has(`${c.provider}\u0000${c.model}`),
  );
  if (unseen.length > 0) {
    const models = [...new Set(unseen.map((c) => c.model))].sort();
    causes.push({
      kind: 'untracked_models',
      gap_usd: round(sumGap(unseen)),
      models,
      message: `billed model(s) never seen at the gateway: ${models.join(', ')} (called directly, or by another key/project)`,
    });
  }

  const other = take((c) => c.model === OTHER);
  if (other.length > 0 && Math.abs(sumGap(other)) > 1e-9) {
    const items = [
      ...new Set(
        bill.lines
          .filter((l) => l.model === null && !isToolLine(l) && inRange(l.day) && l.amountUsd !== 0)
          .map((l) => l.item),
      ),
    ].sort();
    causes.push({
      kind: 'non_api_items',
      gap_usd: round(sumGap(other)),
      items,
      message: `the bill has items that are not per-token model use (${items.slice(0, 8).join('; ')}); track them under costs`,
    });
  }

  // The bill's built-in tool lines against the calls' tool spend, per day and provider (decision 163): a gap is tool
  // uses with no price (counted, not costed), calls from before llmscope kept tool spend apart, or another price.
  const toolCells = take((c) => c.model === TOOLS);
  const toolGap = sumGap(toolCells);
  if (toolCells.length > 0 && Math.abs(toolGap) > Math.max(0.01, 0.01 * toolCells.reduce((s, c) => s + c.billed, 0))) {
    const items = [
      ...new Set(bill.lines.filter((l) => isToolLine(l) && inRange(l.day) && l.amountUsd !== 0).map((l) => l.item)),
    ].sort();
    const days = [...new Set(toolCells.filter((c) => Math.abs(c.billed - c.tracked) > 1e-9).map((c) => c.day))].sort();
    causes.push({
      kind: 'tool_charges',
      gap_usd: round(toolGap),
      days,
      items,
      message:
        toolGap > 0
          ? `built-in tool uses billed above their tracked spend${items.length > 0 ? ` (${items.slice(0, 8).join('; ')})` : ''}: tool uses without a price (GET /api/cost/unpriced, tools; set them under pricing.tools), calls recorded before tool spend was kept apart (0 tool spend), or a tool price that changed`
          : `built-in tool uses tracked above the bill's tool lines${items.length > 0 ? ` (${items.slice(0, 8).join('; ')})` : ''}: a tool price set too high under pricing.tools, or one that changed`,
    });
  }

  const whole = take((c) => c.model === WHOLE);
  if (whole.length > 0 && Math.abs(sumGap(whole)) > 1e-9) {
    const days = [...new Set(whole.filter((c) => Math.abs(c.billed - c.tracked) > 1e-9).map((c) => c.day))].sort();
    const names = [...new Set(whole.map((c) => c.provider))].sort();
    const unpriced = [...new Set(whole.flatMap((c) => [...c.unpricedModels]))].sort();
    const also =
      unpriced.length > 0
        ? `; tracked calls to unpriced model(s) ${unpriced.join(', ')} have no cost and are part of it`
        : '';
    causes.push({
      kind: 'unitemized',
      gap_usd: round(sumGap(whole)),
      days,
      message: `${days.length} day(s) of ${names.join(', ')}'s bill are totals, not split by line item: their gap (model use, tool calls, storage together) cannot be traced to a model or item; export the bill grouped by line item (OpenAI) or description (Anthropic)${also}`,
      ...(unpriced.length > 0 ? { models: unpriced } : {}),
    });
  }

  // Priced models billed at a different rate than tracked: a step in the daily ratio, or a catalog change, or a
  // steady mismatch (discounts, batch or priority tiers, a stale price).
  const byModel = new Map<string, Cell[]>();
  for (const c of all)
    if (!used.has(c) && c.tracked > 0 && c.billed > 0) {
      const k = `${c.provider}\u0000${c.model}`;
      byModel.set(k, [...(byModel.get(k) ?? []), c]);
    }
  const changes: { model: string; day: string; cells: Cell[] }[] = [];
  const mismatches: { model: string; ratio: number; cells: Cell[] }[] = [];
  for (const cs of byModel.values()) {
    cs.sort((a, b) => (a.day < b.day ? -1 : 1));
    const model = (cs[0] as Cell).model;
    const ratios = cs.map((c) => c.billed / c.tracked);
    const catalogChange = prices.priceChanges(
      model,
      (cs[0] as Cell).provider,
      Date.parse(`${from}T00:00:00Z`),
      Date.parse(`${to}T00:00:00Z`),
    );
    // One change point, placed where it best splits the daily ratios (least absolute deviation from each side's median).
    let step: string | null = null;
    let best = Number.POSITIVE_INFINITY;
    for (let i = 1; i < cs.length; i++) {
      const before = ratios.slice(0, i);
      const after = ratios.slice(i);
      const b = median(before);
      const a = median(after);
      const cost = before.reduce((s, x) => s + Math.abs(x - b), 0) + after.reduce((s, x) => s + Math.abs(x - a), 0);
      if (cost < best) {
        best = cost;
        step = Math.abs(b - 1) < 0.02 && Math.abs(a - b) > 0.05 ? (cs[i] as Cell).day : null;
      }
    }
    const modelBilled = cs.reduce((x, c) => x + c.billed, 0);
    const consistent = Math.abs(sumGap(cs)) <= Math.max(0.01, modelBilled * 0.01);
    if (step !== null || (catalogChange.length > 0 && !consistent)) {
      changes.push({ model, day: step ?? (catalogChange[0] as string), cells: cs });
      continue;
    }
    const r = median(ratios);
    if (Math.abs(r - 1) > 0.02) mismatches.push({ model, ratio: r, cells: cs });
  }
  if (changes.length > 0) {
    const cs = changes.flatMap((c) => c.cells);
    for (const c of cs) used.add(c);
    causes.push({
      kind: 'price_change',
      gap_usd: round(sumGap(cs)),
      models: changes.map((c) => c.model),
      days: changes.map((c) => c.day),
      message: `price change(s): ${changes.map((c) => `${c.model} from ${c.day}`).join(', ')}; check the catalog or pricing.models`,
    });
  }
  if (mismatches.length > 0) {
    const cs = mismatches.flatMap((m) => m.cells);
    for (const c of cs) used.add(c);
    causes.push({
      kind: 'price_mismatch',
      gap_usd: round(sumGap(cs)),
      models: mismatches.map((m) => m.model),
      message: `billed at a different rate than tracked: ${mismatches
        .map((m) => `${m.model} ×${m.ratio.toFixed(3)}`)
        .join(', ')} (discounts, batch/priority tiers, or a stale price)`,
    });
  }
  const explained = causes.reduce((s, c) => s + c.gap_usd, 0);
  const rest = gap - explained;
  if (Math.abs(rest) > Math.max(0.01, Math.abs(billed) * 0.001))
    causes.push({
      kind: 'unexplained',
      gap_usd: round(rest),
      message: 'the rest of the gap has no visible cause (dropped records, retries billed, rounding on the bill)',
    });
  causes.sort((a, b) => Math.abs(b.gap_usd) - Math.abs(a.gap_usd));

  const byDay = new Map<string, { billed: number; tracked: number }>();
  for (const d of daysBetween(from, to)) byDay.set(d, { billed: 0, tracked: 0 });
  const byModelRows = new Map<
    string,
    { provider: string; model: string; billed: number; tracked: number; requests: number; unpriced: number }
  >();
  for (const c of all) {
    const d = byDay.get(c.day);
    if (d) {
      d.billed += c.billed;
      d.tracked += c.tracked;
    }
    const k = `${c.provider}\u0000${c.model}`;
    const m = byModelRows.get(k) ?? {
      provider: c.provider,
      model: c.model,
      billed: 0,
      tracked: 0,
      requests: 0,
      unpriced: 0,
    };
    m.billed += c.billed;
    m.tracked += c.tracked;
    m.requests += c.requests;
    m.unpriced += c.unpriced;
    byModelRows.set(k, m);
  }
  const buffer = (g: number): number | null =>
    tracked > 0 ? Math.min(MAX_BUFFER_RATIO, Math.max(0, Math.ceil((g / tracked) * 200) / 200)) : null;
  const top = gapRow(billed, tracked);
  const bufferCapped = tracked > 0 && gap / tracked > MAX_BUFFER_RATIO;
  const largest = causes.find((c) => c.kind !== 'unexplained') ?? causes[0];
  const fix = largest ? `fix the causes listed (the largest: ${largest.kind}) and reconcile again` : 'check the data';
  const bufferNote =
    tracked <= 0 && billed > 0
      ? `nothing was tracked for ${providers.join(', ')} over these days, so no buffer can be derived; ${fix}`
      : bufferCapped
        ? `the gap is ${gap / tracked >= 2 ? `${(gap / tracked).toFixed(1)}×` : `${Math.round((gap / tracked) * 100)}% of`} tracked spend, too large for a buffer to stand in for tracking, so it is capped at ${MAX_BUFFER_RATIO * 100}%; ${fix}`
        : null;
  return {
    format: bill.format,
    from,
    to,
    providers,
    ...top,
    causes,
    recommended_buffer_ratio: buffer(gap),
    residual_buffer_ratio: buffer(causes.find((c) => c.kind === 'unexplained')?.gap_usd ?? 0),
    buffer_capped: bufferCapped,
    buffer_note: bufferNote,
    by_day: [...byDay].map(([day, v]) => ({ day, ...gapRow(v.billed, v.tracked) })),
    by_model: [...byModelRows.values()]
      .map((m) => ({
        provider: m.provider,
        model: m.model,
        requests: m.requests,
        unpriced_requests: m.unpriced,
        ...gapRow(m.billed, m.tracked),
      }))
      .sort((a, b) => Math.abs(b.gap_usd) - Math.abs(a.gap_usd)),
    over_threshold: top.gap_ratio !== null && Math.abs(top.gap_ratio) > (input.threshold ?? 0.05),
  };
}

/** A short text form of a report, for the CLI. */
export function formatReport(r: ReconciliationReport): string {
  const usd = (n: number): string => `${n < 0 ? '-' : ''}$${Math.abs(n).toFixed(2)}`;
  const pct = (n: number | null): string => (n === null ? 'n/a' : `${(n * 100).toFixed(1)}%`);
  const lines = [
    `Reconciliation ${r.from} … ${r.to} (${r.format} bill; ${r.providers.join(', ')})`,
    `  billed   ${usd(r.billed_usd)}`,
    `  tracked  ${usd(r.tracked_usd)}`,
    `  gap      ${usd(r.gap_usd)} (${pct(r.gap_ratio)} of the bill)${r.over_threshold ? '  ← over threshold' : ''}`,
    `  buffer   ${pct(r.recommended_buffer_ratio)} on tracked spend` +
      (r.buffer_capped ? ' (capped)' : '') +
      (r.residual_buffer_ratio !== null && !r.buffer_capped
        ? ` (${pct(r.residual_buffer_ratio)} once the causes below are fixed)`
        : ''),
  ];
  if (r.buffer_note) lines.push(`           ${r.buffer_note}`);
  if (r.causes.length > 0) {
    lines.push('', 'Likely causes:');
    for (const c of r.causes) lines.push(`  ${usd(c.gap_usd).padStart(12)}  ${c.kind}: ${c.message}`);
  }
  const worst = r.by_model.filter((m) => Math.abs(m.gap_usd) >= 0.005).slice(0, 10);
  if (worst.length > 0) {
    lines.push('', 'By model (largest gaps):');
    for (const m of worst)
      lines.push(
        `  ${`${m.provider}/${m.model}`.padEnd(44)} billed ${usd(m.billed_usd).padStart(10)}  tracked ${usd(m.tracked_usd).padStart(10)}  gap ${usd(m.gap_usd).padStart(10)}`,
      );
  }
  return lines.join('\n');
}
