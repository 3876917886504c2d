// Premise–hypothesis tokenisation for the NLI model slot, from a Hugging Face `tokenizer.json` exported beside the
// model: WordPiece (BERT, MiniLM, ELECTRA cross-encoders) or Unigram (DeBERTa-v3, T5 — SentencePiece), with the
// pair template of its post-processor ([CLS] A [SEP] B [SEP] and its variants). Byte-level BPE (RoBERTa, GPT-2)
// is not supported: loading one fails with a message saying so.
import { readFileSync } from 'node:fs';

export interface Encoded {
  ids: number[];
  typeIds: number[];
}

interface Piece {
  kind: 'special' | 'A' | 'B';
  ids: number[];
  typeId: number;
}

// biome-ignore lint/suspicious/noExplicitAny: tokenizer.json is read field by field and checked
type Json = any;

export class PairTokenizer {
  private readonly wordPiece: Map<string, number> | null = null;
  private readonly unigram: Map<string, { id: number; score: number }> | null = null;
  private readonly maxPiece: number = 0;
  private readonly unkId: number;
  private readonly prefix: string = '##';
  private readonly lowercase: boolean;
  private readonly stripAccents: boolean;
  private readonly template: Piece[];
  private readonly added = new Map<string, number>();
  readonly padId: number;

  constructor(json: Json, source = 'tokenizer.json') {
    const model = json?.model;
    const fail = (why: string): never => {
      throw new Error(`NLI tokenizer ${source}: ${why}`);
    };
    if (!model || typeof model !== 'object') fail('no "model" section; export it with the model (tokenizer.save())');
    for (const t of Array.isArray(json.added_tokens) ? json.added_tokens : []) this.added.set(t.content, t.id);
    const norm = json.normalizer ?? {};
    const norms: Json[] = norm.type === 'Sequence' ? (norm.normalizers ?? []) : [norm];
    this.lowercase = norms.some(
      (n) => n?.type === 'Lowercase' || (n?.type === 'BertNormalizer' && n.lowercase !== false),
    );
    this.stripAccents = norms.some(
      (n) => n?.type === 'StripAccents' || (n?.type === 'BertNormalizer' && n.strip_accents === true),
    );
    if (model.type === 'WordPiece') {
      if (!model.vocab || typeof model.vocab !== 'object') fail('WordPiece model without a vocab');
      this.wordPiece = new Map(Object.entries(model.vocab as Record<string, number>));
      this.prefix = model.continuing_subword_prefix ?? '##';
      this.unkId =
        this.wordPiece.get(model.unk_token ?? '[UNK]') ?? fail(`unknown token ${model.unk_token} not in vocab`);
    } else if (model.type === 'Unigram') {
      if (!Array.isArray(model.vocab)) fail('Unigram model without a vocab list');
      this.unigram = new Map();
      let longest = 0;
      (model.vocab as [string, number][]).forEach(([piece, score], id) => {
        this.unigram?.set(piece, { id, score });
        longest = Math.max(longest, piece.length);
      });
      this.maxPiece = longest;
      this.unkId = typeof model.unk_id === 'number' ? model.unk_id : 0;
    } else {
      this.unkId = 0;
      fail(`model type ${model.type ?? '(none)'} is not supported (WordPiece and Unigram are; byte-level BPE is not)`);
    }
    this.template = templateOf(json.post_processor, (t) => this.idOf(t), fail);
    this.padId = this.idOf(json.padding?.pad_token ?? (this.wordPiece ? '[PAD]' : '<pad>')) ?? 0;
  }

  static fromFile(path: string): PairTokenizer {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new Error(`NLI tokenizer ${path}: cannot read the file (export tokenizer.json beside the model)`);
    }
    let json: Json;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`NLI tokenizer ${path}: not JSON (${(err as Error).message})`);
    }
    return new PairTokenizer(json, path);
  }

  private idOf(token: string): number | undefined {
    return this.added.get(token) ?? this.wordPiece?.get(token) ?? this.unigram?.get(token)?.id;
  }

  private normalise(s: string): string {
    let t = s;
    if (this.lowercase) t = t.toLowerCase();
    if (this.stripAccents) t = t.normalize('NFD').replace(/\p{Mn}/gu, '');
    return t;
  }

  /** Token ids of a text (no special tokens). */
  tokenize(text: string): number[] {
    const t = this.normalise(text);
    return this.wordPiece ? this.wordPieces(t) : this.unigramPieces(t);
  }

  private wordPieces(t: string): number[] {
    const vocab = this.wordPiece as Map<string, number>;
    const out: number[] = [];
    for (const word of t.match(/[\p{L}\p{N}\p{M}]+|[^\s\p{L}\p{N}\p{M}]/gu) ?? []) {
      if (word.length > 100) {
        out.push(this.unkId);
        continue;
      }
      const pieces: number[] = [];
      let start = 0;
      while (start < word.length) {
        let end = word.length;
        let id: number | undefined;
        while (end > start) {
          id = vocab.get(start > 0 ? `${this.prefix}${word.slice(start, end)}` : word.slice(start, end));
          if (id !== undefined) break;
          end--;
        }
        if (id === undefined) {
          pieces.length = 0;
          pieces.push(this.unkId);
          break;
        }
        pieces.push(id);
        start = end;
      }
      out.push(...pieces);
    }
    return out;
  }

  /** SentencePiece unigram: Viterbi over the pieces of each whitespace-separated word (with its ▁ prefix). */
  private unigramPieces(t: string): number[] {
    const vocab = this.unigram as Map<string, { id: number; score: number }>;
    const out: number[] = [];
    for (const w of t.split(/\s+/).filter(Boolean)) {
      const s = `▁${w}`;
      const best = new Array<number>(s.length + 1).fill(Number.NEGATIVE_INFINITY);
      const from = new Array<number>(s.length + 1).fill(-1);
      const ids = new Array<number>(s.length + 1).fill(-1);
      best[0] = 0;
      for (let end = 1; end <= s.length; end++)
        for (let start = Math.max(0, end - this.maxPiece); start < end; start++) {
          if (best[start] === Number.NEGATIVE_INFINITY) continue;
          const p = vocab.get(s.slice(start, end));
          // An unknown single character costs a large penalty, so any known segmentation wins.
          const score = p ? p.score : end - start === 1 ? -100 : Number.NEGATIVE_INFINITY;
          if ((best[start] as number) + score > (best[end] as number)) {
            best[end] = (best[start] as number) + score;
            from[end] = start;
            ids[end] = p ? p.id : this.unkId;
          }
        }
      const pieces: number[] = [];
      for (let end = s.length; end > 0; end = from[end] as number) pieces.push(ids[end] as number);
      // One at a time: spread as arguments, a word of 200,000 pieces (a long run without blanks: a DNA sequence, a
      // base64 blob) overflowed the stack, and the NLI check gave `error` for the call.
      for (let k = pieces.length - 1; k >= 0; k--) out.push(pieces[k] as number);
    }
    return out;
  }

  /** The pair as the model expects it, cut longest-first so the whole fits in `maxLength`. */
  encodePair(premise: string, hypothesis: string, maxLength: number): Encoded {
    let a = this.tokenize(premise);
    let b = this.tokenize(hypothesis);
    const special = this.template.filter((p) => p.kind === 'special').reduce((n, p) => n + p.ids.length, 0);
    const room = Math.max(2, maxLength - special);
    // Longest first, as Hugging Face truncates a pair: the longer side gives up a token until both fit.
    let na = a.length;
    let nb = b.length;
    while (na + nb > room)
      if (na >= nb) na--;
      else nb--;
    a = a.slice(0, na);
    b = b.slice(0, nb);
    const ids: number[] = [];
    const typeIds: number[] = [];
    for (const p of this.template) {
      const part = p.kind === 'A' ? a : p.kind === 'B' ? b : p.ids;
      for (const id of part) {
        ids.push(id);
        typeIds.push(p.typeId);
      }
    }
    return { ids, typeIds };
  }
}

function templateOf(pp: Json, idOf: (t: string) => number | undefined, fail: (why: string) => never): Piece[] {
  const special = (token: string, typeId: number, given?: number): Piece => {
    const id = given ?? idOf(token);
    if (id === undefined) fail(`special token ${token} is not in the vocabulary`);
    return { kind: 'special', ids: [id as number], typeId };
  };
  const steps: Json[] = pp?.type === 'Sequence' ? (pp.processors ?? []) : [pp];
  for (const p of steps) {
    if (p?.type === 'TemplateProcessing' && Array.isArray(p.pair))
      return p.pair.map((x: Json): Piece => {
        if (x.Sequence) return { kind: x.Sequence.id === 'B' ? 'B' : 'A', ids: [], typeId: x.Sequence.type_id ?? 0 };
        const tok = x.SpecialToken?.id as string;
        const ids = p.special_tokens?.[tok]?.ids as number[] | undefined;
        return ids
          ? { kind: 'special', ids, typeId: x.SpecialToken.type_id ?? 0 }
          : special(tok, x.SpecialToken?.type_id ?? 0);
      });
    if (p?.type === 'BertProcessing') {
      const [cls, clsId] = p.cls;
      const [sep, sepId] = p.sep;
      return [
        special(cls, 0, clsId),
        { kind: 'A', ids: [], typeId: 0 },
        special(sep, 0, sepId),
        { kind: 'B', ids: [], typeId: 1 },
        special(sep, 1, sepId),
      ];
    }
  }
  // No post-processor: BERT's layout when the vocabulary has its tokens.
  if (idOf('[CLS]') !== undefined && idOf('[SEP]') !== undefined)
    return [
      special('[CLS]', 0),
      { kind: 'A', ids: [], typeId: 0 },
      special('[SEP]', 0),
      { kind: 'B', ids: [], typeId: 1 },
      special('[SEP]', 1),
    ];
  return fail('no pair template (post_processor TemplateProcessing or BertProcessing) and no [CLS]/[SEP] tokens');
}
