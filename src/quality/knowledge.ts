// The knowledge base: a folder of .txt / .md / .jsonl documents, cut into passages and indexed with BM25, so the
// grounding and attribution checks can find the best evidence for a claim and verify cited ids, URLs and quotes.
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { type Bm25Hit, Bm25Index } from './bm25.js';
import { sentences } from './text.js';

export interface Passage {
  /** `docId#n` — the n-th passage of the document. */
  id: string;
  docId: string;
  text: string;
  title?: string;
  url?: string;
}

export interface KnowledgeDocument {
  id: string;
  text: string;
  title?: string;
  url?: string;
}

/** Passages of about this many characters (whole sentences), so evidence shown to a reviewer stays readable. */
const PASSAGE_CHARS = 600;
const MAX_FILE_BYTES = 20 * 1024 * 1024;

export class KnowledgeBase {
  private readonly index = new Bm25Index<Passage>();
  private readonly docIds = new Set<string>();
  private readonly urls = new Set<string>();
  private readonly passages: Passage[] = [];
  /** Problems met while loading (unreadable files, bad JSONL lines), for the log. */
  readonly warnings: string[] = [];

  static fromDocuments(docs: readonly KnowledgeDocument[]): KnowledgeBase {
    const kb = new KnowledgeBase();
    for (const d of docs) kb.addDocument(d);
    return kb;
  }

  /** Loads every .txt, .md and .jsonl file under `dir` (recursively). */
  static async fromFolder(dir: string): Promise<KnowledgeBase> {
    const kb = new KnowledgeBase();
    for (const file of await listFiles(dir)) {
      const ext = extname(file).toLowerCase();
      const rel = relative(dir, file).split('\\').join('/');
      try {
        const st = await stat(file);
        if (st.size > MAX_FILE_BYTES) {
          kb.warnings.push(`${rel}: larger than ${MAX_FILE_BYTES} bytes, skipped`);
          continue;
        }
        const text = await readFile(file, 'utf8');
        if (ext === '.jsonl') kb.addJsonl(rel, text);
        else kb.addDocument({ id: rel, text, title: ext === '.md' ? markdownTitle(text) : undefined });
      } catch (err) {
        kb.warnings.push(`${rel}: ${(err as Error).message}`);
      }
    }
    return kb;
  }

  get size(): number {
    return this.passages.length;
  }

  addDocument(doc: KnowledgeDocument): void {
    this.docIds.add(doc.id);
    if (doc.url) this.urls.add(normalizeUrl(doc.url));
    for (const url of doc.text.match(URL_RE) ?? []) this.urls.add(normalizeUrl(url));
    let n = 0;
    for (const chunk of chunkText(doc.text)) {
      const p: Passage = { id: `${doc.id}#${n++}`, docId: doc.id, text: chunk, title: doc.title, url: doc.url };
      this.passages.push(p);
      this.index.add(p, doc.title ? `${doc.title}\n${chunk}` : chunk);
    }
  }

  private addJsonl(file: string, text: string): void {
    let line = 0;
    for (const raw of text.split('\n')) {
      line++;
      if (!raw.trim()) continue;
      try {
        const o = JSON.parse(raw) as Record<string, unknown>;
        const body = [o.text, o.content, o.passage, o.body, o.knowledge].find((v) => typeof v === 'string') as
          | string
          | undefined;
        if (!body) {
          this.warnings.push(`${file}:${line}: no text/content/passage field`);
          continue;
        }
        const id = typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : `${file}:${line}`;
        this.addDocument({
          id,
          text: body,
          title: typeof o.title === 'string' ? o.title : undefined,
          url: typeof o.url === 'string' ? o.url : undefined,
        });
      } catch {
        this.warnings.push(`${file}:${line}: not valid JSON`);
      }
    }
  }

  /** Best passages for stemmed query terms. */
  search(terms: readonly string[], k = 3): Bm25Hit<Passage>[] {
    return this.index.search(terms, k);
  }

  idf(term: string): number {
    return this.index.idf(term);
  }

  hasDocId(id: string): boolean {
    return this.docIds.has(id);
  }

  hasUrl(url: string): boolean {
    return this.urls.has(normalizeUrl(url));
  }

  /** The passage containing `quote` (whitespace, case and punctuation folded), if any. */
  findQuote(quote: string, terms: readonly string[]): Passage | null {
    const q = foldForQuote(quote);
    if (!q) return null;
    for (const hit of this.index.search(terms, 10)) if (foldForQuote(hit.doc.text).includes(q)) return hit.doc;
    return null;
  }
}

export const URL_RE = /\bhttps?:\/\/[^\s<>"')\]]+[^\s<>"')\].,;:!?]/gi;

export function normalizeUrl(url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname.replace(/\/+$/, '');
    return `${u.hostname.replace(/^www\./, '').toLowerCase()}${path}${u.search}`;
  } catch {
    return url.toLowerCase();
  }
}

/** Lowercase, letters and digits only, single spaces: how quotes are compared with sources. */
export function foldForQuote(s: string): string {
  return s
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * Cuts text into passages of whole sentences, about `size` characters long. A blank line ends a passage unless it is
 * still short (a heading, a one-line paragraph), which then joins the next paragraph.
 */
export function chunkText(text: string, size = PASSAGE_CHARS): string[] {
  const out: string[] = [];
  let cur = '';
  for (const para of text.split(/\n\s*\n/)) {
    if (cur.length >= 150) {
      out.push(cur);
      cur = '';
    }
    for (const s of sentences(para)) {
      if (cur && cur.length + s.text.length > size) {
        out.push(cur);
        cur = '';
      }
      // A sentence that is a line of its own (a table's row, a list's item) stays on its own line: joined with a
      // space, "| Starter | $12 | 3 |" and "| Team | $49 | 15 |" were one sentence, each row's figures any row's.
      const ownLine = s.start > 0 && startsLine(para, s.start);
      cur = cur ? `${cur}${ownLine ? '\n' : ' '}${s.text}` : s.text;
    }
  }
  if (cur) out.push(cur);
  return out;
}

/**
 * Whether only blanks stand between a line break and `at` in `text`. Read back from `at`: testing /\n[^\S\n]*$/ on the
 * text before each sentence read the whole paragraph again for each (a 1 MB knowledge file of one paragraph: 22 s).
 */
function startsLine(text: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && text[i] !== '\n' && /\s/.test(text[i] as string)) i--;
  return i >= 0 && text[i] === '\n';
}

function markdownTitle(text: string): string | undefined {
  const m = /^#\s+(.+)$/m.exec(text);
  return m ? (m[1] as string).trim() : undefined;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && /\.(txt|md|markdown|jsonl)$/i.test(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return out;
}
