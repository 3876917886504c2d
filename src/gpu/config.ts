// The `gpu` config section: which collector, how often, which hosts serve which models, and what a GPU-hour costs.
// Self-contained (no import from config/) because config/schema.ts imports this file.
import { z } from 'zod';
import { DURATION_PATTERN, durationMs, durationSchema, timerDurationSchema } from '../time.js';

const duration = durationSchema;

/** A USD price per GPU-hour, as its message says it (not zod's "Too small: expected number to be >=0"). */
const gpuHourPriceSchema = z.number({ error: 'USD per GPU-hour, 0 or more, e.g. 2.49' }).nonnegative({
  error: 'USD per GPU-hour, 0 or more, e.g. 2.49',
});
/** A 0..1 ratio, as the alert rules' GPU thresholds say it: 80 for 80% is refused with the form it takes. */
const ratioSchema = (example: string) => {
  const error = `a ratio from 0 to 1 (${example})`;
  return z.number({ error }).min(0, { error }).max(1, { error });
};

export const gpuHostSchema = z
  .object({
    /** Host name as the collector reports it (this host's name, or the DCGM exporter's `Hostname`). */
    host: z.string().min(1),
    /** Providers (config `providers[].name`) whose traffic this host serves. */
    providers: z.array(z.string().min(1)).default([]),
    /** Model names or `*` patterns this host serves. */
    models: z.array(z.string().min(1)).default([]),
    /** USD per GPU-hour on this host; overrides `gpu.pricePerGpuHour`. */
    gpuHourPrice: gpuHourPriceSchema.optional(),
  })
  .strict();

export const dcgmTargetSchema = z.union(
  [
    z.url({ protocol: /^https?$/, message: 'an absolute http(s) URL such as http://gpu-node-1:9400/metrics' }),
    z
      .object({
        url: z.url({ protocol: /^https?$/, message: 'an absolute http(s) URL such as http://gpu-node-1:9400/metrics' }),
        /** Host name to report instead of the exporter's `Hostname` label (in Kubernetes that is the pod name). */
        host: z.string().min(1).optional(),
      })
      .strict(),
  ],
  { error: 'an exporter URL such as http://gpu-node-1:9400/metrics, or { url, host }' },
);

// zod runs these checks on a value the duration schema already refused (it is reported at its path): such a value is
// left to that report, as durationMs would throw on it and stop the whole parse with no path (QA33).
const isDuration = (d: number | string): boolean => typeof d === 'number' || DURATION_PATTERN.test(d);

export const gpuConfigSchema = z
  .object({
    /** auto: nvidia-smi on this host plus every `dcgmUrls` exporter; none: no GPU collection. */
    collector: z.enum(['auto', 'nvidia-smi', 'dcgm', 'none']).default('auto'),
    interval: timerDurationSchema
      .default('15s')
      .refine((d) => !isDuration(d) || durationMs(d) >= 100, 'at least 100ms'),
    /** A poll running longer than this is aborted and counted as a failure. */
    timeout: timerDurationSchema.default('5s').refine((d) => !isDuration(d) || durationMs(d) >= 10, 'at least 10ms'),
    nvidiaSmiPath: z.string().min(1).default('nvidia-smi'),
    /** Name of this host in the `host` label (default: the OS host name). */
    hostname: z.string().min(1).optional(),
    dcgmUrls: z.array(dcgmTargetSchema).default([]),
    hosts: z.array(gpuHostSchema).default([]),
    /** USD per GPU-hour for hosts without their own `gpuHourPrice`. */
    pricePerGpuHour: gpuHourPriceSchema.optional(),
    thresholds: z
      .object({
        /** Average utilization below this (0..1) over the viewed window raises `low_utilization`. */
        lowUtilization: ratioSchema('0.8 for 80%').default(0.8),
        /** Memory used / total above this (0..1) raises `high_memory`. */
        highMemory: ratioSchema('0.95 for 95%').default(0.95),
      })
      .strict()
      .prefault({}),
    retention: z
      .object({
        raw: duration.default('2d'),
        minute: duration.default('30d'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.hosts.forEach((h, i) => {
      if (seen.has(h.host))
        ctx.addIssue({ code: 'custom', path: ['hosts', i, 'host'], message: `duplicate host "${h.host}"` });
      seen.add(h.host);
    });
  });

export type GpuConfig = z.infer<typeof gpuConfigSchema>;
export type GpuHostConfig = z.infer<typeof gpuHostSchema>;
export type DcgmTarget = z.infer<typeof dcgmTargetSchema>;
