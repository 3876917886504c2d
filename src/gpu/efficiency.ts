// What each output token costs on self-hosted models: GPU-hours of the hosts serving a model × price per GPU-hour,
// divided by the model's output tokens; shown beside API models' spend per 1K output tokens. Plus the alert
// signals: GPUs busy less than the low-utilization threshold, and GPUs whose memory is nearly full. Pure functions.
import type { GpuHostConfig } from './config.js';
import type { GpuUsage } from './storage/index.js';
import type { GpuSample } from './types.js';

/** Output tokens and spend of one provider/model over the window (from the store's rollups). */
export interface ModelTokens {
  provider: string | null;
  model: string | null;
  outputTokens: number;
  costUsd: number;
}

export interface EfficiencyRow {
  /** self_hosted: cost from GPU time; api: cost from the spend the ledger recorded. */
  kind: 'self_hosted' | 'api';
  provider: string | null;
  model: string | null;
  hosts: string[];
  gpu_hours: number | null;
  /** null for API models, and for self-hosted ones when no GPU-hour price is configured. */
  gpu_cost_usd: number | null;
  output_tokens: number;
  /** The cost the per-1K figure is based on: GPU cost (self-hosted) or recorded spend (API). */
  cost_usd: number | null;
  cost_per_1k_output_tokens: number | null;
  /** Average utilization of the GPUs serving the model, weighted by the share of their time it got. */
  utilization_avg: number | null;
}

export interface GpuSignal {
  kind: 'low_utilization' | 'high_memory';
  host: string;
  gpu: string;
  value: number;
  threshold: number;
}

/** `*` wildcards, anchored; the rest literal. */
export function matchesPattern(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('.*')}$`);
  return re.test(value);
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** True when `host` is configured to serve this provider/model. A host with neither providers nor models serves none. */
export function hostServes(host: GpuHostConfig, provider: string | null, model: string | null): boolean {
  if (host.providers.length === 0 && host.models.length === 0) return false;
  if (host.providers.length > 0 && (provider === null || !host.providers.includes(provider))) return false;
  if (host.models.length > 0 && (model === null || !host.models.some((p) => matchesPattern(p, model)))) return false;
  return true;
}

const keyOf = (provider: string | null, model: string | null): string => `${provider ?? ''}\u0000${model ?? ''}`;

const round = (v: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

interface Acc {
  provider: string | null;
  model: string | null;
  hosts: Set<string>;
  gpuSeconds: number;
  cost: number;
  priceMissing: boolean;
  utilWeighted: number;
  utilSeconds: number;
}

/** A `pricing.models` entry, as far as efficiency needs it: the ones priced by GPU-hours cost their GPUs' time. */
export interface PriceRule {
  model: string;
  provider?: string;
  gpuHours?: { gpus: number; pricePerGpuHour: number };
  /** `YYYY-MM-DD` (UTC) from which the entry applies. */
  effectiveFrom?: string;
}

export interface EfficiencyInput {
  usage: readonly GpuUsage[];
  tokens: readonly ModelTokens[];
  hosts: readonly GpuHostConfig[];
  pricePerGpuHour?: number;
  /** `pricing.models`, in order (the first entry matching a model prices it), with the window they are costed over. */
  priceRules?: readonly PriceRule[];
  /** The viewed window, epoch ms (its end no later than now): the span a `gpuHours` entry's GPUs are paid for. */
  window?: { from: number; to: number };
  /** Provider/model pairs with calls that have tokens but no price in the window (`${provider}\u0000${model}`). */
  unpriced?: ReadonlySet<string>;
}

/**
 * One row per self-hosted model (its hosts' GPU time split between the models a host serves in proportion to
 * their output tokens; equally when none had traffic) and one per API model with traffic.
 */
export function computeEfficiency(input: EfficiencyInput): EfficiencyRow[] {
  const tokens = new Map<string, ModelTokens>();
  for (const t of input.tokens) {
    const k = keyOf(t.provider, t.model);
    const cur = tokens.get(k);
    if (cur) {
      cur.outputTokens += t.outputTokens;
      cur.costUsd += t.costUsd;
    } else tokens.set(k, { ...t });
  }
  const acc = new Map<string, Acc>();
  const accOf = (provider: string | null, model: string | null): Acc => {
    const k = keyOf(provider, model);
    let a = acc.get(k);
    if (!a) {
      a = {
        provider,
        model,
        hosts: new Set(),
        gpuSeconds: 0,
        cost: 0,
        priceMissing: false,
        utilWeighted: 0,
        utilSeconds: 0,
      };
      acc.set(k, a);
    }
    return a;
  };

  for (const host of input.hosts) {
    if (host.providers.length === 0 && host.models.length === 0) continue;
    // GPU time is counted per physical GPU: a MIG-partitioned GPU is read as the GPU ("0": temperature, power) and
    // each of its instances ("0:1", "0:2", ...) over the same seconds, and a GPU-hour is priced once, not per instance.
    // Utilization is averaged per physical GPU too: its instances' mean first, so a GPU cut into seven instances weighs
    // as one GPU beside the host's others, not as seven.
    const physical = new Map<string, { seconds: number; utilWeighted: number; utilSeconds: number }>();
    for (const u of input.usage) {
      if (u.host !== host.host) continue;
      const gpu = u.gpu.split(':')[0] as string;
      const p = physical.get(gpu) ?? { seconds: 0, utilWeighted: 0, utilSeconds: 0 };
      p.seconds = Math.max(p.seconds, u.gpuSeconds);
      if (u.utilizationAvg !== null) {
        p.utilWeighted += u.utilizationAvg * u.gpuSeconds;
        p.utilSeconds += u.gpuSeconds;
      }
      physical.set(gpu, p);
    }
    let gpuSeconds = 0;
    let utilWeighted = 0;
    let utilSeconds = 0;
    for (const p of physical.values()) {
      gpuSeconds += p.seconds;
      if (p.utilSeconds > 0) {
        utilWeighted += (p.utilWeighted / p.utilSeconds) * p.seconds;
        utilSeconds += p.seconds;
      }
    }
    const price = host.gpuHourPrice ?? input.pricePerGpuHour ?? null;
    const served = [...tokens.values()].filter((t) => hostServes(host, t.provider, t.model));
    const total = served.reduce((n, t) => n + t.outputTokens, 0);
    let shares: Array<{ provider: string | null; model: string | null; share: number }>;
    if (total > 0)
      shares = served.map((t) => ({ provider: t.provider, model: t.model, share: t.outputTokens / total }));
    else if (served.length > 0)
      shares = served.map((t) => ({ provider: t.provider, model: t.model, share: 1 / served.length }));
    else {
      // No traffic at all: the GPUs still cost money; show it under the models the host names.
      const exact = host.models.filter((m) => !m.includes('*'));
      const provider = host.providers[0] ?? null;
      shares = exact.length
        ? exact.map((model) => ({ provider, model, share: 1 / exact.length }))
        : [{ provider, model: null, share: 1 }];
    }
    for (const s of shares) {
      const a = accOf(s.provider, s.model);
      a.hosts.add(host.host);
      a.gpuSeconds += s.share * gpuSeconds;
      a.utilWeighted += s.share * utilWeighted;
      a.utilSeconds += s.share * utilSeconds;
      if (price === null) a.priceMissing = true;
      else a.cost += (s.share * gpuSeconds * price) / 3600;
    }
  }

  // Models priced by GPU-hours in `pricing.models` (not measured on a gpu.hosts host): the entry's GPUs cost their
  // wall time over the window, busy or not, as the cost views accrue them (a non-API cost, category self_hosted), split
  // between the models it prices by output tokens; an entry naming one model shows it without traffic too.
  const rules = input.priceRules ?? [];
  const window = input.window;
  if (window && rules.some((r) => r.gpuHours)) {
    const byRule = new Map<PriceRule, ModelTokens[]>();
    for (const [k, t] of tokens) {
      if (acc.has(k) || t.model === null) continue;
      const model = t.model;
      const rule = rules.find((r) => matchesPattern(r.model, model) && (!r.provider || r.provider === t.provider));
      if (rule?.gpuHours) byRule.set(rule, [...(byRule.get(rule) ?? []), t]);
    }
    for (const rule of rules) {
      const g = rule.gpuHours;
      if (!g) continue;
      const from = Math.max(window.from, rule.effectiveFrom ? Date.parse(`${rule.effectiveFrom}T00:00:00Z`) : 0);
      const seconds = Math.max(0, window.to - from) / 1000;
      // Not in effect in the window (effectiveFrom after it): its models' calls were priced otherwise.
      if (seconds === 0) continue;
      const served = byRule.get(rule) ?? [];
      const total = served.reduce((n, t) => n + t.outputTokens, 0);
      const shares = served.length
        ? served.map((t) => ({
            provider: t.provider,
            model: t.model,
            share: total > 0 ? t.outputTokens / total : 1 / served.length,
          }))
        : rule.model.includes('*')
          ? []
          : [{ provider: rule.provider ?? null, model: rule.model, share: 1 }];
      for (const sh of shares) {
        const a = accOf(sh.provider, sh.model);
        a.gpuSeconds += sh.share * g.gpus * seconds;
        a.cost += (sh.share * g.gpus * seconds * g.pricePerGpuHour) / 3600;
      }
    }
  }

  const rows: EfficiencyRow[] = [];
  for (const [k, a] of acc) {
    const out = tokens.get(k)?.outputTokens ?? 0;
    const gpuCost = a.priceMissing ? null : round(a.cost, 6);
    rows.push({
      kind: 'self_hosted',
      provider: a.provider,
      model: a.model,
      hosts: [...a.hosts].sort(),
      gpu_hours: round(a.gpuSeconds / 3600, 6),
      gpu_cost_usd: gpuCost,
      output_tokens: out,
      cost_usd: gpuCost,
      cost_per_1k_output_tokens:
        gpuCost !== null && out > 0 && a.gpuSeconds > 0 ? round((a.cost / out) * 1000, 6) : null,
      utilization_avg: a.utilSeconds > 0 ? round(a.utilWeighted / a.utilSeconds, 4) : null,
    });
  }
  for (const [k, t] of tokens) {
    if (acc.has(k) || (t.outputTokens <= 0 && t.costUsd <= 0)) continue;
    // A model with unpriced calls has an unknown cost (its recorded spend leaves them out): null, never 0.
    const unpriced = input.unpriced?.has(k) === true;
    rows.push({
      kind: 'api',
      provider: t.provider,
      model: t.model,
      hosts: [],
      gpu_hours: null,
      gpu_cost_usd: null,
      output_tokens: t.outputTokens,
      cost_usd: unpriced ? null : round(t.costUsd, 6),
      cost_per_1k_output_tokens: !unpriced && t.outputTokens > 0 ? round((t.costUsd / t.outputTokens) * 1000, 6) : null,
      utilization_avg: null,
    });
  }
  return rows.sort(
    (x, y) =>
      (x.kind === y.kind ? 0 : x.kind === 'self_hosted' ? -1 : 1) ||
      (x.provider ?? '').localeCompare(y.provider ?? '') ||
      (x.model ?? '').localeCompare(y.model ?? ''),
  );
}

export interface SignalInput {
  /** Window usage per GPU (utilization averaged over the window). */
  usage: readonly GpuUsage[];
  /** Latest readings (memory is judged on the last reading). */
  latest: readonly GpuSample[];
  thresholds: { lowUtilization: number; highMemory: number };
}

export function gpuSignals(input: SignalInput): GpuSignal[] {
  const out: GpuSignal[] = [];
  const { lowUtilization, highMemory } = input.thresholds;
  for (const u of input.usage)
    if (u.utilizationAvg !== null && u.samples > 0 && u.utilizationAvg < lowUtilization)
      out.push({
        kind: 'low_utilization',
        host: u.host,
        gpu: u.gpu,
        value: round(u.utilizationAvg, 4),
        threshold: lowUtilization,
      });
  for (const s of input.latest) {
    if (s.memoryUsedBytes === null || !s.memoryTotalBytes) continue;
    const ratio = s.memoryUsedBytes / s.memoryTotalBytes;
    if (ratio > highMemory)
      out.push({ kind: 'high_memory', host: s.host, gpu: s.gpu, value: round(ratio, 4), threshold: highMemory });
  }
  return out;
}
