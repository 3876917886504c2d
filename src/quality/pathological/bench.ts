// The quality evaluators on hostile text (`npm run bench:quality-pathological`): each evaluator (and the refusal
// classifier, the judge's reply parser, the knowledge base's chunker) runs on inputs crafted for the patterns and
// loops it uses, at 1K, 10K and 100K characters; it prints ms per call and the growth from one size to the next
// (10× the text: ~10 is linear, ~100 quadratic). A shape whose call passes STOP_MS at one size is not run at the
// next (its growth is already the finding). `--sizes=1000,10000` picks the sizes; `--only=substr` the shapes;
// `--write` puts the table in bench/RESULTS.md's "## Quality on hostile text" section (`--machine=TEXT` names the host).
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { SourceAttributionEvaluator } from '../evaluators/attribution.js';
import { SelfConsistencyEvaluator } from '../evaluators/consistency.js';
import { GroundingEvaluator } from '../evaluators/grounding.js';
import { parseJudgeReply } from '../evaluators/judge.js';
import type { EvaluationInput } from '../evaluators/types.js';
import { chunkText, KnowledgeBase } from '../knowledge.js';
import { classifyRefusalFully } from '../refusal.js';
import { sentences, words } from '../text.js';

const STOP_MS = 500;

/** Repeats `unit` to `n` characters. */
const fill = (unit: string, n: number): string => unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
/** Sentences `unit(0)`, `unit(1)`, … to `n` characters: every one different. */
const numbered = (unit: (i: number) => string, n: number): string => {
  const out: string[] = [];
  for (let i = 0, len = 0; len < n; i++) {
    const u = unit(i);
    out.push(u);
    len += u.length;
  }
  return out.join('').slice(0, n);
};

const PROSE =
  'The Eiffel Tower was completed in 1889 for the World Fair in Paris. It is 330 metres tall and was designed by ' +
  "Gustave Eiffel's company, which also built bridges across France. ";
const CONTEXT = [`[1] ${PROSE}`, `[2] ${PROSE.replace('1889', '1887')}`];

interface Shape {
  name: string;
  /** What it aims at. */
  aims: string;
  run: (n: number) => () => unknown;
}

const grounding = new GroundingEvaluator({ minContextWords: 20 });
const attribution = new SourceAttributionEvaluator({ minContextWords: 20 });
const consistency = new SelfConsistencyEvaluator();

const answer = (shape: string): EvaluationInput => ({ context: CONTEXT, response: `${PROSE}${shape}` });
const inContext = (shape: string): EvaluationInput => ({
  context: [...CONTEXT, shape],
  response: 'The Eiffel Tower was completed in 1889 and it is 330 metres tall [1].',
});

const SHAPES: Shape[] = [
  // Grounding, the answer
  { name: 'grounding: prose', aims: 'baseline (ordinary sentences)', run: (n) => g(answer(fill(PROSE, n))) },
  {
    name: 'grounding: one lower-case word',
    aims: 'camelCase split /[A-Za-z]*[a-z][A-Z][A-Za-z]*/',
    run: (n) => g(answer(`iPhone ${fill('a', n)}`)),
  },
  {
    name: 'grounding: one capitals word',
    aims: 'initials /\\p{Lu}[\\p{L}’-]*(?:\\s+...\\p{Lu}...)+/',
    run: (n) => g(answer(`New York ${fill('A', n)}`)),
  },
  {
    name: 'grounding: open bracket of years',
    aims: 'date range /\\([^()]*\\b\\d{3,4}\\s*[–—-]\\s*[^()]*\\b\\d{3,4}\\s*\\)/',
    run: (n) => g(answer(`(${fill('1889- ', n)}`)),
  },
  {
    name: 'grounding: open bracket, born',
    aims: 'born /\\((?:[^()]*;\\s*)?(?:born|b\\.)\\s[^()]*\\d{3,4}[^()]*\\)/',
    run: (n) => g(answer(`(born ${fill('1889 ', n)}`)),
  },
  {
    name: 'grounding: many brackets of years',
    aims: 'date range tried from every "("',
    run: (n) => g(answer(fill('(1889 - 1890 ', n))),
  },
  {
    name: 'grounding: run of dots',
    aims: 'sentence end /[.!?]+["\')\\]]*(?=\\s|$)/',
    run: (n) => g(answer(`a${fill('.', n)}a`)),
  },
  { name: 'grounding: hyphen chain', aims: 'tokens, hyphenated stems', run: (n) => g(answer(fill('Ab-', n))) },
  {
    name: 'grounding: one sentence, no stop',
    aims: 'claim length',
    run: (n) => g(answer(fill('tower paris metres ', n))),
  },
  { name: 'grounding: table rows', aims: 'proseOf table lines', run: (n) => g(answer(fill('| a | 1889 |\n', n))) },
  // Grounding, the context
  {
    name: 'grounding: claims × context sentences',
    aims: 'each claim against the evidence (answer n, context 4n)',
    run: (n) =>
      g({
        context: [fill(`${PROSE}The bridge at Garabit spans 565 metres and opened in 1884. `, 4 * n)],
        response: fill('The tower in Paris opened in 1884 and spans 565 metres over the river. ', n),
      }),
  },
  {
    name: 'grounding: claims × distinct sentences',
    aims: 'each claim against numbered sentences sharing its words (answer n, context 4n)',
    run: (n) =>
      g({
        context: [numbered((i) => `The Paris tower ${i + 7} opened. `, 4 * n)],
        response: numbered((i) => `The Paris tower ${i * 3 + 1} opened. `, n),
      }),
  },
  {
    name: 'grounding: a figure in every sentence',
    aims: 'a claim’s figure stated in sentences about something else (answer n, context 4n)',
    run: (n) =>
      g({
        context: [numbered((i) => `In 1884 nothing happened here ${i}. `, 4 * n)],
        response: fill('The tower opened in 1884. ', n),
      }),
  },
  { name: 'grounding: context prose', aims: 'evidence pool', run: (n) => g(inContext(fill(PROSE, n))) },
  {
    name: 'grounding: context one word',
    aims: 'camelCase / capitals in the context',
    run: (n) => g(inContext(`iPhone New York ${fill('A', n)}`)),
  },
  {
    name: 'grounding: context camelCase words',
    aims: 'camelCase split in each 2,000-character piece',
    run: (n) => g(inContext(fill(`iPhone ${'a'.repeat(1990)} `, n))),
  },
  {
    name: 'grounding: context brackets',
    aims: 'date range in the context',
    run: (n) => g(inContext(`(${fill('1889- ', n)}`)),
  },
  // Attribution
  {
    name: 'attribution: hyphen chain',
    aims: 'document id /\\b[\\w-]+\\.(?:md|...)\\b/',
    run: (n) => a(answer(`[1] ${fill('a-', n)}`)),
  },
  { name: 'attribution: DOI of dots', aims: 'DOI tail', run: (n) => a(answer(`10.1000/${fill('.', n)} x`)) },
  { name: 'attribution: open quote', aims: 'quote /"([^"\\n]{20,400})"/', run: (n) => a(answer(fill('"a ', n))) },
  {
    name: 'attribution: open marker',
    aims: 'marker /\\[(\\d{1,3}(?:\\s*[,–-]\\s*\\d{1,3})*)\\]/',
    run: (n) => a(answer(`.[${fill('1, ', n)}`)),
  },
  {
    name: 'attribution: many markers',
    aims: '[n] per sentence × sources',
    run: (n) => a(answer(fill('Paris [1][2]. ', n))),
  },
  {
    name: 'attribution: quotes × context',
    aims: 'each quote looked for in the whole context',
    run: (n) => a({ context: [fill(PROSE, 4 * n)], response: fill('"tower built over bridges in France" and ', n) }),
  },
  {
    name: 'attribution: wrong markers × sources',
    aims: 'each marker whose source does not back it tried against every source',
    run: (n) =>
      a({
        context: [fill(Array.from({ length: 999 }, (_, i) => `[${i + 1}] Paris tower.\n`).join(''), n)],
        response: fill('Rome has a big old bridge [1]. ', n),
      }),
  },
  {
    name: 'attribution: context sources',
    aims: 'numbered sources in the context',
    run: (n) => a(inContext(fill('[1] Paris tower. ', n))),
  },
  { name: 'attribution: context blanks', aims: 'source label', run: (n) => a(inContext(`Source${fill(' ', n)}`)) },
  // Consistency
  { name: 'consistency: prose', aims: 'baseline; sentence pairs', run: (n) => c(answer(fill(PROSE, n))) },
  {
    name: 'consistency: capital chain',
    aims: 'named figure /(?:\\b(\\p{Lu}[\\p{L}’-]*)(\\.?)|#)\\s*(\\d...)/',
    run: (n) => c(answer(fill('A-', n))),
  },
  {
    name: 'consistency: capital chain, figure',
    aims: 'label numbers of a sentence with a figure',
    run: (n) => c(answer(`The tower is 330 metres tall. It is 330 metres ${fill('A-', n)}.`)),
  },
  {
    name: 'consistency: two sentences of figures',
    aims: 'figure pairs (mentions × mentions)',
    run: (n) => c(answer(`${fill('tower 1234 metres ', n / 2)}.\n${fill('tower 1235 metres ', n / 2)}.`)),
  },
  {
    name: 'consistency: figures',
    aims: 'figure pairs',
    run: (n) => c(answer(fill('The tower is 330 metres tall. ', n))),
  },
  {
    name: 'consistency: named figures',
    aims: 'name + figure pairs',
    run: (n) => c(answer(fill('Model X 12 costs 5 dollars. ', n))),
  },
  // Refusal, judge reply, knowledge base
  {
    name: 'refusal: blanks after decline',
    aims: 'refusal rules',
    run: (n) => () => classifyRefusalFully(`I can't ${fill(' ', n)}`),
  },
  {
    name: 'refusal: JSON answer',
    aims: 'ownWords',
    run: (n) => () => classifyRefusalFully(`{"a": "${fill("I can't. ", n)}"}`),
  },
  {
    name: 'judge reply: open fence',
    aims: 'fence /```[a-z]*[ \\t]*\\n?([\\s\\S]*?)```/',
    run: (n) => () => parseJudgeReply(fill('```a ', n)),
  },
  {
    name: 'judge reply: unclosed <think>',
    aims: '<think>…</think> removal',
    run: (n) => () => parseJudgeReply(`${fill('<think>', n)}{"verdict": "pass", "score": 1}`),
  },
  { name: 'knowledge: chunk one paragraph', aims: 'chunkText', run: (n) => () => chunkText(fill(PROSE, n)) },
  { name: 'text: words of one word', aims: 'tokenizer', run: (n) => () => words(fill('1.', n)) },
  { name: 'text: sentences of dots', aims: 'sentence splitter', run: (n) => () => sentences(`a${fill('.', n)}a`) },
  {
    name: 'grounding: knowledge base',
    aims: 'BM25 over the KB',
    run: (n) => {
      const kb = KnowledgeBase.fromDocuments([{ id: 'a.md', text: fill(PROSE, 200_000) }]);
      return g({
        context: ['When was the Eiffel Tower in Paris completed, how tall is it, who designed it?'],
        response: fill(PROSE, n),
        knowledge: kb,
      });
    },
  },
];

function g(input: EvaluationInput): () => unknown {
  return () => grounding.check(input);
}
function a(input: EvaluationInput): () => unknown {
  return () => attribution.check(input);
}
function c(input: EvaluationInput): () => unknown {
  return () => consistency.evaluateNow(input);
}

/** ms per call: the median of a few runs (one when a run is slow). */
function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  const first = performance.now() - t0;
  if (first > 200) return first;
  const runs: number[] = [first];
  for (let i = 0; i < 4; i++) {
    const t = performance.now();
    fn();
    runs.push(performance.now() - t);
  }
  runs.sort((x, y) => x - y);
  return runs[2] as number;
}

const HEADING = '## Quality on hostile text';

/** Replaces (or adds, before "## Dashboard") the HEADING section of bench/RESULTS.md. */
function writeSection(file: string, section: string): void {
  const existing = readFileSync(file, 'utf8');
  const start = existing.indexOf(`\n${HEADING}\n`);
  if (start >= 0) {
    const next = existing.indexOf('\n## ', start + 1 + HEADING.length);
    writeFileSync(file, `${existing.slice(0, start + 1)}${section}${next < 0 ? '' : existing.slice(next)}`);
    return;
  }
  const at = existing.indexOf('\n## Dashboard\n');
  writeFileSync(
    file,
    at < 0 ? `${existing.trimEnd()}\n\n${section}` : `${existing.slice(0, at + 1)}${section}${existing.slice(at)}`,
  );
}

export async function main(argv: string[], repo = '.'): Promise<void> {
  const arg = (k: string) => argv.find((x) => x.startsWith(`--${k}=`))?.slice(k.length + 3);
  const sizes = (arg('sizes') ?? '1000,10000,100000').split(',').map(Number);
  const only = arg('only');
  const rows: string[] = [];
  const load = loadavg()[0] as number;
  const head = `| shape | aims at | ${sizes.map((s) => `${s / 1000}K ms`).join(' | ')} | growth |`;
  console.log(head);
  console.log(`|${' --- |'.repeat(sizes.length + 3)}`);
  for (const shape of SHAPES) {
    if (only && !shape.name.includes(only)) continue;
    shape.run(100)(); // warm-up: the first call compiles the patterns
    const ms: (number | null)[] = [];
    for (const n of sizes) {
      const prev = ms[ms.length - 1];
      if (prev !== undefined && (prev === null || prev > STOP_MS)) {
        ms.push(null);
        continue;
      }
      ms.push(time(shape.run(n)));
    }
    const growth: string[] = [];
    for (let i = 1; i < ms.length; i++) {
      const x = ms[i - 1];
      const y = ms[i];
      growth.push(x != null && y != null ? `×${(y / Math.max(x, 0.01)).toFixed(0)}` : '–');
    }
    const row = `| ${shape.name} | ${shape.aims.replace(/\|/g, '\\|')} | ${ms.map((x) => (x === null ? 'not run' : x.toFixed(x < 10 ? 2 : 0))).join(' | ')} | ${growth.join(', ')} |`;
    rows.push(row);
    console.log(row);
  }
  if (!argv.includes('--write')) return;
  const machine = arg('machine') ?? `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`;
  const section = [
    HEADING,
    '',
    `\`npm run bench:quality-pathological -- --write\` (src/quality/pathological/bench.ts): each quality check, the refusal classifier, the judge reply's parser and the knowledge base's chunker on inputs crafted for the patterns and loops they use, at ${sizes.map((x) => `${x / 1000}K`).join(', ')} characters: ms per call (median of 5, or one run when a run takes over 200 ms; a shape over ${STOP_MS} ms is not run at the next size) and the growth from one size to the next (10× the text: ×10 is linear, ×100 quadratic). ${machine}; load average ${load.toFixed(1)} at the start (shared machine: figures under a few ms are noisy).`,
    '',
    head,
    `|${' --- |'.repeat(sizes.length + 3)}`,
    ...rows,
    '',
  ].join('\n');
  writeSection(join(repo, 'bench', 'RESULTS.md'), section);
}
