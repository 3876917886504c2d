// `llmscope quality score --input FILE.jsonl [--output FILE]`: offline hallucination scoring of JSONL records.
// A progress bar goes to stderr for long files (when stderr is a terminal); bad lines are reported as FILE:LINE and
// skipped, never a crash, and make the exit code 1 (the good lines are still written).
import { createWriteStream, type WriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
// the default alone: the evaluator (and its model) is loaded by the action, when a file is scored
import { DEFAULT_GROUNDING_THRESHOLD } from './evaluators/threshold.js';
import type { KnowledgeBase } from './knowledge.js';
import type { ScoreLimits } from './score.js';

interface ScoreOptions {
  input: string;
  output?: string;
  knowledge?: string;
  threshold: string;
  nliModel?: string;
  config?: string;
  /** false with --no-limits. */
  limits: boolean;
}

/** Files above this size get a progress bar. */
const BAR_BYTES = 256 * 1024;

export interface QualityCliIo {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
  /** Sets the exit code (default: process.exitCode). */
  setExitCode?: (code: number) => void;
}

export function registerQualityCommand(
  program: Command,
  io: QualityCliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    setExitCode: (code) => {
      process.exitCode = code;
    },
  },
): void {
  const quality = program.command('quality').description('response quality: offline hallucination scoring');
  quality
    .command('score')
    .description(
      'score {id, context?, question?, response} JSON lines for hallucination; adds hallucination_score, verdict, claims',
    )
    .requiredOption('--input <file>', 'JSON Lines file to score')
    .option('--output <file>', 'where to write the scored lines (default: stdout)')
    .option(
      '--knowledge <dir>',
      'folder of .txt/.md/.jsonl documents to check claims against, besides each line’s context',
    )
    .option(
      '--threshold <t>',
      'calibrated probability of hallucination at or above which a response fails (0..1)',
      String(DEFAULT_GROUNDING_THRESHOLD),
    )
    .option(
      '--nli-model <file>',
      'an ONNX NLI cross-encoder to run too (its tokenizer.json beside it); see docs/quality.md',
    )
    .option(
      '-c, --config <file>',
      'read each line as the recorder does: its first quality.maxChars characters of response and maxContextChars of context',
    )
    .option('--no-limits', 'with --config, read every line whole')
    .action(async (o: ScoreOptions) => {
      // loaded here, not at the top: `llmscope --help` and the other commands need none of it
      const [{ progressBar }, { KnowledgeBase }, { NliEvaluator }, { createScorer, scoreFile }] = await Promise.all([
        import('../cli/progress.js'),
        import('./knowledge.js'),
        import('./nli/evaluator.js'),
        import('./score.js'),
      ]);
      const threshold = Number(o.threshold);
      if (!(threshold >= 0 && threshold <= 1))
        throw new Error(`--threshold must be a number from 0 to 1, got "${o.threshold}"`);
      // The recorder's limits (decision 135): only from a config named here, so that a file scored without one is
      // read whole as before.
      let limits: ScoreLimits | undefined;
      if (o.config && o.limits) {
        const [{ loadConfig }, { maxContextChars }] = await Promise.all([
          import('../config/load.js'),
          import('./service.js'),
        ]);
        const q = loadConfig({ file: o.config }).quality;
        limits = { maxChars: q.maxChars, maxContextChars: maxContextChars(q) };
      }
      const input = await stat(o.input).catch(() => {
        throw new Error(`cannot read --input ${o.input}: no such file`);
      });
      if (input.isDirectory()) throw new Error(`cannot read --input ${o.input}: a folder, not a file`);
      let knowledge: KnowledgeBase | undefined;
      if (o.knowledge) {
        const dir = o.knowledge;
        knowledge = await KnowledgeBase.fromFolder(dir).catch((err: NodeJS.ErrnoException) => {
          const why = err.code === 'ENOENT' ? 'no such folder' : err.code === 'ENOTDIR' ? 'not a folder' : err.message;
          throw new Error(`cannot read --knowledge ${dir}: ${why}`);
        });
        for (const w of knowledge.warnings) io.stderr.write(`knowledge: ${w}\n`);
        io.stderr.write(`knowledge: ${knowledge.size} passages from ${o.knowledge}\n`);
      }
      const out: Writable = o.output ? await openOutput(o.output) : io.stdout;
      const size = input.size;
      // progressBar: drawn only on a terminal, and it gives the terminal its cursor back on Ctrl-C
      const drawn =
        size > BAR_BYTES
          ? progressBar('scoring [{bar}] {percentage}% | {value}/{total} KiB | ETA {eta}s', {
              stream: io.stderr as NodeJS.WriteStream,
            })
          : null;
      const bar = drawn?.shown ? drawn : null;
      bar?.start(Math.ceil(size / 1024));
      const badLines: string[] = [];
      const t0 = performance.now();
      const nli = o.nliModel ? await NliEvaluator.load({ model: o.nliModel }) : undefined;
      const scorer = createScorer({ knowledge, threshold, nli, limits });
      const r = await scoreFile(o.input, out, scorer, {
        onProgress: (bytes) => bar?.update(Math.ceil(bytes / 1024)),
        onBadLine: (line, error) => {
          const msg = `${o.input}:${line}: ${error}`;
          if (bar) badLines.push(msg);
          else io.stderr.write(`${msg}\n`);
        },
      });
      bar?.stop();
      await nli?.close();
      for (const m of badLines) io.stderr.write(`${m}\n`);
      if (o.output)
        await new Promise<void>((resolve, reject) =>
          (out as ReturnType<typeof createWriteStream>).end((err?: Error | null) => (err ? reject(err) : resolve())),
        );
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      io.stderr.write(
        `scored ${r.scored} response(s) in ${s} s: ${r.failed} flagged, ${r.bad.length} bad line(s)${o.output ? ` → ${o.output}` : ''}\n`,
      );
      if (limits)
        io.stderr.write(
          `cut to ${o.config}'s limits: ${scorer.cut.response} response(s) to quality.maxChars ${limits.maxChars}, ${scorer.cut.context} context(s) to maxContextChars ${limits.maxContextChars} (past the cut a claim is not checked; --no-limits reads them whole)\n`,
        );
      // Bad lines are input errors: the good lines are still scored and written, but the run does not pass.
      if (r.bad.length > 0) {
        io.stderr.write(
          `${o.input}: ${r.bad.length} line(s) could not be scored (listed above); fix them and score again\n`,
        );
        io.setExitCode?.(1);
      }
    });
}

/**
 * The --output file, opened before any scoring: a folder that does not exist was an unhandled 'error' event (a stack
 * trace) once the first line was written. A later write error reaches the stream's end() callback instead.
 */
async function openOutput(file: string): Promise<WriteStream> {
  const s = createWriteStream(file);
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('open', () => resolve());
      s.once('error', reject);
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such folder'
        : code === 'EISDIR'
          ? 'a folder, not a file'
          : code === 'EACCES'
            ? 'permission denied'
            : (err as Error).message;
    throw new Error(`cannot write --output ${file}: ${why}`);
  }
  s.on('error', () => {});
  return s;
}
