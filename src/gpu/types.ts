// What a GPU collector reports, and the one interface every collector (nvidia-smi, DCGM exporter, ...) implements.

/** One reading of one GPU (or one MIG instance), in base units. */
export interface GpuSample {
  /** Host the GPU sits in (this host's name for nvidia-smi, the exporter's `Hostname` for DCGM). */
  host: string;
  /** The GPU's index on its host as a string ("0"), or "index:instance" for a MIG instance. Used as the `gpu` label. */
  gpu: string;
  uuid: string | null;
  name: string | null;
  /** Busy fraction 0..1; null where the device does not report it (`[N/A]`, MIG). */
  utilization: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  temperatureC: number | null;
  powerW: number | null;
  /** Epoch ms of the reading. */
  at: number;
}

export type CollectorKind = 'nvidia-smi' | 'dcgm';

/**
 * A source of GPU readings. `collect` resolves with one sample per GPU, rejects with `GpuUnavailableError` when the
 * source has no GPU to read (no driver, no device, no binary), and with any other error when the read failed.
 * It must stop work promptly when `signal` aborts.
 */
export interface GpuCollector {
  readonly kind: CollectorKind;
  /** What this instance reads: "local" for nvidia-smi, the URL for a DCGM exporter. */
  readonly source: string;
  collect(signal: AbortSignal): Promise<GpuSample[]>;
  /**
   * Set by `collect` when it resolved with the GPUs it could read but not all of them (nvidia-smi's "Unable to
   * determine the device handle" for a GPU fallen off the bus): what it could not read; null or absent otherwise.
   */
  readonly warning?: string | null;
  /** Set with `warning`: how many GPUs it could not read (0 or absent when it read them all). */
  readonly unreadable?: number;
}

/** The source works but there is no GPU behind it; a state to show, not a failure to count. */
export class GpuUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'GpuUnavailableError';
  }
}

export const MIB = 1024 * 1024;
