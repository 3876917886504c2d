import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunksOf, entailment, NliEvaluator } from './evaluator.js';
import { tinyLogits, tinyNliModel } from './tiny-onnx.js';
import { PairTokenizer } from './tokenizer.js';

const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  'the',
  'tower',
  'was',
  'built',
  'in',
  '1889',
  'paris',
  'is',
  'tall',
  '##s',
  'gold',
  'painted',
  '.',
  'it',
];
const wordPieceJson = {
  normalizer: { type: 'BertNormalizer', lowercase: true },
  model: {
    type: 'WordPiece',
    unk_token: '[UNK]',
    continuing_subword_prefix: '##',
    vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])),
  },
  post_processor: {
    type: 'TemplateProcessing',
    pair: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '[SEP]', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
      { SpecialToken: { id: '[SEP]', type_id: 1 } },
    ],
    special_tokens: { '[CLS]': { ids: [2] }, '[SEP]': { ids: [3] } },
  },
};

describe('pair tokenizer', () => {
  it('WordPiece: lowercases, splits into pieces, unknown words to [UNK], pair template with type ids', () => {
    const t = new PairTokenizer(wordPieceJson);
    expect(t.tokenize('The Towers')).toEqual([4, 5, 13]);
    expect(t.tokenize('zebra')).toEqual([1]);
    expect(t.encodePair('The tower.', 'It is tall', 64)).toEqual({
      ids: [2, 4, 5, 16, 3, 17, 11, 12, 3],
      typeIds: [0, 0, 0, 0, 0, 1, 1, 1, 1],
    });
    // Cut to fit, longest first: the long premise gives way, the short hypothesis is kept whole.
    const cut = t.encodePair('the tower the tower the tower the tower', 'it is tall', 9);
    expect(cut.ids).toEqual([2, 4, 5, 4, 3, 17, 11, 12, 3]);
  });

  it('Unigram (SentencePiece): the most likely segmentation of each ▁word', () => {
    const t = new PairTokenizer({
      model: {
        type: 'Unigram',
        unk_id: 1,
        vocab: [
          ['[PAD]', 0],
          ['[UNK]', 0],
          ['[CLS]', 0],
          ['[SEP]', 0],
          ['▁the', -1],
          ['▁tow', -3],
          ['er', -2],
          ['▁tower', -2.5],
          ['▁', -4],
          ['t', -5],
          ['s', -3],
        ],
      },
      post_processor: { type: 'BertProcessing', cls: ['[CLS]', 2], sep: ['[SEP]', 3] },
    });
    expect(t.tokenize('the tower')).toEqual([4, 7]);
    expect(t.tokenize('towers')).toEqual([7, 10]);
    expect(t.encodePair('the', 'tower', 16)).toEqual({ ids: [2, 4, 3, 7, 3], typeIds: [0, 0, 0, 1, 1] });
  });

  it('refuses byte-level BPE and a file that is not a tokenizer, saying why', () => {
    expect(() => new PairTokenizer({ model: { type: 'BPE', vocab: {} } })).toThrow(/BPE.*not supported|not supported/);
    expect(() => new PairTokenizer({})).toThrow(/no "model" section/);
  });
});

describe('NLI model slot (tiny ONNX model built in the test)', () => {
  let dir: string;
  let nli: NliEvaluator;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmscope-nli-'));
    writeFileSync(join(dir, 'model.onnx'), tinyNliModel());
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(wordPieceJson));
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ id2label: { 0: 'CONTRADICTION', 1: 'NEUTRAL', 2: 'ENTAILMENT' } }),
    );
    nli = await NliEvaluator.load({ model: join(dir, 'model.onnx'), batchSize: 2 });
  });
  afterAll(async () => {
    await nli?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('scores pairs in padded batches on the worker exactly as the model computes them', async () => {
    const t = new PairTokenizer(wordPieceJson);
    const pairs: [string, string][] = [
      ['The tower was built in 1889.', 'It is tall.'],
      ['Paris.', 'The tower was painted gold in Paris.'],
      ['The tower is tall.', 'zebra'],
    ];
    const got = await nli.score(pairs);
    pairs.forEach(([p, h], i) => {
      const e = t.encodePair(p, h, 512);
      const want = entailment(
        tinyLogits(
          e.ids,
          e.ids.map(() => 1),
        ),
        2,
      );
      expect(got[i]).toBeCloseTo(want, 5);
    });
  });

  it('takes the best chunk per claim and the worst claim for the answer; unknown without knowledge', async () => {
    const r = await nli.evaluate({
      context: ['The tower was built in 1889. It is tall.', 'Paris is tall.'],
      response: 'The tower was built in 1889. It is painted gold.',
    });
    expect(['pass', 'fail']).toContain(r.verdict);
    expect(r.claims).toHaveLength(2);
    const worst = Math.max(...(r.claims ?? []).map((c) => c.score));
    expect(r.score).toBe(worst);
    expect(r.evidence[0]?.id).toMatch(/^chunk#\d$/);
    const none = await nli.evaluate({ context: [], response: 'The tower is tall.' });
    expect(none.verdict).toBe('unknown');
  });

  it('gives up within its latency budget: unknown, saying how far it got', async () => {
    const slow = await NliEvaluator.load({ model: join(dir, 'model.onnx'), budgetMs: 0, batchSize: 1 });
    try {
      const r = await slow.evaluate({
        context: ['The tower is tall.'],
        response: 'The tower is tall. It was built in 1889.',
      });
      expect(r.verdict).toBe('unknown');
      expect(r.explanation).toMatch(/latency budget of 0 ms spent after 0 of 2/);
    } finally {
      await slow.close();
    }
  });

  it('says clearly when the model file is missing, not ONNX, or the wrong shape', async () => {
    await expect(
      NliEvaluator.load({ model: join(dir, 'nope.onnx'), tokenizer: join(dir, 'tokenizer.json') }),
    ).rejects.toThrow(/nope\.onnx: no such file/);
    // a mistyped folder: no tokenizer.json beside it either, and the message still names the model
    await expect(NliEvaluator.load({ model: join(dir, 'typo', 'model.onnx') })).rejects.toThrow(
      /typo\/model\.onnx: no such file/,
    );
    writeFileSync(join(dir, 'junk.onnx'), 'not a model');
    await expect(NliEvaluator.load({ model: join(dir, 'junk.onnx') })).rejects.toThrow(/junk\.onnx: cannot load it/);
    writeFileSync(join(dir, 'five.onnx'), tinyNliModel([0, 0, 0, 0, 0], [0, 0, 0, 0, 0]));
    await expect(NliEvaluator.load({ model: join(dir, 'five.onnx') })).rejects.toThrow(
      /wrong shape.*\[batch, 5\].*1\|2\|3/,
    );
    await expect(
      NliEvaluator.load({ model: join(dir, 'model.onnx'), tokenizer: join(dir, 'missing.json') }),
    ).rejects.toThrow(/missing\.json: cannot read/);
  });
});

describe('chunks and entailment', () => {
  it('cuts knowledge into chunks of whole sentences', () => {
    expect(chunksOf(['One two three. Four five six. Seven.'], 4)).toEqual(['One two three.', 'Four five six. Seven.']);
  });
  it('reads 1, 2 and 3 logits', () => {
    expect(entailment([0], 0)).toBeCloseTo(0.5);
    expect(entailment([0, Math.log(3)], 0)).toBeCloseTo(0.75);
    expect(entailment([0, 0, Math.log(2)], 2)).toBeCloseTo(0.5);
  });
});

describe('quality.evaluators.nli in the module', () => {
  it('loads the configured model and runs it on sampled calls; a missing file is logged and NLI stays off', async () => {
    const { validateConfig } = await import('../../config/index.js');
    const { createApp } = await import('../../server.js');
    const { buildQualityModule } = await import('../module.js');
    const { callAt } = await import('../../alerts/testing.js');
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-nli-module-'));
    writeFileSync(join(dir, 'model.onnx'), tinyNliModel([0, 0], [0, 3]));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(wordPieceJson));
    const start = async (model: string) => {
      const r = validateConfig({
        storage: { url: 'sqlite::memory:' },
        telemetry: { logLevel: 'silent', captureContent: true },
        quality: { evaluators: { nli: { model } } },
      });
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      let q: Awaited<ReturnType<typeof buildQualityModule>> | undefined;
      const app = await createApp(r.config, {
        modules: [
          async (ctx) => {
            q = await buildQualityModule(ctx);
            return q;
          },
        ],
      });
      return { app, q: q as NonNullable<typeof q> };
    };
    const on = await start(join(dir, 'model.onnx'));
    const off = await start(join(dir, 'missing.onnx'));
    try {
      const call = callAt(Date.now(), {});
      const text = { prompt: 'The tower was built in 1889.', output: 'It is tall.', evaluators: ['grounding', 'nli'] };
      const [, nliResult] = await on.q.service.evaluate(call, text);
      // Logits [0, 3]: entailment = softmax index 1 ≈ 0.953, so the answer passes with score ≈ 0.047.
      expect(nliResult).toMatchObject({ evaluator: 'nli', verdict: 'pass' });
      expect(nliResult?.score).toBeCloseTo(0.047, 3);
      const offResults = await off.q.service.evaluate(call, text);
      expect(offResults.map((r) => r.evaluator)).toEqual(['grounding']);
    } finally {
      await on.app.close();
      await off.app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('llmscope quality score --nli-model', () => {
  it('adds the NLI evaluation to each scored line', async () => {
    const { Command } = await import('commander');
    const { PassThrough } = await import('node:stream');
    const { registerQualityCommand } = await import('../cli.js');
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-nli-cli-'));
    try {
      writeFileSync(join(dir, 'model.onnx'), tinyNliModel([0, 0], [3, 0]));
      writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(wordPieceJson));
      writeFileSync(
        join(dir, 'in.jsonl'),
        `${JSON.stringify({ id: 1, context: 'The tower was built in 1889.', response: 'It is tall.' })}\n`,
      );
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      stdout.on('data', (d) => {
        out += String(d);
      });
      stderr.resume();
      const program = new Command().exitOverride();
      registerQualityCommand(program, { stdout, stderr });
      await program.parseAsync(
        ['quality', 'score', '--input', join(dir, 'in.jsonl'), '--nli-model', join(dir, 'model.onnx')],
        {
          from: 'user',
        },
      );
      const line = JSON.parse(out.trim());
      // Logits [3, 0]: entailment (index 1 of 2) ≈ 0.047, so NLI fails the answer and the line fails.
      expect(line.evaluations.nli).toMatchObject({ verdict: 'fail' });
      expect(line.evaluations.nli.score).toBeCloseTo(0.953, 3);
      expect(line.verdict).toBe('fail');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
