// The NLI model slot (`quality.evaluators.nli: { model: PATH }`): a user-supplied ONNX cross-encoder (a DeBERTa or
// MiniLM NLI model, exported with its tokenizer.json) judges each answer sentence (hypothesis) against each chunk
// of the knowledge (premise). A sentence's support is its best entailment over the chunks; the answer's score is
// 1 − the weakest sentence's support. Pairs run in padded batches on a worker thread, within a latency budget.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { claimsOf } from '../evaluators/grounding.js';
import type { ClaimResult, EvaluationInput, EvaluationResult, Evaluator } from '../evaluators/types.js';
import { contentStems, sentences } from '../text.js';
import { type Batch, OnnxRunner } from './runner.js';
import { PairTokenizer } from './tokenizer.js';

export interface NliOptions {
  /** Path of the .onnx file. */
  model: string;
  /** Its tokenizer.json (default: tokenizer.json beside the model). */
  tokenizer?: string;
  /** Which logit is "entailment" for a 3-label model (default: from config.json's id2label beside the model). */
  entailmentIndex?: number;
  /** Tokens per pair, premise cut first (default 512). */
  maxLength?: number;
  /** Pairs per model run (default 8). */
  batchSize?: number;
  /** Longest one evaluation may take; past it the verdict is `unknown` (default 2000 ms). */
  budgetMs?: number;
  /** Score at or above which the verdict is `fail` (default 0.5). */
  threshold?: number;
  /** Knowledge chunks compared per answer, the ones sharing most words with it (default 8). */
  maxChunks?: number;
  /** Words per knowledge chunk, whole sentences (default 200). */
  chunkWords?: number;
}

const softmax = (xs: readonly number[]): number[] => {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

/** The probability that the premise entails the hypothesis, from one row of logits. */
export function entailment(row: readonly number[], entailmentIndex: number): number {
  if (row.length === 1) return 1 / (1 + Math.exp(-(row[0] as number)));
  return softmax(row)[row.length === 2 ? 1 : entailmentIndex] as number;
}

/** Knowledge cut into chunks of whole sentences of about `words` words. */
export function chunksOf(context: readonly string[], words: number): string[] {
  const out: string[] = [];
  for (const passage of context) {
    let cur: string[] = [];
    let n = 0;
    for (const s of sentences(passage)) {
      const w = s.text.split(/\s+/).length;
      if (n + w > words && cur.length > 0) {
        out.push(cur.join(' '));
        cur = [];
        n = 0;
      }
      cur.push(s.text);
      n += w;
    }
    if (cur.length > 0) out.push(cur.join(' '));
  }
  return out;
}

function entailmentIndexFrom(modelPath: string): number | undefined {
  const cfg = join(dirname(modelPath), 'config.json');
  if (!existsSync(cfg)) return undefined;
  try {
    const id2label = JSON.parse(readFileSync(cfg, 'utf8')).id2label as Record<string, string> | undefined;
    const hit = Object.entries(id2label ?? {}).find(([, l]) => /entail/i.test(l));
    return hit ? Number(hit[0]) : undefined;
  } catch {
    return undefined;
  }
}

export class NliEvaluator implements Evaluator {
  readonly name = 'nli';

  private constructor(
    private readonly runner: OnnxRunner,
    private readonly tokenizer: PairTokenizer,
    private readonly opts: Required<Omit<NliOptions, 'tokenizer' | 'entailmentIndex'>> & {
      entailmentIndex: number | undefined;
    },
  ) {}

  /** Loads the model and its tokenizer; rejects with what is missing or the wrong shape. */
  static async load(o: NliOptions): Promise<NliEvaluator> {
    // The model first: a mistyped path names the model, not the tokenizer.json that is then missing beside it.
    if (!existsSync(o.model)) throw new Error(`NLI model ${o.model}: no such file (quality.evaluators.nli.model)`);
    const tokenizer = PairTokenizer.fromFile(o.tokenizer ?? join(dirname(o.model), 'tokenizer.json'));
    const runner = await OnnxRunner.start(o.model);
    const labels = runner.info.outputShape?.[1];
    const entailmentIndex = o.entailmentIndex ?? entailmentIndexFrom(o.model);
    if (labels === 3 && entailmentIndex === undefined) {
      await runner.close();
      throw new Error(
        `NLI model ${o.model}: 3 labels and no way to tell which is entailment — set quality.evaluators.nli.entailmentIndex or put its config.json (id2label) beside it`,
      );
    }
    return new NliEvaluator(runner, tokenizer, {
      model: o.model,
      entailmentIndex,
      maxLength: o.maxLength ?? 512,
      batchSize: o.batchSize ?? 8,
      budgetMs: o.budgetMs ?? 2000,
      threshold: o.threshold ?? 0.5,
      maxChunks: o.maxChunks ?? 8,
      chunkWords: o.chunkWords ?? 200,
    });
  }

  close(): Promise<void> {
    return this.runner.close();
  }

  /** Entailment probability of each (premise, hypothesis) pair, in padded batches. */
  async score(pairs: readonly [string, string][], deadline = Number.POSITIVE_INFINITY): Promise<(number | null)[]> {
    const out: (number | null)[] = new Array(pairs.length).fill(null);
    for (let i = 0; i < pairs.length; i += this.opts.batchSize) {
      if (performance.now() > deadline) break;
      const enc = pairs
        .slice(i, i + this.opts.batchSize)
        .map(([p, h]) => this.tokenizer.encodePair(p, h, this.opts.maxLength));
      const seq = Math.max(...enc.map((e) => e.ids.length));
      const b: Batch = {
        rows: enc.length,
        seq,
        ids: new BigInt64Array(enc.length * seq).fill(BigInt(this.tokenizer.padId)),
        mask: new BigInt64Array(enc.length * seq),
        typeIds: new BigInt64Array(enc.length * seq),
      };
      enc.forEach((e, r) => {
        e.ids.forEach((id, k) => {
          b.ids[r * seq + k] = BigInt(id);
          b.mask[r * seq + k] = 1n;
          b.typeIds[r * seq + k] = BigInt(e.typeIds[k] as number);
        });
      });
      const { data, dims } = await this.runner.run(b);
      const labels = dims[1] ?? 1;
      if (dims.length !== 2 || dims[0] !== enc.length || ![1, 2, 3].includes(labels))
        throw new Error(
          `NLI model ${this.opts.model}: wrong shape — output is [${dims.join(', ')}], needs [${enc.length}, 1|2|3]`,
        );
      for (let r = 0; r < enc.length; r++)
        out[i + r] = entailment(
          Array.from(data.subarray(r * labels, (r + 1) * labels)),
          this.opts.entailmentIndex ?? 2,
        );
    }
    return out;
  }

  async evaluate(input: EvaluationInput): Promise<EvaluationResult> {
    const t0 = performance.now();
    const base = { evaluator: this.name, durationMs: 0 };
    try {
      const claims = claimsOf(input.response).filter((c) => contentStems(c).length > 0);
      const ctx = [...input.context];
      if (input.knowledge && input.knowledge.size > 0)
        for (const hit of input.knowledge.search(contentStems(input.response), 3)) ctx.push(hit.doc.text);
      let chunks = chunksOf(ctx, this.opts.chunkWords).map((text, i) => ({ id: `chunk#${i}`, text }));
      if (chunks.length === 0 || claims.length === 0)
        return {
          ...base,
          verdict: 'unknown',
          score: 0,
          evidence: [],
          claims: [],
          explanation: chunks.length === 0 ? 'no knowledge to check against' : 'no checkable claim',
          durationMs: performance.now() - t0,
        };
      if (chunks.length > this.opts.maxChunks) {
        // The chunks sharing most content words with the answer.
        const answer = new Set(contentStems(input.response));
        const overlap = (t: string) => contentStems(t).filter((s) => answer.has(s)).length;
        chunks = chunks
          .map((c) => ({ c, o: overlap(c.text) }))
          .sort((a, b) => b.o - a.o || a.c.id.localeCompare(b.c.id))
          .slice(0, this.opts.maxChunks)
          .map((x) => x.c);
      }
      const pairs: [string, string][] = [];
      for (const claim of claims) for (const c of chunks) pairs.push([c.text, claim]);
      const probs = await this.score(pairs, t0 + this.opts.budgetMs);
      const done = probs.filter((p) => p !== null).length;
      if (done < pairs.length)
        return {
          ...base,
          verdict: 'unknown',
          score: 0,
          evidence: [],
          claims: [],
          explanation: `latency budget of ${this.opts.budgetMs} ms spent after ${done} of ${pairs.length} premise–hypothesis pairs`,
          durationMs: performance.now() - t0,
        };
      const results: ClaimResult[] = claims.map((text, k) => {
        let best = 0;
        let at = 0;
        chunks.forEach((_, j) => {
          const p = probs[k * chunks.length + j] as number;
          if (p > best) {
            best = p;
            at = j;
          }
        });
        const score = Math.round((1 - best) * 1000) / 1000;
        const chunk = chunks[at] as { id: string; text: string };
        return {
          text,
          status: score >= this.opts.threshold ? 'unsupported' : 'supported',
          score,
          evidence: [
            {
              source: 'context',
              id: chunk.id,
              text: chunk.text.slice(0, 400),
              score: Math.round(best * 1000) / 1000,
              note: 'best entailment',
            },
          ],
          reasons: [`entailment ${best.toFixed(3)} at best (${chunk.id})`],
        };
      });
      let worst = 0;
      results.forEach((r, i) => {
        if (r.score > (results[worst] as ClaimResult).score) worst = i;
      });
      const w = results[worst] as ClaimResult;
      const score = w.score;
      return {
        ...base,
        verdict: score >= this.opts.threshold ? 'fail' : 'pass',
        score,
        evidence: w.evidence,
        claims: results,
        explanation: `${results.filter((r) => r.status !== 'supported').length} of ${results.length} claim(s) not entailed by any of ${chunks.length} knowledge chunk(s); worst claim: sentence ${worst + 1} (score ${score}); evidence: ${w.evidence[0]?.id}`,
        durationMs: performance.now() - t0,
      };
    } catch (err) {
      return {
        ...base,
        verdict: 'error',
        score: 0,
        evidence: [],
        explanation: `evaluator failed: ${(err as Error).message}`,
        durationMs: performance.now() - t0,
      };
    }
  }
}
