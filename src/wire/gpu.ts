// GET /api/gpu (gpu/api.ts): live GPUs, their per-minute (or per-hour) history, self-hosted cost per 1K output
// tokens beside API spend, and the low-utilization / high-memory signals.
import { z } from 'zod';
import { count, isoTime, maybe } from './common.js';

const num = maybe(z.number());

export const gpuBodySchema = z.strictObject({
  available: z.boolean(),
  /** Why there is no GPU data (no collector, no driver, no exporter answering). */
  reason: z.string().optional(),
  collector: z.enum(['auto', 'nvidia-smi', 'dcgm', 'none']),
  collectors: z.array(
    z.strictObject({
      kind: z.enum(['nvidia-smi', 'dcgm']),
      source: z.string(),
      status: z.enum(['pending', 'ok', 'unavailable', 'error']),
      reason: maybe(z.string()),
      last_ok_at: maybe(isoTime),
    }),
  ),
  from: isoTime,
  to: isoTime,
  step: z.enum(['minute', 'hour']),
  gpus: z.array(
    z.strictObject({
      host: z.string(),
      gpu: z.string(),
      uuid: maybe(z.string()),
      name: maybe(z.string()),
      utilization: num,
      memory_used_bytes: num,
      memory_total_bytes: num,
      temperature_c: num,
      power_w: num,
      updated_at: isoTime,
    }),
  ),
  series: z.array(
    z.strictObject({
      host: z.string(),
      gpu: z.string(),
      name: maybe(z.string()),
      points: z.array(
        z.strictObject({
          t: z.number(),
          utilization_avg: num,
          utilization_max: num,
          memory_used_avg: num,
          memory_total: num,
          samples: count,
        }),
      ),
    }),
  ),
  efficiency: z.array(
    z.strictObject({
      /** self_hosted: cost from GPU time; api: cost from the spend the ledger recorded. */
      kind: z.enum(['self_hosted', 'api']),
      provider: maybe(z.string()),
      model: maybe(z.string()),
      hosts: z.array(z.string()),
      gpu_hours: num,
      /** null for API models, and for self-hosted ones when no GPU-hour price is configured. */
      gpu_cost_usd: num,
      output_tokens: count,
      cost_usd: num,
      cost_per_1k_output_tokens: num,
      /** Average utilization of the GPUs serving the model, weighted by the share of their time it got. */
      utilization_avg: num,
    }),
  ),
  signals: z.array(
    z.strictObject({
      kind: z.enum(['low_utilization', 'high_memory']),
      host: z.string(),
      gpu: z.string(),
      value: z.number(),
      threshold: z.number(),
    }),
  ),
  /**
   * `gpu.hosts` entries no collector reported a GPU on in the window nor reads now (a mistyped name, a container's
   * host name): their models get no GPU-hours and no cost. Empty while no collector reads at all.
   */
  unseen_hosts: z.array(z.string()),
});
export type GpuBody = z.infer<typeof gpuBodySchema>;
