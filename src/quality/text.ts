// Text primitives shared by the quality checks: word tokens, a light stemmer, stopwords, sentence splitting,
// and number/negation extraction. All pure, allocation-light and fast (the grounding check runs per sentence).

/** Function words and fillers that carry no checkable content. */
export const STOPWORDS: ReadonlySet<string> = new Set(
  `a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each else
ever few for from further get gets got had hadn't has hasn't have haven't having he he'd he'll he's her here here's
hers herself him himself his how how's however i i'd i'll i'm i've if in into is isn't it it's its itself just let's
may me might more most must mustn't my myself no nor not now of off on once one only or other ought our ours
ourselves out over own quite rather really same shall shan't she she'd she'll she's should shouldn't so some such
than that that's the their theirs them themselves then there there's these they they'd they'll they're they've this
those through thus to too under until up upon us very was wasn't we we'd we'll we're we've were weren't what what's
when when's where where's whether which while who who's whom whose why why's will with won't would wouldn't yes yeah
yet you you'd you'll you're you've your yours yourself yourselves oh ok okay well much many lot lots thing things
something anything everything nothing someone anyone everyone also even still though although since via per
its it's im ive id dont doesnt didnt cant wont isnt arent wasnt werent thats theres whats youre theyre`.split(/\s+/),
);

/** Words that flip a statement's truth. */
export const NEGATIONS: ReadonlySet<string> = new Set([
  'not',
  'no',
  'never',
  'none',
  'nobody',
  'nothing',
  'neither',
  'nor',
  'without',
  "n't",
  'cannot',
  "can't",
  "don't",
  "doesn't",
  "didn't",
  "isn't",
  "aren't",
  "wasn't",
  "weren't",
  "won't",
  "wouldn't",
  "shouldn't",
  "couldn't",
  "hasn't",
  "haven't",
  "hadn't",
  'dont',
  'doesnt',
  'didnt',
  'isnt',
  'arent',
  'wasnt',
  'werent',
  'wont',
  'cant',
]);

/**
 * A letter, digit or combining mark beyond ASCII (tested one code point at a time): a mark continues its word (the
 * vowel signs of Hindi and Thai, an accent typed as a separate character), it does not split it.
 */
const WORD_CHAR = /^[\p{L}\p{N}\p{M}]$/u;

/** Length in UTF-16 units of the letter or digit at i (1, or 2 for a surrogate pair), 0 when it is neither. */
function wordCharAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) ? 1 : 0;
  const cp = s.codePointAt(i) as number;
  const n = cp > 0xffff ? 2 : 1;
  return WORD_CHAR.test(s.slice(i, i + n)) ? n : 0;
}

const ASCII = /^[\x00-\x7f]*$/;

/** A '-' at i that is a minus sign: a digit follows, and no letter or digit comes before it. */
function isSignedFigureAt(s: string, i: number): boolean {
  if (s.charCodeAt(i) !== 45) return false;
  const d = s.charCodeAt(i + 1);
  return d >= 48 && d <= 57 && (i === 0 || wordCharAt(s, i - 1) === 0);
}

/** `'`, `.`, `,` and `-` join letters and digits into one token ("don't", "1,000.5", "u.s", "covid-19"). */
const isJoiner = (c: number): boolean => c === 39 || c === 46 || c === 44 || c === 45;

/**
 * Scripts written without spaces between words (Han, kana, Thai, Lao, Myanmar, Khmer) or with particles glued to
 * them (Hangul: "에펠탑의", "에펠탑은"): a code point of theirs.
 */
function isCjk(cp: number): boolean {
  return (
    (cp >= 0x0e00 && cp <= 0x0eff) ||
    (cp >= 0x1000 && cp <= 0x109f) ||
    (cp >= 0x1780 && cp <= 0x17ff) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0x3040 && cp <= 0x30ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xff66 && cp <= 0xff9f) ||
    (cp >= 0x20000 && cp <= 0x3134f)
  );
}

/**
 * Pushes a token, splitting the runs of Chinese, Japanese, Korean, Thai... characters in it (`isCjk`) into
 * overlapping character pairs ("東京タワー" → 東京, 京タ, タワ, ワー), the usual unit of matching for text without
 * spaces (a whole clause would otherwise be one "word" that never matches); the digits and Latin letters between them
 * stay tokens of their own ("330미터" → 330, 미터).
 */
function pushCjk(out: string[], w: string): void {
  let run: string[] = [];
  let other = '';
  const flush = () => {
    if (run.length === 1) out.push(run[0] as string);
    else for (let k = 1; k < run.length; k++) out.push(`${run[k - 1]}${run[k]}`);
    run = [];
  };
  for (const ch of w) {
    if (isCjk(ch.codePointAt(0) as number)) {
      if (other) {
        out.push(other);
        other = '';
      }
      run.push(ch);
    } else {
      if (run.length) flush();
      other += ch;
    }
  }
  if (run.length) flush();
  if (other) out.push(other);
}

/**
 * Lowercased word tokens (apostrophes normalised, internal `.`/`,` kept only inside numbers): runs of letters and
 * digits (and combining marks), joined by single `'` `.` `,` `-`; Chinese, Japanese, Korean, Thai... as overlapping
 * character pairs (`pushCjk`). A
 * hand-written scanner (the same tokens as the pattern /[\p{L}\p{N}]+(?:['.,-][\p{L}\p{N}]+)*\/u, then the pairs):
 * words runs on every evidence sentence, and a scanner costs less than a Unicode regex.
 */
export function words(text: string): string[] {
  const out: string[] = [];
  // The text is lowercased and its ’ folded once, not token by token; text beyond ASCII is composed (NFC), so an
  // accent typed as its own character meets the accented letter.
  let lower = text.toLowerCase();
  if (!ASCII.test(lower)) lower = lower.normalize('NFC');
  if (lower.includes('’')) lower = lower.replace(/’/g, "'");
  // The minus sign (U+2212, as encyclopedias write "−5 °C") is a hyphen-minus here.
  if (lower.includes('−')) lower = lower.replace(/−/g, '-');
  const n = lower.length;
  let i = 0;
  while (i < n) {
    let k = wordCharAt(lower, i);
    const start = i;
    if (k === 0) {
      // A minus sign before a figure, not joining two words ("-5", "(-12.5)"; not "covid-19"): part of the figure's
      // token, so that -5 and 5 are different figures.
      if (!isSignedFigureAt(lower, i)) {
        i++;
        continue;
      }
      i++;
      k = 1;
    }
    let joined = false;
    // Whether the token may hold characters of those scripts (a code unit at or above U+0E00).
    let wide = false;
    for (;;) {
      while (k > 0) {
        if (lower.charCodeAt(i) >= 0x0e00) wide = true;
        i += k;
        k = i < n ? wordCharAt(lower, i) : 0;
      }
      // A joiner followed by a letter or digit continues the token.
      const next = i + 1 < n && isJoiner(lower.charCodeAt(i)) ? wordCharAt(lower, i + 1) : 0;
      if (next > 0) {
        k = next;
        if (lower.charCodeAt(i) !== 39 && lower.charCodeAt(i) !== 45) joined = true;
        i++;
        continue;
      }
      break;
    }
    let w = lower.slice(start, i);
    if (joined && !/^-?\d[\d.,]*\d[a-z]*$/.test(w)) {
      // "U.S." / "e.g." / "end.Start" — split on the dots/commas unless it is a number like 1,000.5 (or 3.5km)
      for (const part of w.split(/[.,]/))
        if (part) {
          if (wide) pushCjk(out, part);
          else out.push(part);
        }
      continue;
    }
    if (w.endsWith("'s")) w = w.slice(0, -2);
    if (wide) pushCjk(out, w);
    else out.push(w);
  }
  return out;
}

/**
 * A light stemmer: folds plurals, -ing, -ed, -ly and a few derivational endings so "published"/"publishes",
 * "countries"/"country", "located"/"location"/"locator" meet. Not Porter: it must be fast and predictable, not
 * linguistically complete.
 */
export function stem(w: string): string {
  if (w.length <= 3) return w;
  const hit = STEMS.get(w);
  if (hit !== undefined) return hit;
  const s = stemUncached(w, true);
  if (STEMS.size >= STEM_CACHE) STEMS.clear();
  STEMS.set(w, s);
  return s;
}

/** The stemmer as it was before a stem's -at was folded ("located" ≠ "location"): the benchmark's ablation. */
export function stemKeepingAt(w: string): string {
  if (w.length <= 3) return w;
  let s = STEMS_KEEPING_AT.get(w);
  if (s === undefined) {
    s = stemUncached(w, false);
    if (STEMS_KEEPING_AT.size >= STEM_CACHE) STEMS_KEEPING_AT.clear();
    STEMS_KEEPING_AT.set(w, s);
  }
  return s;
}
const STEMS_KEEPING_AT = new Map<string, string>();

/** Memo of stems: the same words recur across sentences and calls; bounded, cleared when full. */
const STEMS = new Map<string, string>();
const STEM_CACHE = 50_000;

function stemUncached(w: string, foldAt: boolean): string {
  if (/\d/.test(w)) return w;
  let s = w;
  if (s.endsWith("'")) s = s.slice(0, -1);
  if (s.endsWith('ies') && s.length > 4) s = `${s.slice(0, -3)}i`;
  else if (/(ches|shes|sses|xes|zes)$/.test(s)) s = s.slice(0, -2);
  else if (s.endsWith('s') && !/(ss|us|is|ys)$/.test(s) && s.length > 3) s = s.slice(0, -1);
  if (s.endsWith('ing') && s.length > 5) s = undouble(s.slice(0, -3));
  else if (s.endsWith('ied') && s.length > 4) s = `${s.slice(0, -3)}i`;
  else if (s.endsWith('ed') && s.length > 4) s = undouble(s.slice(0, -2));
  if (s.endsWith('ly') && s.length > 5) s = s.slice(0, -2);
  if (s.endsWith('ment') && s.length > 7) s = s.slice(0, -4);
  else if (s.endsWith('ation') && s.length > 7) s = s.slice(0, -5);
  else if (foldAt && s.endsWith('ator') && s.length > 6) s = s.slice(0, -4);
  else if (s.endsWith('ness') && s.length > 6) s = s.slice(0, -4);
  else if (s.endsWith('er') && s.length > 5) s = undouble(s.slice(0, -2));
  if (s.endsWith('e') && s.length > 3) s = s.slice(0, -1);
  if (s.endsWith('y') && s.length > 3) s = `${s.slice(0, -1)}i`;
  // "located", "locates", "locating", "locator" meet "location" (whose -ation went above): a stem's -at goes too
  // (so "treat" and "treated", "private" and "privately" still meet each other).
  if (foldAt && s.endsWith('at') && s.length >= 5) s = s.slice(0, -2);
  return s;
}

function undouble(s: string): string {
  const n = s.length;
  if (n >= 3 && s[n - 1] === s[n - 2] && !/[lsz]/.test(s[n - 1] as string)) return s.slice(0, -1);
  return s;
}

/**
 * Numbers written as words, folded to digits for matching: "twelve" meets "12", "third" meets "3rd". Only words that
 * are numbers whatever the context ("one" is a stopword, "second" is also a unit of time, so neither is here).
 */
const NUMBER_STEMS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    zero: 0,
    two: 2,
    three: 3,
    four: 4,
    five: 5,
    six: 6,
    seven: 7,
    eight: 8,
    nine: 9,
    ten: 10,
    eleven: 11,
    twelve: 12,
    thirteen: 13,
    fourteen: 14,
    fifteen: 15,
    sixteen: 16,
    seventeen: 17,
    eighteen: 18,
    nineteen: 19,
    twenty: 20,
    thirty: 30,
    forty: 40,
    fifty: 50,
    sixty: 60,
    seventy: 70,
    eighty: 80,
    ninety: 90,
    first: 1,
    third: 3,
    fourth: 4,
    fifth: 5,
    sixth: 6,
    seventh: 7,
    eighth: 8,
    ninth: 9,
    tenth: 10,
  }).map(([k, v]) => [k, String(v)]),
);

/**
 * The stem a word is matched by in the grounding check: `stem`, with numbers folded to one spelling — number words to
 * digits ("twelve" → "12"), ordinals and decades to their number ("7th" → "7", "1960s" → "1960"), thousands
 * separators dropped ("1,000" → "1000") — so an answer that writes a figure differently from its source still counts as supported.
 */
export function matchStem(w: string, st: (w: string) => string = stem): string {
  const c = w.charCodeAt(0);
  // A negative figure keeps its sign: "-5" never meets "5".
  if (c === 45 && /^-\d/.test(w)) return `-${matchStem(w.slice(1), st)}`;
  if (c >= 48 && c <= 57) {
    const m = /^(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:st|nd|rd|th|s)?$/.exec(w);
    return m ? `${(m[1] as string).replace(/,/g, '')}${m[2] ?? ''}` : w;
  }
  return NUMBER_STEMS.get(w) ?? st(w);
}

/**
 * The match stems of one word token: a hyphenated word gives its content parts ("twelve-bar" → 12, bar;
 * "action-adventure" → action, adventur), a figure with a unit glued on gives the figure and the unit ("5km" → 5,
 * km), so "a 12 bar blues" and "an action film" meet their source; `out` gets them.
 */
export const pushMatchStems: (w: string, out: string[]) => void = matchStemmer(stem);

/** pushMatchStems over the stemmer as it was before -at was folded (`stemKeepingAt`): the benchmark's ablation. */
export const pushMatchStemsKeepingAt: (w: string, out: string[]) => void = matchStemmer(stemKeepingAt);

function matchStemmer(st: (w: string) => string): (w: string, out: string[]) => void {
  /** Memo per word ('' = not a content word): one lookup per word instead of three. */
  const MATCHES = new Map<string, string | string[]>();
  return (w, out) => {
    let m = MATCHES.get(w);
    if (m === undefined) {
      const unit = /^(-?\d[\d,.]*)([a-z]{1,5})$/.exec(w);
      if (unit && !/^(?:st|nd|rd|th|s)$/.test(unit[2] as string)) {
        // A figure with its unit glued on ("330m", "5km", "10kg"): the figure, and the unit when it is a content word.
        const u = unit[2] as string;
        m = isContent(u) ? [matchStem(unit[1] as string, st), st(u)] : matchStem(unit[1] as string, st);
      } else if (!w.includes('-') || /^-\d[\d,.]*(?:st|nd|rd|th|s)?$/.test(w)) m = isContent(w) ? matchStem(w, st) : '';
      else {
        const parts: string[] = [];
        for (const part of w.split('-')) if (part && isContent(part)) parts.push(matchStem(part, st));
        m = parts.length === 1 ? (parts[0] as string) : parts;
      }
      if (MATCHES.size >= STEM_CACHE) MATCHES.clear();
      MATCHES.set(w, m);
    }
    if (typeof m === 'string') {
      if (m) out.push(m);
    } else for (const x of m) out.push(x);
  };
}

/** Stems of the content words (stopwords and one-letter tokens dropped). */
export function contentStems(text: string): string[] {
  const out: string[] = [];
  for (const w of words(text)) if (isContent(w)) out.push(stem(w));
  return out;
}

export function isContent(w: string): boolean {
  if (w.length > 1) return !STOPWORDS.has(w);
  const c = w.charCodeAt(0);
  // A digit, or a Chinese character or Hangul syllable standing alone (a kana alone is mostly a particle).
  return (
    (c >= 48 && c <= 57) || (c >= 0x3400 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xac00 && c <= 0xd7a3)
  );
}

/**
 * Sentences, split at . ! ? (not inside numbers, initials or common abbreviations), newlines, semicolons and the
 * Chinese and Japanese full stops 。！？ (no space follows them). Also at a period glued to the next sentence
 * ("...century.First for Women", "in 2013.Reggie Yates", "etc.Twenty One Pilots"), common in pasted text: after a
 * number or an abbreviation too. `glued: false` is the earlier splitting (after two lower-case letters only, and
 * not after an abbreviation), kept for the benchmark's ablation.
 */
export function sentences(text: string, glued = true): { text: string; start: number }[] {
  const out: { text: string; start: number }[] = [];
  // Every alternative starts with one of . ! ? newline ; 。！？ (the glued period checks the letters before it after matching
  // it), so the engine can skip ahead to those characters instead of trying a lookbehind at every position.
  const re = glued ? SENTENCE_END : SENTENCE_END_BEFORE;
  re.lastIndex = 0;
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const end = m.index + m[0].length;
    const piece = text.slice(last, end);
    // An abbreviation's period ("Dr. Smith", "etc. and") ends no sentence; one glued to a capitalised word does.
    const isGlued = glued && m[0] === '.' && end < text.length && !/\s/.test(text[end] as string);
    if (!isGlued && m[0][0] === '.' && isAbbreviationEnd(text, Math.max(last, m.index - 12), m.index)) continue;
    pushSentence(out, piece, last);
    last = end;
  }
  if (last < text.length) pushSentence(out, text.slice(last), last);
  return out;
}

// A run of . ! ? is tried from its first mark only ((?<![.!?])): from a later one it reaches the same end and fails or
// matches as the first did, and trying each of them read the rest of the run again (a 10,000-dot answer 0.7 s, 100,000
// a minute). The matches are the same.
const SENTENCE_END =
  /(?<![.!?])[.!?]+["')\]]*(?=\s|$)|\.(?<=[\p{Ll}\d]{2}\.)(?=\p{Lu}\p{Ll})|\n+|;\s|[。！？]+[」』）]*/gu;
const SENTENCE_END_BEFORE =
  /(?<![.!?])[.!?]+["')\]]*(?=\s|$)|\.(?<=\p{Ll}{2}\.)(?=\p{Lu}\p{Ll})|\n+|;\s|[。！？]+[」』）]*/gu;
/** Both patterns, for the test that they match as they did before the lookbehind. */
export const SENTENCE_ENDS = [SENTENCE_END, SENTENCE_END_BEFORE] as const;

function pushSentence(out: { text: string; start: number }[], piece: string, offset: number): void {
  const lead = piece.length - piece.trimStart().length;
  const t = piece.trim();
  if (t && hasWordChar(t)) out.push({ text: t, start: offset + lead });
}

/** Whether the text has a letter or digit: a passage without one has no sentence (`sentences` gives none). */
export function hasWordChar(t: string): boolean {
  for (let i = 0; i < t.length; i++) if (wordCharAt(t, i) > 0) return true;
  return false;
}

const ABBREV = new Set([
  'mr',
  'mrs',
  'ms',
  'dr',
  'prof',
  'sr',
  'jr',
  'st',
  'vs',
  'etc',
  'inc',
  'ltd',
  'co',
  'no',
  'fig',
  'e.g',
  'i.e',
  'u.s',
  'approx',
  'jan',
  'feb',
  'mar',
  'apr',
  'jun',
  'jul',
  'aug',
  'sep',
  'sept',
  'oct',
  'nov',
  'dec',
]);

/** Longest entry of ABBREV. */
const ABBREV_CHARS = Math.max(...[...ABBREV].map((w) => w.length));

/**
 * Whether text[from, to) ends in an abbreviation or a single capital (an initial): its trailing run of letters and
 * dots. Read without a copy or a pattern when that run and the character before it are ASCII (nearly always: a run
 * longer than any abbreviation is no abbreviation); the pattern reads the rest.
 */
export function isAbbreviationEnd(text: string, from: number, to: number): boolean {
  let i = to;
  for (; i > from; i--) {
    const c = text.charCodeAt(i - 1);
    if (c >= 128) return abbreviationByPattern(text.slice(from, to));
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 46)) break;
  }
  const n = to - i;
  if (n === 0 || n > ABBREV_CHARS) return false;
  if (n === 1) {
    const c = text.charCodeAt(i);
    return c >= 65 && c <= 90;
  }
  return ABBREV.has(text.slice(i, to).toLowerCase());
}

/** `isAbbreviationEnd` read by pattern, for text beyond ASCII. */
export function abbreviationByPattern(before: string): boolean {
  const m = /([\p{L}.]+)$/u.exec(before);
  if (!m) return false;
  const w = (m[1] as string).toLowerCase();
  return ABBREV.has(w) || /^\p{Lu}$/u.test(m[1] as string);
}

const NUMBER_WORDS: Record<string, number> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90,
  hundred: 100,
  thousand: 1000,
  million: 1e6,
  billion: 1e9,
  trillion: 1e12,
  first: 1,
  second: 2,
  third: 3,
  fourth: 4,
  fifth: 5,
  sixth: 6,
  seventh: 7,
  eighth: 8,
  ninth: 9,
  tenth: 10,
  dozen: 12,
};

/** The keys of NUMBER_WORDS, for the per-token test (a Set lookup is cheaper than hasOwn on every word). */
const NUMBER_WORD_SET: ReadonlySet<string> = new Set(Object.keys(NUMBER_WORDS));

const SCALE: Record<string, number> = {
  hundred: 100,
  thousand: 1e3,
  million: 1e6,
  billion: 1e9,
  trillion: 1e12,
  k: 1e3,
  m: 1e6,
  bn: 1e9,
};

/**
 * Numbers a text asserts, normalised: "1,200" → 1200, "3.5 million" → 3500000, "twelve" → 12, "1990s" → 1990,
 * "25%" → 25. Word numbers below ten that are also ordinary words ("one of the ...") are kept: they are only
 * compared with the evidence's numbers, never flagged on their own.
 */
export function numbersIn(text: string): number[] {
  return numberMentions(text).map((n) => n.value);
}

export interface NumberMention {
  value: number;
  /**
   * Another reading of the same figure when the way it is written is ambiguous: "10.100" (ten point one, or ten
   * thousand one hundred with a European thousands dot), "10,100" (or ten point one with a decimal comma), "330m"
   * (330 metres, or 330 million), "5k" (five kilometres, or five thousand). A claim's figure agrees with the evidence
   * when either reading does.
   */
  alt?: number;
  /** Written with digits (a date, a count, a measure) rather than as a word ("one", "third"). */
  digits: boolean;
  /** Index of its token in `words(text)`. */
  index: number;
}

/** Letters glued to a figure that make it a count of thousands, millions or billions: "5k", "$3m", "2bn". */
const GLUED_SCALE: Record<string, number> = { k: 1e3, m: 1e6, bn: 1e9 };
/** Of those, the ones that are also units ("330m" tall, a "5k" run): read both ways. "5mm" is millimetres. */
const GLUED_UNIT_TOO = new Set(['k', 'm']);

/**
 * The value of a figure written in digits (no letters): "1,200" → 1200, "1.000.000" → 1000000, "2,5" → 2.5, with the
 * other reading of an ambiguous one ("10.100", "10,100"); null for lists like "1,2,3" (split by the caller).
 */
function digitValue(s: string): { value: number; alt?: number } | null {
  if (/^\d+(?:\.\d+)?$/.test(s)) {
    const value = Number(s);
    // One dot before exactly three digits: a decimal in English, thousands in German, French, Spanish...
    return /^[1-9]\d{0,2}\.\d{3}$/.test(s) ? { value, alt: Number(s.replace('.', '')) } : { value };
  }
  if (/^\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(s)) {
    const value = Number(s.replace(/,/g, ''));
    return /^[1-9]\d{0,2},\d{3}$/.test(s) ? { value, alt: Number(s.replace(',', '.')) } : { value };
  }
  // European: thousands dots and / or a decimal comma ("1.000.000", "10.100,5", "2,5").
  if (/^\d{1,3}(?:\.\d{3})+(?:,\d+)?$/.test(s) || /^\d+,\d{1,2}$/.test(s))
    return { value: Number(s.replace(/\./g, '').replace(',', '.')) };
  return null;
}

/** Like numbersIn (on text or on its `words`), saying which were written in digits (word numbers are often not quantities: "one of them"). */
export function numberMentions(text: string | readonly string[]): NumberMention[] {
  const out: NumberMention[] = [];
  const toks = typeof text === 'string' ? words(text) : text;
  for (let i = 0; i < toks.length; i++) {
    let t = toks[i] as string;
    // Negative: a minus sign ("-5", "−5": `words` keeps it on the figure) or the word before it ("minus 5").
    let sign = 1;
    if (t.charCodeAt(0) === 45 && /^-\d[^-]*$/.test(t)) {
      t = t.slice(1);
      sign = -1;
    } else if (i > 0 && toks[i - 1] === 'minus') sign = -1;
    const c = t.charCodeAt(0);
    if (t.includes('-') && /\d/.test(t)) {
      // A hyphenated name or range: "AES-256", "COVID-19", "INV-20931", "1990-1995" — each all-digit part counts.
      for (const part of t.split('-'))
        if (/^\d+(?:\.\d+)?$/.test(part)) out.push({ value: Number(part), digits: true, index: i });
      continue;
    }
    if (t.includes('-') && c >= 97 && c <= 122) {
      // "twelve-bar", "twenty-five": a cardinal from two up joined to another word or to its units. Not "one-time",
      // "second-largest" or "first-class" (no quantity), nor "well-known".
      const [head = '', tail = ''] = t.split('-');
      if (
        NUMBER_WORD_SET.has(head) &&
        !Object.hasOwn(SCALE, head) &&
        (NUMBER_WORDS[head] as number) >= 2 &&
        !/(?:first|second|rd|th)$/.test(head)
      ) {
        const a = NUMBER_WORDS[head] as number;
        const b = NUMBER_WORD_SET.has(tail) ? (NUMBER_WORDS[tail] as number) : undefined;
        out.push({ value: a >= 20 && a < 100 && b !== undefined && b < 10 ? a + b : a, digits: false, index: i });
      }
      continue;
    }
    if (!(c >= 48 && c <= 57) && !NUMBER_WORD_SET.has(t)) continue;
    let v: number | null = null;
    let alt: number | undefined;
    let digits = false;
    // Digits, then letters glued to them: a decade ("1990s"), an ordinal ("3rd"), a scale ("5k", "2bn") or a unit
    // ("330m", "5km", "10kg", "3.5GHz": the figure is the number before the unit).
    const m = /^(\d[\d,.]*\d|\d)([a-z]{1,5})?$/.exec(t);
    if (m) {
      const d = digitValue(m[1] as string);
      if (d === null) {
        // "1,2,3": a list of figures; "1.5.3" (a version) or "192.168.0.1": none.
        const parts = (m[1] as string).split(',');
        if (parts.every((p) => /^\d+(?:\.\d+)?$/.test(p)))
          for (const part of parts) out.push({ value: sign * Number(part), digits: true, index: i });
        continue;
      }
      v = d.value;
      alt = d.alt;
      digits = true;
      const suffix = m[2];
      const scale = suffix ? GLUED_SCALE[suffix] : undefined;
      if (scale !== undefined) {
        if (GLUED_UNIT_TOO.has(suffix as string)) alt = v;
        else if (alt !== undefined) alt *= scale;
        v *= scale;
      }
    } else if (Object.hasOwn(NUMBER_WORDS, t) && !Object.hasOwn(SCALE, t)) v = NUMBER_WORDS[t] as number;
    if (v === null || !Number.isFinite(v)) continue;
    const index = i;
    const next = toks[i + 1];
    if (next && Object.hasOwn(SCALE, next) && next.length > 2) {
      v *= SCALE[next] as number;
      if (alt !== undefined) alt *= SCALE[next] as number;
      i++;
    }
    if (sign < 0) {
      v = -v;
      if (alt !== undefined) alt = -alt;
    }
    out.push(alt !== undefined && alt !== v ? { value: v, alt, digits, index } : { value: v, digits, index });
  }
  return out;
}

/** True when the text negates (not, never, no, n't, ...). */
export function hasNegation(ws: readonly string[]): boolean {
  for (const w of ws) if (NEGATIONS.has(w) || w.endsWith("n't")) return true;
  return false;
}

/** FNV-1a 32-bit hash of a string, for deterministic sampling. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** hash32's rounds over `s`, continuing from `h`. */
function fnvFrom(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/** A deterministic number in [0, 1) from a key (and a salt, so different samplers pick independently). */
export function unitHash(key: string, salt = ''): number {
  // Two rounds mix the low bits of similar ids (uuidv7s differ mostly at the end): hash32(`${salt}:${key}`), then
  // hash32 of that number in base 36 followed by the key, each folded piece by piece rather than over a string
  // built for it (the review sample asks once per call: 513 -> 352 ns).
  const h = fnvFrom(Math.imul(fnvFrom(0x811c9dc5, salt) ^ 58, 0x01000193), key) >>> 0;
  return (fnvFrom(fnvFrom(0x811c9dc5, h.toString(36)), key) >>> 0) / 4294967296;
}
