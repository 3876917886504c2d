// Runs a user-supplied ONNX cross-encoder on a worker thread with onnxruntime-node, so inference never holds the
// event loop. The worker is plain JavaScript (eval), so it runs the same from src/ under tests and from dist/.
import { existsSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createRequire } = require('node:module');
let ort;
let session;
(async () => {
  try {
    ort = createRequire(workerData.base)('onnxruntime-node');
  } catch (e) {
    parentPort.postMessage({ type: 'error', message: 'onnxruntime-node is not installed (npm install onnxruntime-node): ' + (e && e.message || e) });
    return;
  }
  try {
    session = await ort.InferenceSession.create(workerData.modelPath, { intraOpNumThreads: workerData.threads, executionProviders: ['cpu'] });
    parentPort.postMessage({
      type: 'ready',
      inputs: session.inputNames,
      outputs: session.outputNames,
      outputShape: (session.outputMetadata && session.outputMetadata[0] && session.outputMetadata[0].shape) || null,
    });
  } catch (e) {
    parentPort.postMessage({ type: 'error', message: String(e && e.message || e) });
  }
})();
parentPort.on('message', async (m) => {
  try {
    const feeds = {};
    for (const name of Object.keys(m.feeds)) feeds[name] = new ort.Tensor('int64', m.feeds[name].data, m.feeds[name].dims);
    const out = await session.run(feeds);
    const o = out[session.outputNames[0]];
    parentPort.postMessage({ type: 'result', id: m.id, data: Float32Array.from(o.data), dims: o.dims });
  } catch (e) {
    parentPort.postMessage({ type: 'result', id: m.id, error: String(e && e.message || e) });
  }
});
`;

export interface ModelInfo {
  inputs: string[];
  outputs: string[];
  /** Declared output shape (dimensions may be names), or null when the model does not say. */
  outputShape: (number | string)[] | null;
}

export interface Batch {
  /** Row-major token ids, [rows, seq], padded. */
  ids: BigInt64Array;
  mask: BigInt64Array;
  typeIds: BigInt64Array;
  rows: number;
  seq: number;
}

type Pending = { resolve: (r: { data: Float32Array; dims: number[] }) => void; reject: (e: Error) => void };

export class OnnxRunner {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly worker: Worker,
    readonly info: ModelInfo,
  ) {
    worker.on('message', (m: { type: string; id: number; data?: Float32Array; dims?: number[]; error?: string }) => {
      if (m.type !== 'result') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      // Held only while work is in flight, so an idle model never keeps the process alive.
      if (this.pending.size === 0) this.worker.unref();
      if (m.error) p.reject(new Error(`NLI model run failed: ${m.error}`));
      else p.resolve({ data: m.data as Float32Array, dims: m.dims as number[] });
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => this.failAll(new Error('the NLI worker stopped')));
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Starts the worker and loads the model; rejects with a message that says what is wrong with the file. */
  static async start(modelPath: string, opts: { threads?: number; timeoutMs?: number } = {}): Promise<OnnxRunner> {
    if (!existsSync(modelPath)) throw new Error(`NLI model ${modelPath}: no such file (quality.evaluators.nli.model)`);
    if (!statSync(modelPath).isFile()) throw new Error(`NLI model ${modelPath}: not a file`);
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { modelPath, base: import.meta.url, threads: opts.threads ?? 1 },
    });
    const info = await new Promise<ModelInfo>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`NLI model ${modelPath}: not loaded within ${opts.timeoutMs ?? 60_000} ms`)),
        opts.timeoutMs ?? 60_000,
      );
      worker.once('message', (m: { type: string; message?: string } & ModelInfo) => {
        clearTimeout(timer);
        if (m.type === 'ready') resolve({ inputs: m.inputs, outputs: m.outputs, outputShape: m.outputShape });
        else reject(new Error(`NLI model ${modelPath}: cannot load it (${m.message})`));
      });
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`NLI model ${modelPath}: worker failed (${err.message})`));
      });
    }).catch(async (err) => {
      await worker.terminate();
      throw err;
    });
    const missing = ['input_ids', 'attention_mask'].filter((n) => !info.inputs.includes(n));
    if (missing.length > 0) {
      await worker.terminate();
      throw new Error(
        `NLI model ${modelPath}: wrong shape — it has inputs ${info.inputs.join(', ')}, needs ${missing.join(', ')} (a cross-encoder exported with its tokenizer's input names)`,
      );
    }
    const last = info.outputShape?.[info.outputShape.length - 1];
    if (
      info.outputShape &&
      (info.outputShape.length !== 2 || (typeof last === 'number' && ![1, 2, 3].includes(last)))
    ) {
      await worker.terminate();
      throw new Error(
        `NLI model ${modelPath}: wrong shape — output ${info.outputs[0]} is [${info.outputShape.join(', ')}], needs [batch, 1|2|3] logits`,
      );
    }
    worker.unref();
    return new OnnxRunner(worker, info);
  }

  /** Runs one padded batch; the logits, [rows, labels]. */
  run(b: Batch): Promise<{ data: Float32Array; dims: number[] }> {
    const id = this.nextId++;
    const feeds: Record<string, { data: BigInt64Array; dims: number[] }> = {
      input_ids: { data: b.ids, dims: [b.rows, b.seq] },
      attention_mask: { data: b.mask, dims: [b.rows, b.seq] },
    };
    if (this.info.inputs.includes('token_type_ids')) feeds.token_type_ids = { data: b.typeIds, dims: [b.rows, b.seq] };
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, feeds });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
