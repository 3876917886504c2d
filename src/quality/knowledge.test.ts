import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bm25Index } from './bm25.js';
import { chunkText, KnowledgeBase } from './knowledge.js';
import { contentStems, numbersIn, sentences, stem } from './text.js';

describe('text helpers', () => {
  it('stems inflections together', () => {
    expect(stem('published')).toBe(stem('publishes'));
    expect(stem('countries')).toBe(stem('country'));
    expect(stem('movies')).toBe(stem('movie'));
  });

  it('splits sentences, also where a period is glued to the next one, but not at abbreviations', () => {
    expect(sentences('Dr. Smith arrived. He left.').map((s) => s.text)).toEqual(['Dr. Smith arrived.', 'He left.']);
    expect(sentences('in the 19th century.First for Women is').map((s) => s.text)).toHaveLength(2);
  });

  it('reads numbers in digits and words', () => {
    expect(numbersIn('It cost 1,200 dollars, 3.5 million in total, twelve times, in the 1990s')).toEqual([
      1200, 3.5e6, 12, 1990,
    ]);
  });
});

describe('BM25', () => {
  it('ranks the passage sharing the rarest terms first', () => {
    const idx = new Bm25Index<string>();
    idx.add('a', 'The cat sat on the mat.');
    idx.add('b', 'Quantum chromodynamics describes the strong interaction.');
    idx.add('c', 'The dog sat on the log.');
    expect(idx.search(contentStems('strong interaction of quarks'), 1)[0]?.doc).toBe('b');
    expect(idx.search(contentStems('where the dog sat'), 1)[0]?.doc).toBe('c');
  });
});

describe('KnowledgeBase', () => {
  it('loads .txt, .md and .jsonl from a folder, with ids, URLs and quotes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-kb-'));
    writeFileSync(
      join(dir, 'returns.md'),
      '# Returns\n\nItems can be returned within 30 days. See https://shop.example/returns for the form.',
    );
    writeFileSync(join(dir, 'notes.txt'), 'The warehouse is in Leeds.');
    writeFileSync(
      join(dir, 'faq.jsonl'),
      '{"id":"faq-1","text":"Gift cards never expire.","url":"https://shop.example/faq/1"}\nnot json\n{"id":"faq-2"}\n',
    );
    writeFileSync(join(dir, 'ignored.bin'), 'x');
    const kb = await KnowledgeBase.fromFolder(dir);
    expect(kb.size).toBe(3);
    expect(kb.hasDocId('returns.md')).toBe(true);
    expect(kb.hasDocId('faq-1')).toBe(true);
    expect(kb.hasUrl('https://www.shop.example/returns/')).toBe(true);
    expect(kb.hasUrl('https://shop.example/faq/1')).toBe(true);
    expect(kb.warnings.join('\n')).toMatch(/faq.jsonl:2: not valid JSON/);
    expect(kb.warnings.join('\n')).toMatch(/faq.jsonl:3: no text/);
    expect(kb.search(contentStems('where is the warehouse'), 1)[0]?.doc.docId).toBe('notes.txt');
    expect(kb.findQuote('items can be returned within 30 days', contentStems('items returned 30 days'))?.docId).toBe(
      'returns.md',
    );
  });

  it('cuts long text into passages of whole sentences', () => {
    const text = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} is here.`).join(' ');
    const chunks = chunkText(text, 200);
    expect(chunks.length).toBeGreaterThan(4);
    expect(chunks.every((c) => c.endsWith('.'))).toBe(true);
  });
});

describe('chunkText on a large file of one paragraph', () => {
  it('cuts it in linear time and keeps each line on its own', () => {
    // Each sentence tested the whole paragraph before it for a line break (2f630bc): a 1 MB knowledge file of one
    // paragraph took 22 s to load; the test's own timeout is the guard (this 2 MB one took minutes).
    const chunks = chunkText('The cat sat on the mat today. '.repeat(70_000));
    expect(chunks.length).toBeGreaterThan(1000);
    expect(chunks.every((c) => !c.includes('\n'))).toBe(true);
    const lines = chunkText('Line one is here.\n'.repeat(70_000));
    expect(lines[0]?.split('\n')[1]).toBe('Line one is here.');
    expect(chunkText('| Starter | $12 | 3 |\n  | Team | $49 | 15 |')).toEqual([
      '| Starter | $12 | 3 |\n| Team | $49 | 15 |',
    ]);
  });
});
