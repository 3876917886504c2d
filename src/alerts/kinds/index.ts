// The rule kinds, one file each; this registry maps a kind name to its definition.
import type { KindName } from '../spec.js';
import { allKind } from './all.js';
import { budgetRatio } from './budget-ratio.js';
import { costAnomaly } from './cost-anomaly.js';
import { errorRate } from './error-rate.js';
import { gpuMemory } from './gpu-memory.js';
import { gpuUtilization } from './gpu-utilization.js';
import { hallucinationRate } from './hallucination-rate.js';
import type { KindDef } from './kind.js';
import { latencyQuantile } from './latency-quantile.js';
import { reconciliationGap } from './reconciliation-gap.js';
import { refusalRate } from './refusal-rate.js';
import { requestRate } from './request-rate.js';
import { singleCallCost } from './single-call-cost.js';
import { sloBurn } from './slo-burn.js';
import { spendDay } from './spend-day.js';
import { spendForecast } from './spend-forecast.js';
import { spendMtd } from './spend-mtd.js';
import { thumbsDownRate } from './thumbs-down-rate.js';
import { tpotQuantile } from './tpot-quantile.js';
import { ttftQuantile } from './ttft-quantile.js';

export const KINDS: Record<KindName, KindDef> = {
  latency_quantile: latencyQuantile,
  ttft_quantile: ttftQuantile,
  tpot_quantile: tpotQuantile,
  error_rate: errorRate,
  request_rate: requestRate,
  spend_day: spendDay,
  spend_mtd: spendMtd,
  spend_forecast: spendForecast,
  single_call_cost: singleCallCost,
  cost_anomaly: costAnomaly,
  refusal_rate: refusalRate,
  thumbs_down_rate: thumbsDownRate,
  hallucination_rate: hallucinationRate,
  gpu_utilization: gpuUtilization,
  gpu_memory: gpuMemory,
  budget_ratio: budgetRatio,
  reconciliation_gap: reconciliationGap,
  slo_burn: sloBurn,
  all: allKind,
};

export function kindOf(kind: KindName): KindDef {
  return KINDS[kind];
}

export * from './all.js';
export * from './kind.js';
