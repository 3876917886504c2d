// Source attribution: every citation in the response is checked against the request's context and the knowledge
// base. Four kinds: URLs (must occur in the context or the KB), numbered markers [n] (the context must have a
// source n, and the cited sentence must be backed by it), quoted passages (must occur, case and punctuation folded),
// and document ids / file names (must name a context or KB document). An invented citation is flagged with what
// was cited and where it was looked for; a real source cited for something it does not say is `unsupported`.
import { foldForQuote, normalizeUrl, URL_RE } from '../knowledge.js';
import { contentStems } from '../text.js';
import { answerSentences, jsonAnswerText } from './answer.js';
import type { ClaimResult, EvaluationInput, EvaluationResult, Evaluator, Evidence } from './types.js';

/**
 * How the context numbers its sources: "[1] ...", "Source 1:", "Document 2:", "(3) ..." at a line start. Blanks before
 * a label stop at the line break, and one run of blanks around a '#' is read one way: either was quadratic in blank
 * lines or in spaces after "source" (a 128K-character context of them held the event loop for seconds to minutes).
 */
const SOURCE_LABEL =
  /(?:^|\n)[^\S\n]*(?:\[(\d{1,3})\]|(?:source|document|doc|passage|reference|ref)\s*(?:#\s*)?(\d{1,3})\s*[:.)\]-]|\((\d{1,3})\))\s*/gi;
const MARKER = /\[(\d{1,3}(?:\s*[,–-]\s*\d{1,3})*)\]/g;
const QUOTE = /"([^"\n]{20,400})"|“([^”]{20,400})”/g;
/**
 * File names and explicit ids: `handbook.md`, `doc-1234`, `KB-42`, `[doc:abc]`. A file name is tried from the first
 * word boundary of its run of letters, digits, '_' and '-' only (a letter after no such character, or after the run's
 * leading hyphens), or where a match before ended inside such a run (a file name then '-', an id after ':' or '#' cut
 * at 40 characters): from a later boundary it reaches the same
 * end and fails or matches as the first did. Tried from every boundary, an answer of 'a-a-a-…' read the rest of the
 * run from each (0.43 s at 10,000 characters, 33 s at 100,000). The matches are the same.
 */
const DOC_ID =
  /\b(?:(?<![\w-])|(?<=(?:^|[^\w-])-+)|(?<=\.(?:md|txt|pdf|html?|docx?|jsonl?|csv))(?=-)|(?<=\b(?:doc|kb|document|article|ticket)[:#][\w-]{1,40}))(?:[\w-]+\.(?:md|txt|pdf|html?|docx?|jsonl?|csv))\b(?!\()|\b(?:doc|kb|document|article|ticket)[-_:#][\w-]{1,40}\b/gi;
/** DOC_ID, for the test that it matches as the pattern before the lookbehinds did. */
export const DOC_ID_PATTERN = DOC_ID;

/**
 * The DOI or arXiv id a resolver's URL names (https://doi.org/10.1145/3442188.3445922, https://arxiv.org/abs/2307.03172),
 * lowercased: the same reference as "doi:10.1145/…" or "arXiv:2307.03172" in the sources. Null for any other URL.
 */
function scholarlyIdOfUrl(url: string): string | null {
  const m =
    /^https?:\/\/(?:dx\.)?doi\.org\/(10\.\d{4,9}\/\S+)$|^https?:\/\/(?:www\.|export\.)?arxiv\.org\/(?:abs|pdf)\/([\w./-]+?)(?:v\d+)?(?:\.pdf)?$/i.exec(
      url.replace(/[.,;:!?)\]]+$/, ''),
    );
  const id = m?.[1] ?? m?.[2];
  return id ? decodeURIComponent(id).toLowerCase() : null;
}

/** Scholarly ids: a DOI (10.<registrant>/<suffix>) and an arXiv id (arXiv:2107.01234, arXiv:hep-th/9901001). */
const DOI = /\b10\.\d{4,9}\/[^\s"'<>)\]]*[^\s"'<>)\].,;:!?]/g;
const ARXIV = /\barxiv:\s?(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[a-z]{2})?\/\d{7})(?:v\d+)?\b/gi;
/**
 * Numbered references whose form says what they are: an RFC ("RFC 6585", "RFC-9110"), a law report citation by
 * volume, reporter and page ("384 U.S. 436", "530 F.3d 1201", "123 S. Ct. 456", "10 F. Supp. 2d 300") and a UK
 * neutral citation ("[2019] UKSC 41") or a report of the Commonwealth's by year, volume, series and page ("[1932] AC 562",
 * "[1990] 2 AC 605", "[2005] 1 WLR 123"). Each is one document; an invented one names none.
 */
const NUMBERED_REF =
  /\bRFC[\s-]?\d{1,5}\b|\b\d{1,4} (?:U\.\s?S\.|S\.\s?Ct\.|L\.\s?Ed\.(?:\s?2d)?|F\.(?:\s?Supp\.)?(?:\s?(?:2d|3d|4th))?|F\.\s?App'x|A\.(?:\s?(?:2d|3d))?|P\.(?:\s?(?:2d|3d))?|N\.E\.(?:\s?(?:2d|3d))?|N\.W\.(?:\s?2d)?|S\.E\.(?:\s?2d)?|S\.W\.(?:\s?(?:2d|3d))?|So\.(?:\s?(?:2d|3d))?|Cal\.\s?Rptr\.(?:\s?(?:2d|3d))?) \d{1,5}\b|\[\d{4}\] (?:UKSC|UKHL|UKPC|EWCA (?:Civ|Crim)|EWHC|UKUT|UKFTT) \d{1,5}\b|\[\d{4}\] (?:\d{1,2} )?(?:AC|QB|KB|Ch|Fam|WLR|All ER|ICR|IRLR|Lloyd's Rep|Cr App R|SLT|SC|NI|IR|CLR|SCR|NZLR|HCA) \d{1,5}\b/g;
/**
 * A numbered part of a document ("section 4.3 of the Operator Handbook", "clause 5.4.2", "§ 12", "Article 17") and an
 * issue or pull request by number ("issue #412", "acme/widget#412"): the number must be one the sources give that part
 * (a section's number also counts when a heading of the sources starts with it: "4.3 Credential rotation").
 */
const PART_REF =
  /\b(?:sections?|sec\.|clauses?|§§?|articles?|art\.|chapters?|paragraphs?|annex|appendix)\s*(\d{1,4}(?:\.\d{1,4}){0,4}[a-z]?)\b|§\s*(\d{1,4}(?:\.\d{1,4}){0,4}[a-z]?)\b/gi;
// The owner/repo lookbehind comes after the '#', so it is tried at a '#' only: before it, it was tried at every
// position and ran back over the whole word there, 7.8 s on an answer holding a 64,000-letter word.
const ISSUE_REF =
  /\b(?:issues?|pull requests?|prs?|tickets?|bugs?)\s+#(\d{1,7})\b|#(?<=\b[\w.-]+\/[\w.-]+#)(\d{1,7})\b/gi;
/**
 * A numbered heading at a line's start ("4.3 Credential rotation", "## 4.3"). Its blanks stop at the line break: blanks
 * that ran over line breaks were tried again from each, 10.7 s on a context of 64,000 empty lines.
 */
const PART_HEADING = /(?:^|\n)(?:#|[^\S\n])*(\d{1,4}(?:\.\d{1,4}){1,4})\.?\s+\p{L}/gu;
/** A numbered reference as written anywhere: the letters, digits and their order; spaces, dots and hyphens aside. */
const refKey = (s: string): string => s.toLowerCase().replace(/[^a-z0-9[\]']/g, '');

interface Source {
  n: number;
  text: string;
  stems: Set<string>;
}

function sourcesOf(context: readonly string[]): Source[] {
  const out: Source[] = [];
  const joined = context.join('\n');
  const labels = [...joined.matchAll(SOURCE_LABEL)];
  if (labels.length > 0) {
    for (let i = 0; i < labels.length; i++) {
      const m = labels[i] as RegExpMatchArray;
      const n = Number(m[1] ?? m[2] ?? m[3]);
      const start = (m.index ?? 0) + m[0].length;
      const end = i + 1 < labels.length ? ((labels[i + 1] as RegExpMatchArray).index ?? joined.length) : joined.length;
      const text = joined.slice(start, end).trim();
      out.push({ n, text, stems: new Set(contentStems(text)) });
    }
    return out;
  }
  // Unlabelled: the i-th context passage is source i (1-based), as most RAG templates number them.
  context.forEach((text, i) => {
    out.push({ n: i + 1, text, stems: new Set(contentStems(text)) });
  });
  return out;
}

function markerNumbers(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(',')) {
    const r = /^\s*(\d+)\s*(?:[–-]\s*(\d+))?\s*$/.exec(part);
    if (!r) continue;
    const a = Number(r[1]);
    const b = r[2] ? Number(r[2]) : a;
    for (let n = a; n <= Math.min(b, a + 20); n++) out.push(n);
  }
  return out;
}

function support(stems: readonly string[], source: Source): number {
  if (stems.length === 0) return 1;
  let hit = 0;
  for (const s of stems) if (source.stems.has(s)) hit++;
  return hit / stems.length;
}

/**
 * Wrong citations per answer for which the source that does back the sentence is looked for (among every source);
 * past them the reason names only the cited source. The verdict and score are the same either way.
 */
const MAX_BETTER_SOURCE = 20;

export interface AttributionOptions {
  /**
   * Without a knowledge base, a context with fewer distinct content words than this has no sources to check
   * citations against (a URL from the model's memory is unverifiable, not invented): the verdict is `unknown`.
   * Default 0; the online module uses `quality.minContextWords`.
   */
  minContextWords?: number;
  /**
   * Index the context even when the answer cites nothing (the verdict is `unknown` either way). Only for the test
   * that checks the shortcut gives the same results; default false.
   */
  fullScan?: boolean;
}

export class SourceAttributionEvaluator implements Evaluator {
  readonly name = 'attribution';

  constructor(private readonly opts: AttributionOptions = {}) {}

  evaluate(input: EvaluationInput): Promise<EvaluationResult> {
    return Promise.resolve(this.check(input));
  }

  evaluateNow(input: EvaluationInput): EvaluationResult {
    return this.check(input);
  }

  check(input: EvaluationInput): EvaluationResult {
    const t0 = performance.now();
    // A JSON answer's values in double quotes are no quotations: its values are read as the answer (answer.ts). Code
    // cites nothing: `items[1]` is no source marker, `open('settings.json')` no document, a string literal no quote.
    const response = citingText(jsonAnswerText(input.response) ?? input.response);
    const kb = input.knowledge && input.knowledge.size > 0 ? input.knowledge : undefined;
    const min = this.opts.minContextWords ?? 0;
    if (
      !kb &&
      min > 0 &&
      (this.opts.fullScan ? distinctStems(input.context.join('\n')) < min : thin(input.context, min))
    )
      return {
        evaluator: this.name,
        verdict: 'unknown',
        score: 0,
        evidence: [],
        claims: [],
        explanation: 'no sources in the request and no knowledge base: citations cannot be verified',
        durationMs: performance.now() - t0,
      };
    // No URL, [n] marker, quoted passage or document id anywhere in the answer: nothing is checked below, so the
    // verdict is known before the context is indexed (its URLs, folded text, numbered sources and their stems).
    if (!this.opts.fullScan && !mayCite(response)) return this.noCitations(t0);
    const contextText = input.context.join('\n');
    const contextUrls = new Set((contextText.match(URL_RE) ?? []).map(normalizeUrl));
    const contextFolded = foldForQuote(contextText);
    const contextLower = contextText.toLowerCase();
    const sources = sourcesOf(input.context);
    const byNumber = new Map(sources.map((s) => [s.n, s]));
    const claims: ClaimResult[] = [];
    let checked = 0;

    const flag = (text: string, status: ClaimResult['status'], reason: string, evidence: Evidence[] = []) =>
      claims.push({ text, status, score: status === 'supported' ? 0 : 1, evidence, reasons: [reason] });

    // URLs
    for (const url of new Set(response.match(URL_RE) ?? [])) {
      checked++;
      const id = scholarlyIdOfUrl(url);
      const known =
        contextUrls.has(normalizeUrl(url)) || kb?.hasUrl(url) === true || (id !== null && contextLower.includes(id));
      if (known)
        flag(
          url,
          'supported',
          id !== null && !contextUrls.has(normalizeUrl(url))
            ? 'the DOI or arXiv id the URL resolves appears in the sources'
            : 'URL appears in the sources',
        );
      else
        flag(url, 'unsupported', 'invented URL: not in the request context or the knowledge base', [
          { source: kb ? 'kb' : 'context', text: url, note: 'no source contains this URL' },
        ]);
    }
    // [n] markers, checked sentence by sentence so the cited claim can be compared with its source.
    // The sentence's text and stems are taken once, not per marker and per source tried (a sentence of thousands of
    // markers, or an answer of thousands of wrong ones over a context of thousands of sources: 1.2 s at 30,000
    // characters each, quadratic); the other source that backs a sentence is looked for MAX_BETTER_SOURCE times.
    let betterTries = 0;
    for (const s of answerSentences(response)) {
      let claim: string | null = null;
      let stems: string[] = [];
      for (const m of s.text.matchAll(MARKER)) {
        for (const n of markerNumbers(m[1] as string)) {
          checked++;
          const src = byNumber.get(n);
          if (claim === null) {
            claim = s.text.replace(MARKER, '').trim();
            stems = contentStems(claim);
          }
          if (!src) {
            flag(
              `[${n}] ${claim}`,
              'unsupported',
              `cites source [${n}], but the context has ${sources.length} source(s)`,
              [
                {
                  source: 'context',
                  text: sources.map((x) => `[${x.n}]`).join(' ') || '(no numbered sources)',
                  note: `no source ${n}`,
                },
              ],
            );
            continue;
          }
          const sup = support(stems, src);
          const ev: Evidence = { source: 'context', id: `source#${n}`, text: clip(src.text, 300), score: round3(sup) };
          if (sup >= 0.5) flag(`[${n}] ${claim}`, 'supported', `source [${n}] backs the sentence`, [ev]);
          else {
            // Cited the wrong source? Say which one does back it, if any.
            const better =
              betterTries++ < MAX_BETTER_SOURCE
                ? sources.find((x) => x.n !== n && support(stems, x) >= 0.6)
                : undefined;
            flag(
              `[${n}] ${claim}`,
              'unsupported',
              better
                ? `source [${n}] does not say this; source [${better.n}] does`
                : `source [${n}] does not say this (${Math.round(sup * 100)}% of its words found)`,
              [{ ...ev, note: 'cited source' }],
            );
          }
        }
      }
    }
    // Quoted passages
    for (const m of response.matchAll(QUOTE)) {
      const q = (m[1] ?? m[2] ?? '').trim();
      if (q.split(/\s+/).length < 4) continue;
      checked++;
      const f = foldForQuote(q);
      if (contextFolded.includes(f)) {
        flag(`"${q}"`, 'supported', 'quote found verbatim in the context');
        continue;
      }
      const p = kb?.findQuote(q, contentStems(q));
      if (p)
        flag(`"${q}"`, 'supported', `quote found in ${p.id}`, [{ source: 'kb', id: p.id, text: clip(p.text, 300) }]);
      else
        flag(`"${q}"`, 'contradicted', 'quoted passage does not occur in any source', [
          {
            source: kb ? 'kb' : 'context',
            text: clip(q, 200),
            note: 'not found verbatim (case and punctuation ignored)',
          },
        ]);
    }
    // DOIs and arXiv ids (those inside a URL were checked with it): a made-up one is the classic invented reference.
    const withoutUrls = response.replace(URL_RE, ' ');
    for (const id of new Set([...(withoutUrls.match(DOI) ?? []), ...(withoutUrls.match(ARXIV) ?? [])])) {
      checked++;
      const doi = id.startsWith('10.');
      const bare = doi ? id : id.replace(/^arxiv:\s?/i, '');
      const known =
        contextLower.includes(bare.toLowerCase()) ||
        (doi && (kb?.hasUrl(`https://doi.org/${id}`) === true || kb?.hasUrl(`https://dx.doi.org/${id}`) === true)) ||
        (kb?.findQuote(bare, contentStems(bare)) ?? null) !== null;
      if (known) flag(id, 'supported', `${doi ? 'DOI' : 'arXiv id'} appears in the sources`);
      else
        flag(
          id,
          'unsupported',
          `invented reference: ${doi ? 'DOI' : 'arXiv id'} in neither the context nor the knowledge base`,
          [{ source: kb ? 'kb' : 'context', text: id, note: 'unknown reference' }],
        );
    }
    // RFCs and law report citations: the same, read however spaced ("RFC 6585" = "RFC6585", "384 U. S. 436")
    const refs = new Set(withoutUrls.match(NUMBERED_REF) ?? []);
    if (refs.size > 0) {
      const contextRefs = new Set((contextText.match(NUMBERED_REF) ?? []).map(refKey));
      for (const id of refs) {
        checked++;
        const rfc = /^rfc/i.test(id);
        const known =
          contextRefs.has(refKey(id)) ||
          (kb?.findQuote(id, contentStems(id)) ?? null) !== null ||
          (rfc && (kb?.findQuote(id.replace(/[\s-]/, ' '), contentStems(id)) ?? null) !== null);
        const kind = rfc ? 'RFC' : 'case citation';
        if (known) flag(id, 'supported', `${kind} appears in the sources`);
        else
          flag(id, 'unsupported', `invented reference: ${kind} in neither the context nor the knowledge base`, [
            { source: kb ? 'kb' : 'context', text: id, note: 'unknown reference' },
          ]);
      }
    }
    // Numbered parts of documents and issues: the sources must give that number to a part or an issue.
    // Each reference as written, with its number (a Map keeps one check per reference, as the other kinds do).
    const numbered = (re: RegExp, text: string) =>
      new Map([...text.matchAll(re)].map((m) => [m[0], ((m[1] ?? m[2]) as string).toLowerCase()]));
    const parts = numbered(PART_REF, withoutUrls);
    const issues = numbered(ISSUE_REF, withoutUrls);
    if (parts.size > 0 || issues.size > 0) {
      const partNumbers = new Set(numbered(PART_REF, contextText).values());
      // A heading numbers its part too ("4.3 Credential rotation", "## 4.3").
      for (const m of contextText.matchAll(PART_HEADING)) partNumbers.add(m[1] as string);
      const issueNumbers = new Set(numbered(ISSUE_REF, contextText).values());
      for (const m of contextText.matchAll(/\/(?:issues|pull|pulls|merge_requests|tickets?)\/(\d{1,7})\b/gi))
        issueNumbers.add(m[1] as string);
      const check = (id: string, n: string, known: Set<string>, kind: string) => {
        checked++;
        if (known.has(n) || (kb?.findQuote(id, contentStems(id)) ?? null) !== null)
          flag(id, 'supported', `${kind} ${n} appears in the sources`);
        else
          flag(id, 'unsupported', `invented reference: no ${kind} ${n} in the context or the knowledge base`, [
            { source: kb ? 'kb' : 'context', text: id, note: 'unknown reference' },
          ]);
      };
      for (const [id, n] of parts) check(id, n, partNumbers, 'section');
      for (const [id, n] of issues) check(id, n, issueNumbers, 'issue');
    }
    // Document ids and file names
    for (const id of new Set((response.match(DOC_ID) ?? []).map((x) => x.replace(/[.,;:]$/, '')))) {
      if (/^https?:/i.test(id)) continue;
      checked++;
      const known =
        contextLower.includes(id.toLowerCase()) || kb?.hasDocId(id) === true || kb?.hasDocId(id.toLowerCase()) === true;
      if (known) flag(id, 'supported', 'document id appears in the sources');
      else
        flag(id, 'unsupported', 'invented document id: no such document in the context or the knowledge base', [
          { source: kb ? 'kb' : 'context', text: id, note: 'unknown document id' },
        ]);
    }

    if (checked === 0) return this.noCitations(t0);
    const bad = claims.filter((c) => c.status !== 'supported');
    const durationMs = performance.now() - t0;
    const score = round3(bad.length / checked);
    return {
      evaluator: this.name,
      verdict: bad.length > 0 ? 'fail' : 'pass',
      score,
      evidence: bad.flatMap((c) => c.evidence).slice(0, 10),
      claims,
      explanation:
        bad.length === 0
          ? `all ${checked} citation(s) check out`
          : `${bad.length} of ${checked} citation(s) do not check out: ${bad
              .slice(0, 3)
              .map((c) => `${clip(c.text, 60)} (${(c.reasons ?? []).join('; ')})`)
              .join(', ')}`,
      durationMs,
    };
  }

  /** The result for an answer that cites nothing. */
  private noCitations(t0: number): EvaluationResult {
    return {
      evaluator: this.name,
      verdict: 'unknown',
      score: 0,
      evidence: [],
      claims: [],
      explanation: 'no citations to check',
      durationMs: performance.now() - t0,
    };
  }
}

const distinctStems = (text: string): number => new Set(contentStems(text)).size;

/**
 * The answer as it cites: code (fenced blocks, inline spans) blanked out, since what a program indexes, opens or
 * prints is no citation, and markers written after a sentence's end ("… is 120.[1] The SDK …", Wikipedia's style)
 * moved before it, so they stay with the sentence they cite rather than the next.
 */
export function citingText(response: string): string {
  let t = response;
  if (t.includes('`') || t.includes('~~~')) {
    t = t.replace(/^[ \t]*(```|~~~)[^\n]*\n[\s\S]*?(?:^[ \t]*\1[^\n]*$|(?![\s\S]))/gm, ' ').replace(/`[^`\n]+`/g, ' ');
  }
  if (t.includes('[')) t = t.replace(/([.!?])((?:\[\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\])+)(?=\s|$)/g, '$2$1');
  return t;
}

/**
 * Whether the context has fewer than `min` distinct content words. A long one is first counted in a prefix that ends
 * at a whitespace: no word spans whitespace, so the prefix's words are words of the whole, and `min` of them settle
 * it without tokenising the rest.
 */
function thin(context: readonly string[], min: number): boolean {
  const text = context.join('\n');
  const cut = min * 10;
  if (text.length > cut * 2) {
    let i = cut;
    while (i > 0 && !/\s/.test(text[i] as string)) i--;
    if (i > 0 && distinctStems(text.slice(0, i)) >= min) return false;
  }
  return distinctStems(text) < min;
}

/**
 * Whether the answer may cite anything `check` looks at: a match of any of its patterns (a quote of fewer than four
 * words, or a document id that is a URL, still counts here; `check` then skips it as before). One test per pattern,
 * with no `g` flag, so no lastIndex is shared with the global patterns above.
 */
function mayCite(response: string): boolean {
  return CITES.some((re) => re.test(response));
}
const CITES = [URL_RE, MARKER, QUOTE, DOC_ID, DOI, ARXIV, NUMBERED_REF, PART_REF, ISSUE_REF].map(
  (re) => new RegExp(re.source, re.flags.replace('g', '')),
);

const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
