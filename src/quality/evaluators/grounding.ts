// Grounding: is each claim of the response backed by the request's own context or the knowledge base?
// The response is split into claims (sentences); for each claim the best evidence is retrieved (context sentences by
// overlap, knowledge-base passages by BM25) and signals are measured: content-word coverage (as written, and stemmed
// with a prefix fallback for inflections the stemmer misses), support by the single best sentence, word pairs and
// trigrams kept in order (copied facts vs recombined words), numbers that agree or disagree, names, negation that
// flips a statement, first-person statements, length against the evidence. The learned scorer (../model/, trained
// by `npm run train:quality`) turns them into a calibrated probability per claim and per answer; `model: null`
// keeps the old hand-weighted score. Every claim is marked supported / unsupported / contradicted with the evidence
// that decided it, and the verdict names the worst claim and its best evidence.
import type { KnowledgeBase } from '../knowledge.js';
import { type ClaimSignals, responseFeatures } from '../model/features.js';
import { type GroundingModel, predict, shippedModel } from '../model/scorer.js';
import {
  contentStems,
  hasNegation,
  hasWordChar,
  isContent,
  type NumberMention,
  numberMentions,
  pushMatchStems,
  pushMatchStemsKeepingAt,
  sentences,
  stem,
  stemKeepingAt,
  words,
} from '../text.js';
import { jsonAnswerText } from './answer.js';
import { DEFAULT_GROUNDING_THRESHOLD } from './threshold.js';
import type { ClaimResult, EvaluationInput, EvaluationResult, Evaluator, Evidence } from './types.js';
import { type UnitMention, unitsAfter } from './units.js';

export { DEFAULT_GROUNDING_THRESHOLD };
/** The old hand-weighted score's threshold (`model: null`). */
export const LEXICAL_GROUNDING_THRESHOLD = 0.4;

export interface GroundingOptions {
  /** Response score at or above which the verdict is `fail` (default DEFAULT_GROUNDING_THRESHOLD). */
  threshold?: number;
  /** Knowledge-base passages retrieved per claim (default 3). */
  kbTopK?: number;
  /**
   * Without a knowledge base, a context with fewer distinct content words than this is not material to check
   * against (a bare question, "write me a poem"): the verdict is `unknown` instead of flagging every claim.
   * Default 0 (always check); the online module uses `quality.minContextWords`.
   */
  minContextWords?: number;
  /**
   * The learned scorer that turns the per-claim signals into a calibrated probability (default: the shipped model,
   * src/quality/model/grounding-model.json). `null` keeps the hand-weighted lexical score (the old check).
   */
  model?: GroundingModel | null;
  /**
   * Match figures however written and hyphenated words by their parts (`matchStem`, `pushMatchStems`), and count a
   * figure's words as present when the evidence states its value ("10.1 thousand" for "10,100"); default true.
   * `false` is the earlier matching, kept so the benchmark can measure what the folding is worth held out.
   */
  foldFigures?: boolean;
  /** Leave reactions and agreement beside real claims unchecked (`isPhatic`; default true; `false` for the benchmark). */
  skipReactions?: boolean;
  /**
   * Tell a first-person word that is part of a name ("Barton Mine", "Despicable Me", "World War I") or "mine" the noun
   * from one about the speaker (`firstPersonMask`; default true). `false` is the earlier reading, for the benchmark.
   */
  namesNotFirstPerson?: boolean;
  /**
   * A claim's figure counts as stated only in a sentence about the claim (`statesNear`; default true): in a long
   * source nearly every figure is stated somewhere. `false` is the earlier check (anywhere), for the benchmark.
   */
  figuresNearby?: boolean;
  /**
   * The stemmer folds a stem's -at ("located", "locator" meet "location"; default true). `false` is the earlier
   * stemmer (`stemKeepingAt`), for the benchmark's ablation.
   */
  foldAt?: boolean;
  /**
   * The evidence's other spellings count: its joined-up words by their parts ("movieName" → movie, name;
   * `pushCamelParts`), its symbols by their words ("$" → dollar, "%" → percent; `pushSymbolWords`), a capitalised
   * name of several words by its initials ("United States of America" → usa; `pushInitials`); default true. `false`
   * is the earlier reading, for the benchmark's ablation.
   */
  spellings?: boolean;
  /**
   * A period glued to a capitalised word ends a sentence after a number or an abbreviation too ("in 2013.Reggie",
   * "etc.Twenty": passages pasted together; `sentences`); default true. `false` is the earlier splitting, for the
   * benchmark's ablation.
   */
  gluedSentences?: boolean;
  /**
   * Take no shortcut: build the evidence pool before finding the context too thin (`minContextWords`) or the answer
   * without a checkable claim, and have each claim read every evidence unit it shares a stem with, not each distinct
   * sentence once (`EvidencePool.perUnit`). The results are the same, only slower; kept so that a test holds the
   * shortcuts to the full path's results (shortcuts.test.ts, repeated-sentences.test.ts).
   */
  fullScan?: boolean;
}

interface Unit {
  id: string;
  source: 'context' | 'kb';
  text: string;
  stems: Set<string>;
  /** Content stems in order (pairs are formed from them when the unit is first a candidate). */
  seq: string[];
  /** Its numbers and polarity, computed when first needed (most units are never a claim's best evidence). */
  numbers?: number[];
  /** Its figures as numberMentions reads them, kept once read (a claim's figure looks them up in every unit stating it). */
  mentions?: NumberMention[];
  negated?: boolean;
  /** All words, in order: its trigrams are indexed when a claim first shares a content word with the unit. */
  ws: string[];
  /** Whether its pairs, trigrams and words are in the pool's sets (done once, when a claim first shares a stem). */
  detailed: boolean;
  /** Whether it continues the previous unit's sentence (that one ended in a semicolon): one sentence for names. */
  continues: boolean;
  /** Its text's class in the pool: the units of one text share one (`EvidencePool.members`); -1 until added. */
  cls: number;
}

interface ClaimTokens {
  /** All words, in order. */
  ws: string[];
  stems: string[];
  /** Adjacent content stems (order kept), the unit of "copied fact". */
  pairs: string[];
  /** Every reading of its figures (`NumberMention.alt` too). */
  numbers: number[];
  /** Figures written in digits or as words above ten: the ones worth checking (with their other reading). */
  checkable: { value: number; alt?: number }[];
  /** The stems that write a figure ("10.1" and "thousand" in "10.1 thousand"), with the figure's readings. */
  figureStems: Map<string, number[]>;
  negated: boolean;
  firstPerson: boolean;
  /** Per word of `ws`: a first-person word about the speaker (not part of a name: "Barton Mine", "World War I"). */
  fp: boolean[];
  /** Ends with a question mark. */
  question: boolean;
  /** Softened ("I think", "maybe", "probably"). */
  hedged: boolean;
  names: string[];
}

const PREFIX = 5;
const NO_WORDS: ReadonlySet<string> = new Set<string>();
/** Most evidence units whose word pairs and trigrams one claim indexes (the ones that share most of its words). */
const DETAIL_UNITS = 64;
/** Evidence units beyond which the figures and word beginnings are indexed in steps before the claims. */
const LONG_SOURCE = 512;
/** Longest the online check runs before letting the event loop turn. */
const SLICE_MS = 4;
const FIRST_PERSON = new Set(['i', "i'm", "i've", "i'd", "i'll", 'im', 'ive', 'me', 'my', 'mine', 'myself']);
/** Words that soften a statement into an opinion or a guess. */
const HEDGES = new Set([
  'think',
  'believe',
  'guess',
  'maybe',
  'perhaps',
  'probably',
  'possibly',
  'might',
  'seems',
  'seem',
  'suppose',
  'apparently',
  'likely',
  'bet',
  'hope',
  'wonder',
  'feel',
]);

/** Pushes the stems a word is matched by (none for a stopword). */
type Stemmer = (w: string, out: string[]) => void;
/** Before figures were folded: the light stemmer alone, a hyphenated word one stem (the benchmark's ablation). */
const plainStems: Stemmer = (w, out) => {
  if (isContent(w)) out.push(stem(w));
};
const plainStemsKeepingAt: Stemmer = (w, out) => {
  if (isContent(w)) out.push(stemKeepingAt(w));
};

/** Content stems in order and the adjacent pairs among them. */
function stemsAndPairs(ws: readonly string[], st: Stemmer): { stems: string[]; pairs: string[] } {
  const stems: string[] = [];
  for (const w of ws) st(w, stems);
  const pairs: string[] = [];
  for (let i = 1; i < stems.length; i++) pairs.push(`${stems[i - 1]} ${stems[i]}`);
  return { stems, pairs };
}

/** A leading "no"/"yes" answers the user; it does not negate the statement after it. */
function polarityOf(ws: readonly string[]): boolean {
  return hasNegation(ws[0] === 'no' || ws[0] === 'nope' || ws[0] === 'yes' ? ws.slice(1) : ws);
}

function tokensOf(text: string, st: Stemmer, namesNotFirstPerson = true, capitalsAreNames = true): ClaimTokens {
  const ws = words(text);
  const { stems, pairs } = stemsAndPairs(ws, st);
  const nums = numberMentions(ws);
  const fp = namesNotFirstPerson ? firstPersonMask(text, ws) : ws.map((w) => FIRST_PERSON.has(w));
  return {
    ws,
    stems,
    pairs,
    numbers: nums.flatMap(readings),
    checkable: nums.filter((n) => n.digits || n.value > 10 || n.value < 0),
    figureStems: figureStems(ws, nums, st),
    negated: polarityOf(ws),
    firstPerson: fp.includes(true),
    fp,
    question: /\?["')\]]*\s*$/.test(text),
    hedged: ws.some((w) => HEDGES.has(w)),
    names: capitalsAreNames ? namesIn(text, st) : [],
  };
}

/** A capitalised first-person word inside a sentence: part of a name or title ("Barton Mine", "Despicable Me"). */
const NAMED_FIRST_PERSON = /(?<![.!?]\s|^)(?<=\s|["'(“‘])(?:Mine|Me|My|Myself)\b/g;
/** "I" as a numeral after a word it numbers ("World War I", "Part I", "Elizabeth I"). */
const ROMAN_I =
  /(?<=\b(?:War|Part|Chapter|Vol\.?|Volume|Book|Act|Phase|Type|Class|Title|Season|Series|Stage|Level|Division|Article|Section|Bowl|Henry|George|Charles|James|Edward|William|Elizabeth|Louis|Richard|Napoleon)\s+)I\b(?!['’])/g;
/** The words before "mine" that make it the pronoun ("a friend of mine", "it is mine"); after others it is a pit. */
const BEFORE_PRONOUN_MINE = new Set(
  'of is was are were be been being and or like than as not too with unlike yours hers his ours theirs also all'.split(
    ' ',
  ),
);

/**
 * Per word of `words(text)`: whether it is a first-person word about the speaker. Not when it is part of a name or
 * title written with a capital inside a sentence ("the Barton Mine", "Despicable Me"), a numeral ("World War I"), or
 * "mine" the noun ("the gold mine"); those are facts the evidence can back like any other word.
 */
export function firstPersonMask(text: string, ws: readonly string[]): boolean[] {
  const plain = ws.map((w) => FIRST_PERSON.has(w));
  if (!plain.includes(true)) return plain;
  // Each name-part replaced by one placeholder word, so the words stay aligned with `ws`.
  const masked = text.replace(NAMED_FIRST_PERSON, 'Zzname').replace(ROMAN_I, 'Zzname');
  const mw = masked === text ? ws : words(masked);
  const base = mw.length === ws.length ? mw : ws;
  return base.map(
    (w, i) => FIRST_PERSON.has(w) && (w !== 'mine' || i === 0 || BEFORE_PRONOUN_MINE.has(base[i - 1] as string)),
  );
}

/** German's commonest function words (none of them an English word but "die"). */
const GERMAN = new Set(
  'der die das den dem des und ist sind nicht ein eine einen einem einer eines mit von zu zum zur im auf für sich auch als wurde wird werden waren bei nach aus über oder aber wie dass noch nur schon hat haben'.split(
    ' ',
  ),
);

/**
 * Whether the text is German, where every noun is written with a capital ("330 Meter", "10.100 Tonnen"): there a
 * capital does not mark a name, and the checks on names (missing, apart, swapped) would read every noun as one.
 */
export function capitalisesNouns(text: string): boolean {
  const ws = words(text);
  let n = 0;
  for (const w of ws) if (GERMAN.has(w)) n++;
  return n >= 2 && n >= 0.08 * ws.length;
}

/** Stems of capitalised words that are not sentence-initial: the names a claim relates to each other. */
function namesIn(text: string, st: Stemmer): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/(?<![.!?]\s|^)(?<=\s|["'(])(\p{Lu}[\p{L}\p{N}'’-]*)/gu)) {
    const w = (m[1] as string).toLowerCase().replace(/’/g, "'").replace(/'s$/, '');
    const parts: string[] = [];
    st(w, parts);
    for (const p of parts) out.add(p);
  }
  return [...out];
}

/** A figure's readings: its value, and its other reading when the way it is written is ambiguous. */
const readings = (n: NumberMention): number[] => (n.alt === undefined ? [n.value] : [n.value, n.alt]);

const SCALE_WORDS = new Set(['hundred', 'thousand', 'million', 'billion', 'trillion']);

/** The stems of the words that write each figure (the scale word after it too), with the figures' readings. */
export function figureStems(ws: readonly string[], nums: readonly NumberMention[], st: Stemmer): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const n of nums) {
    const stems: string[] = [];
    st(ws[n.index] as string, stems);
    const next = ws[n.index + 1];
    if (next !== undefined && SCALE_WORDS.has(next)) st(next, stems);
    // "minus 5" writes the figure -5 in two words (the evidence may write "-5" or "−5").
    if (n.value < 0 && ws[n.index - 1] === 'minus') st('minus', stems);
    // Each reading once per stem: the list was copied for each figure written with that stem, quadratic in a claim
    // repeating one figure thousands of times, and each of its repeats then read the whole list (scoreClaim).
    for (const s of stems) {
      let values = out.get(s);
      if (values === undefined) {
        values = [];
        out.set(s, values);
      }
      for (const v of readings(n)) if (!values.includes(v)) values.push(v);
    }
  }
  return out;
}

/**
 * The parts of the evidence's joined-up words ("movieName" → movie, name; "releaseYear", "YouTube", "PlayStation"):
 * keys of JSON and tool output, and names, that a claim writes apart. Added to the unit's stems beside the whole word
 * (a claim writing the whole word still meets it).
 */
// Tried at a word's first letter only ((?<![A-Za-z])): from a later letter the match reaches the same end and fails
// as it did from the first (a 2,000-letter word: 2,000 tries of up to 2,000 letters each, 19 ms per evidence piece).
export const CAMEL_WORD = /(?<![A-Za-z])[A-Za-z]*[a-z][A-Z][A-Za-z]*/g;

function pushCamelParts(text: string, st: Stemmer, out: Set<string>): void {
  if (!/[a-z][A-Z]/.test(text)) return;
  for (const m of text.matchAll(CAMEL_WORD)) {
    const parts: string[] = [];
    for (const part of m[0].split(/(?<=[a-z])(?=[A-Z])/)) st(part.toLowerCase(), parts);
    for (const p of parts) out.add(p);
  }
}

/** Symbols the evidence writes where an answer writes a word: "$5" is "5 dollars", "67%" is "67 percent". */
const SYMBOL_WORDS: Readonly<Record<string, readonly string[]>> = {
  $: ['dollar', 'usd'],
  '€': ['euro', 'eur'],
  '£': ['pound', 'gbp'],
  '¥': ['yen', 'yuan'],
  '₹': ['rupee', 'inr'],
  '%': ['percent', 'percentage'],
  '°': ['degree'],
};

/**
 * A lifespan in brackets, as encyclopedias write it ("Elvis Presley (January 8, 1935 – August 16, 1977)", "(born 21
 * August 1951)", "(1867–1934)"): the words an answer uses for it (born, died, birth, death), added to the unit's stems.
 */
function pushLifespan(text: string, st: Stemmer, out: Set<string>): void {
  if (!text.includes('(')) return;
  const { range, born } = lifespanIn(text);
  if (!range && !born) return;
  const parts: string[] = [];
  for (const w of range ? ['born', 'birth', 'died', 'death'] : ['born', 'birth']) st(w, parts);
  for (const p of parts) out.add(p);
}

/**
 * Whether a bracket of the text (one holding no other bracket) gives a range of years, /\([^()]*\b\d{3,4}\s*[–—-]\s*
 * [^()]*\b\d{3,4}\s*\)/, or a birth, /\((?:[^()]*;\s*)?(?:born|b\.)\s[^()]*\d{3,4}[^()]*\)/i: the same answers, read
 * bracket by bracket in linear time. As patterns they were tried from every "(" with two [^()]* each (an answer of
 * 10,000 characters of "(1889 - 1890 " took 2 s; an open "(born " before 100,000 characters of years 6.6 s).
 */
export function lifespanIn(text: string): { range: boolean; born: boolean } {
  let range = false;
  let born = false;
  let open = -1;
  for (let i = text.indexOf('('); i !== -1 && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 40) open = i;
    else if (c === 41 && open >= 0) {
      const inside = text.slice(open + 1, i);
      open = -1;
      if (!range) {
        // The last figure, right before the ")"; a figure and a dash before it.
        const last = /\b\d{3,4}\s*$/.exec(inside);
        range = last !== null && /\b\d{3,4}\s*[–—-]/.test(inside.slice(0, last.index));
      }
      if (!born) {
        const b = /(?:^|;\s*)(?:born|b\.)\s/i.exec(inside);
        born = b !== null && /\d{3}/.test(inside.slice(b.index + b[0].length));
      }
      if (range && born) break;
    }
  }
  return { range, born };
}

/** The words of the symbols in the evidence (`SYMBOL_WORDS`), added to the unit's stems. */
function pushSymbolWords(text: string, st: Stemmer, out: Set<string>): void {
  if (!/[$€£¥₹%°]/.test(text)) return;
  const parts: string[] = [];
  for (const [sym, ws] of Object.entries(SYMBOL_WORDS)) if (text.includes(sym)) for (const w of ws) st(w, parts);
  for (const p of parts) out.add(p);
}

/** Small words a name's initials skip ("United States of America" → USA). */
const INITIALS_SKIP = new Set(['of', 'the', 'and', 'for', 'de', 'du', 'la', 'le', 'von', 'van', '&']);

/**
 * The initials of the evidence's names of two or more capitalised words ("National Football League" → nfl, "United
 * Kingdom" → uk, "United States" → usa), added to the unit's stems: an answer writes the acronym.
 */
function pushInitials(text: string, st: Stemmer, out: Set<string>): void {
  // The two that text written all in lower case names too.
  if (/\bunited (?:states|kingdom)\b/i.test(text)) {
    const parts: string[] = [];
    if (/\bunited states\b/i.test(text)) st('usa', parts);
    if (/\bunited kingdom\b/i.test(text)) st('uk', parts);
    for (const p of parts) out.add(p);
  }
  if (!/\p{Lu}\p{Ll}+\s+(?:(?:of|the|and|for|&)\s+)?\p{Lu}/u.test(text)) return;
  for (const m of text.matchAll(
    /\p{Lu}[\p{L}'’-]*(?:\s+(?:(?:of|the|and|for|de|du|la|le|von|van|&)\s+)*\p{Lu}[\p{L}'’-]*)+/gu,
  )) {
    let initials = '';
    for (const w of m[0].split(/\s+/)) if (!INITIALS_SKIP.has(w)) initials += w[0] as string;
    const lower = initials.toLowerCase();
    // Two letters are mostly something else ("St", "Jr", "DC"): only the two that everyone writes.
    if (lower.length > 6 || (lower.length < 3 && lower !== 'us' && lower !== 'uk')) continue;
    const parts: string[] = [];
    st(lower === 'us' ? 'usa' : lower, parts);
    for (const p of parts) out.add(p);
  }
}

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
/** A date in figures as records and tool output write it: ISO 8601 (2026-11-28, 2026-12-15T14:30:00+01:00). */
const ISO_DATE = /(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])/g;

/**
 * The month's and the weekday's names of the dates the evidence writes in figures (ISO 8601, as JSON records and logs
 * do), added to the unit's stems: an answer writes "28 November" or "Tuesday, Dec 15" for 2026-11-28 and 2026-12-15.
 */
function pushDateWords(text: string, st: Stemmer, out: Set<string>): void {
  if (!text.includes('-')) return;
  const parts: string[] = [];
  for (const m of text.matchAll(ISO_DATE)) {
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    if (mo < 1 || mo > 12 || d < 1 || d > 31) continue;
    const month = MONTHS[mo - 1] as string;
    st(month, parts);
    st(month.slice(0, 3), parts);
    const day = new Date(Date.UTC(y, mo - 1, d));
    if (day.getUTCDate() === d) st(WEEKDAYS[day.getUTCDay()] as string, parts);
  }
  for (const p of parts) out.add(p);
}

/** The stems a unit of this text is matched by beyond its words' own: its other spellings (`spellings`). */
function pushSpellings(text: string, st: Stemmer, out: Set<string>): void {
  pushCamelParts(text, st, out);
  pushDateWords(text, st, out);
  pushSymbolWords(text, st, out);
  pushInitials(text, st, out);
  pushLifespan(text, st, out);
}

/** The unit a JSON field's name ends in (`temp_c`, `wind_kph`, `total_eur`, `latency_ms`), as a figure's unit is written. */
const FIELD_UNITS: Readonly<Record<string, string>> = {
  c: '°C',
  celsius: '°C',
  f: '°F',
  fahrenheit: '°F',
  pct: '%',
  percent: '%',
  mg: 'mg',
  g: 'g',
  kg: 'kg',
  lb: 'lb',
  lbs: 'lb',
  mm: 'mm',
  cm: 'cm',
  m: 'm',
  km: 'km',
  mi: 'mi',
  ft: 'ft',
  kph: 'kph',
  kmh: 'kph',
  mph: 'mph',
  ml: 'ml',
  l: 'l',
  kb: 'kb',
  mb: 'mb',
  gb: 'gb',
  tb: 'tb',
  mib: 'mib',
  gib: 'gib',
  ms: 'ms',
  s: 's',
  sec: 's',
  secs: 's',
  seconds: 's',
  min: 'min',
  mins: 'min',
  minutes: 'min',
  h: 'h',
  hr: 'h',
  hrs: 'h',
  hours: 'h',
  days: 'days',
  w: 'w',
  kw: 'kw',
  wh: 'wh',
  kwh: 'kwh',
  eur: '€',
  usd: '$',
  gbp: '£',
};
/** A JSON field whose name ends in a unit, and its figure: `"temp_c": 9`. */
const UNIT_FIELD =
  /"([A-Za-z][A-Za-z0-9]{0,40}(?:_[A-Za-z0-9]{1,40}){0,8})_([A-Za-z]{1,12})"[^\S\n]*:[^\S\n]*(-?\d{1,15}(?:\.\d{1,15})?)(?![\d.])/g;
/** A JSON field's name in snake case: `"humidity_pct":`. */
const SNAKE_FIELD = /"[A-Za-z][A-Za-z0-9]{0,40}(?:_[A-Za-z0-9]{1,40}){1,8}"(?=[^\S\n]*:)/g;
/** An ISO 8601 date and time (2026-12-01T03:14:07Z): the T glues the day to the hour. */
const ISO_DATE_TIME = /(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z(?![A-Za-z]))?/g;

/**
 * The evidence as a record writes it, read as prose writes it: a JSON field's unit, which its name carries
 * (`"temp_c": 9` is 9 °C, `"total_eur": 84.5` is €84.5), written after its figure, the field's name in its words,
 * and an ISO date's day and
 * time apart (`2026-12-15T14:30` is 2026-12-15 14:30; a Z is UTC). A unit's words and figures, not its quoted text.
 */
function recordText(text: string): string {
  let t = text;
  if (t.includes('_') && t.includes('":'))
    t = t.replace(UNIT_FIELD, (m, _name: string, unit: string) => {
      const u = FIELD_UNITS[unit.toLowerCase()];
      return u ? `${m} ${u}` : m;
    });
  // A field's name in its words: "humidity_pct" is humidity, "shipped_on" shipped.
  if (t.includes('_') && t.includes('":')) t = t.replace(SNAKE_FIELD, (m) => m.replace(/_/g, ' '));
  if (/\dT\d/.test(t))
    t = t.replace(ISO_DATE_TIME, (_m, d: string, time: string, z?: string) => `${d} ${time}${z ? ' UTC' : ''}`);
  return t;
}

function unitOf(id: string, source: 'context' | 'kb', text: string, st: Stemmer, spellings = true): Unit {
  const read = recordText(text);
  const ws = words(read);
  const stems: string[] = [];
  for (const w of ws) st(w, stems);
  const set = new Set(stems);
  if (spellings) pushSpellings(read, st, set);
  return {
    id,
    source,
    text,
    stems: set,
    seq: stems,
    ws,
    detailed: false,
    continues: false,
    cls: -1,
  };
}

function unitMentions(u: Unit): NumberMention[] {
  u.mentions ??= numberMentions(u.ws);
  return u.mentions;
}

function unitNumbers(u: Unit): number[] {
  u.numbers ??= unitMentions(u).flatMap(readings);
  return u.numbers;
}

function unitNegated(u: Unit): boolean {
  u.negated ??= polarityOf(u.ws);
  return u.negated;
}

/** The evidence a response is checked against: context sentences, plus KB passages fetched per claim. */
class EvidencePool {
  readonly units: Unit[] = [];
  readonly stems = new Set<string>();
  /** First letters of the evidence's stems (built when a claim first misses a stem, then kept up to date). */
  private readonly prefixSet = new Set<string>();
  private prefixedUnits = 0;
  /** Adjacent stem pairs as numbers over `stemIds`. */
  readonly pairs = new Set<number>();
  readonly stemIds = new Map<string, number>();
  private readonly numberSet = new Set<number>();
  /** Figure → the units stating it. */
  private readonly numberUnits = new Map<number, number[]>();
  private numberedUnits = 0;
  /** Word trigrams as numbers over `wordIds` (no strings built per trigram). */
  readonly grams = new Set<number>();
  /** Every word as written (lowercased, unstemmed): the plain baseline's view of the evidence. */
  readonly wordIds = new Map<string, number>();

  /** Stem → indices of the units holding it, so a claim only visits the units it shares words with. */
  readonly postings = new Map<string, number[]>();
  /**
   * The units' distinct texts (classes): a unit's stems, words and figures are a function of its text, so a claim
   * scores a text once however often the evidence repeats it. Text → class; per class its units' indices, ascending.
   */
  private readonly classOf = new Map<string, number>();
  readonly members: number[][] = [];
  /** Stem → the classes holding it, in the order of their first unit. */
  readonly classPostings = new Map<string, number[]>();
  /** Figure → the classes stating it, in the order of their first unit. */
  private readonly numberClasses = new Map<number, number[]>();
  private readonly kbSeen = new Set<string>();

  /**
   * `perUnit` (the evaluator's `fullScan`): a claim reads every unit it shares a stem with, one by one, as before the
   * classes; the results are the same (repeated-sentences.test.ts holds them to it).
   */
  constructor(
    private readonly st: Stemmer,
    private readonly spellings = true,
    private readonly glued = true,
    readonly perUnit = false,
  ) {}

  /**
   * Adds the context's units (`contextUnits`; those already taken from it first), yielding every 64 units or 16 KB so
   * a caller may pause between steps.
   */
  *addContext(taken: readonly Unit[], rest: Iterator<Unit>): Generator<void, void> {
    let n = 0;
    let chars = 0;
    for (let i = 0; ; i++) {
      let u = taken[i];
      if (u === undefined) {
        const r = rest.next();
        if (r.done) return;
        u = r.value;
      }
      this.addUnit(u, u.continues);
      chars += u.text.length;
      if (++n % 64 === 0 || chars >= 16_384) {
        chars = 0;
        yield;
      }
    }
  }

  addUnit(u: Unit, continues = false): void {
    u.continues = continues;
    const index = this.units.length;
    this.units.push(u);

    for (const s of u.stems) {
      const p = this.postings.get(s);
      if (p) p.push(index);
      else {
        this.postings.set(s, [index]);
        this.stemIds.set(s, this.stemIds.size);
      }
      this.stems.add(s);
    }
    const c = this.classOf.get(u.text);
    if (c !== undefined) {
      u.cls = c;
      (this.members[c] as number[]).push(index);
      return;
    }
    u.cls = this.members.length;
    this.classOf.set(u.text, u.cls);
    this.members.push([index]);
    for (const s of u.stems) {
      const p = this.classPostings.get(s);
      if (p) p.push(u.cls);
      else this.classPostings.set(s, [u.cls]);
    }
  }

  private cover = new Float64Array(0);

  /** A weight per class, all 0, for `topUnits` (which leaves it all 0). */
  coverScratch(): Float64Array {
    if (this.cover.length < this.members.length) this.cover = new Float64Array(Math.max(64, this.members.length * 2));
    return this.cover;
  }

  /** The first unit of class c (the one of its text a claim cites: ties go to the earliest unit). */
  firstOf(c: number): number {
    return (this.members[c] as number[])[0] as number;
  }

  /**
   * Adds a unit's adjacent stem pairs, word trigrams and words to the pool's sets (once). Only units that share a
   * content stem with some claim are indexed — the only ones that can hold a claim's pair, content word or copied
   * span — so long evidence is not turned into strings it never needs.
   */
  indexDetail(u: Unit): void {
    if (u.detailed) return;
    u.detailed = true;
    const ws = u.ws;
    const ids = ws.map((w) => this.wordId(w));
    for (let i = 0; i + 2 < ids.length; i++) {
      const key = gramKey(ids[i] as number, ids[i + 1] as number, ids[i + 2] as number);
      if (key >= 0) this.grams.add(key);
    }
    for (let i = 1; i < u.seq.length; i++)
      this.pairs.add(
        pairKey(this.stemIds.get(u.seq[i - 1] as string) ?? -1, this.stemIds.get(u.seq[i] as string) ?? -1),
      );
  }

  private wordId(w: string): number {
    let id = this.wordIds.get(w);
    if (id === undefined) {
      id = this.wordIds.size;
      this.wordIds.set(w, id);
    }
    return id;
  }

  addKb(kb: KnowledgeBase, stems: readonly string[], k: number): void {
    for (const hit of kb.search(stems, k)) {
      const p = hit.doc;
      if (this.kbSeen.has(p.id)) continue;
      this.kbSeen.add(p.id);
      // Sentence units, as for the context, so negation and numbers are compared with the right sentence.
      let prev = '';
      for (const sent of sentences(p.text, this.glued)) {
        const pieces = sent.text.length > UNIT_CHARS ? piecesOf(sent.text) : [sent.text];
        for (let k = 0; k < pieces.length; k++)
          this.addUnit(unitOf(p.id, 'kb', pieces[k] as string, this.st, this.spellings), k > 0 || prev.endsWith(';'));
        prev = sent.text;
      }
    }
  }

  /** Every number the evidence states (computed for the units added since the last call). */
  numbers(): Set<number> {
    this.numbersUpTo(this.units.length);
    return this.numberSet;
  }

  private numbersUpTo(end: number): void {
    for (; this.numberedUnits < end; this.numberedUnits++) {
      const i = this.numberedUnits;
      const u = this.units[i] as Unit;
      const first = this.firstOf(u.cls) === i;
      for (const v of unitNumbers(u)) {
        this.numberSet.add(v);
        const at = this.numberUnits.get(v);
        if (at) at.push(i);
        else this.numberUnits.set(v, [i]);
        if (!first) continue;
        const cs = this.numberClasses.get(v);
        if (cs) cs.push(u.cls);
        else this.numberClasses.set(v, [u.cls]);
      }
    }
  }

  /**
   * Whether the evidence states this figure in or beside a sentence about the answer: one that shares a word (not a
   * figure) with the answer or the question. In a long source nearly every figure is stated somewhere; in a
   * sentence about something else it backs nothing.
   */
  statesNear(v: number, about: readonly ReadonlySet<string>[], figures: readonly number[] = []): boolean {
    if (!this.numbers().has(v)) return false;
    if (this.perUnit) return this.statesNearNow(v, about, figures);
    // What does not depend on the claim's figures is kept per figure while the evidence and `about` (the answer's and
    // the question's words: one pair per check) stay the same: a figure stated in thousands of sentences about
    // something else was looked for in all of them for every claim stating it.
    if (this.nearAbout.length !== about.length || about.some((s, k) => s !== this.nearAbout[k])) {
      this.nearAbout = about;
      this.near.clear();
    }
    let memo = this.near.get(v);
    if (memo === undefined || memo.units !== this.units.length) {
      memo = { units: this.units.length, ...this.nearWithoutFigures(v, about) };
      this.near.set(v, memo);
    }
    return memo.near || memo.rows.some((row) => figures.some((x) => x !== v && unitNumbers(row).includes(x)));
  }

  /** Per figure, `statesNear` without the claim's figures: whether a sentence about `about` states it, else the table rows stating it. */
  private near = new Map<number, { units: number; near: boolean; rows: Unit[] }>();
  private nearAbout: readonly ReadonlySet<string>[] = [];

  private nearWithoutFigures(v: number, about: readonly ReadonlySet<string>[]): { near: boolean; rows: Unit[] } {
    const rows: Unit[] = [];
    for (const i of this.numberUnits.get(v) ?? []) {
      const row = this.units[i] as Unit;
      if (isTableRow(row.text)) {
        const key: string[] = [];
        for (const w of words(firstCell(row.text))) this.st(w, key);
        if (key.some((x) => about.some((s) => s.has(x)))) return { near: true, rows };
        rows.push(row);
        continue;
      }
      for (let j = Math.max(0, i - 1); j <= i + 1 && j < this.units.length; j++) {
        const u = this.units[j] as Unit;
        for (const s of about) for (const x of s) if (u.stems.has(x)) return { near: true, rows };
      }
    }
    return { near: false, rows };
  }

  /** `statesNear` read unit by unit for each claim (`fullScan`). */
  private statesNearNow(v: number, about: readonly ReadonlySet<string>[], figures: readonly number[]): boolean {
    for (const i of this.numberUnits.get(v) ?? []) {
      const row = this.units[i] as Unit;
      // A table's row is a record of its own: the rows beside it are other records ("| Team | $49 | 15 |" states no
      // 15 for the Starter plan in the row above). Its figure is about the claim when the claim names the row by its
      // first cell (not by a unit every row writes: "| Basic | 50 GB |" states no 50 GB for Plus), or the row states
      // another of the claim's figures ("| 2021 | 4.5 |" for "4.5 million in 2021").
      if (isTableRow(row.text)) {
        const key: string[] = [];
        for (const w of words(firstCell(row.text))) this.st(w, key);
        if (key.some((x) => about.some((s) => s.has(x)))) return true;
        if (figures.some((x) => x !== v && unitNumbers(row).includes(x))) return true;
        continue;
      }
      for (let j = Math.max(0, i - 1); j <= i + 1 && j < this.units.length; j++) {
        const u = this.units[j] as Unit;
        for (const s of about) for (const x of s) if (u.stems.has(x)) return true;
      }
    }
    return false;
  }

  /**
   * The units the evidence writes the figure v with, in the sentences that share a word with the claim (`about`);
   * a figure with no unit after it adds none. Each distinct sentence is read once (its first unit): a repeat of it
   * adds the same mentions again, which change nothing for `unitClash` (whether one of a dimension is there, whether
   * one has the claim's unit, the first of the dimension).
   */
  unitsOf(v: number, about: ReadonlySet<string>): UnitMention[] {
    const out: UnitMention[] = [];
    if (!this.numbers().has(v)) return out;
    const words = [...about];
    const at = this.perUnit
      ? (this.numberUnits.get(v) ?? [])
      : (this.numberClasses.get(v) ?? []).map((c) => this.firstOf(c));
    for (const i of at) {
      const u = this.units[i] as Unit;
      if (!words.some((x) => u.stems.has(x))) continue;
      for (const n of unitMentions(u)) if (n.value === v || n.alt === v) out.push(...unitsAfter(u.ws, n.index));
    }
    return out;
  }

  private prefixes(): Set<string> {
    for (; this.prefixedUnits < this.units.length; this.prefixedUnits++)
      for (const s of (this.units[this.prefixedUnits] as Unit).stems)
        if (s.length >= PREFIX) this.prefixSet.add(s.slice(0, PREFIX));
    return this.prefixSet;
  }

  /**
   * Indexes a long source's figures and word beginnings ahead of the claims, yielding every 256 units, so that the
   * first claim to need them does not hold the event loop for the whole source (tens of milliseconds at 1 MB).
   */
  *prepare(figures: boolean): Generator<void, void> {
    while (this.prefixedUnits < this.units.length || (figures && this.numberedUnits < this.units.length)) {
      const end = Math.min(this.units.length, Math.max(this.prefixedUnits, this.numberedUnits) + 256);
      for (; this.prefixedUnits < end; this.prefixedUnits++)
        for (const s of (this.units[this.prefixedUnits] as Unit).stems)
          if (s.length >= PREFIX) this.prefixSet.add(s.slice(0, PREFIX));
      if (figures) this.numbersUpTo(end);
      yield;
    }
  }

  /** Whether the sentence holding unit i (units split at semicolons count as one sentence) has this stem. */
  sentenceHas(i: number, s: string): boolean {
    let a = i;
    while (a > 0 && (this.units[a] as Unit).continues) a--;
    for (let j = a; j < this.units.length && (j === a || (this.units[j] as Unit).continues); j++)
      if ((this.units[j] as Unit).stems.has(s)) return true;
    return false;
  }

  /** 1 when the stem occurs in the evidence, 0.6 when only a word sharing its first letters does, else 0. */
  presence(s: string, inUnit?: Unit): number {
    if (inUnit ? inUnit.stems.has(s) : this.stems.has(s)) return 1;
    if (!inUnit && s.length >= PREFIX + 1 && this.prefixes().has(s.slice(0, PREFIX))) return 0.6;
    return 0;
  }
}

/** A line of a table: two or more cells between pipes ("| Team | $49 | 15 |", "v3.2 | 2023-10-02 | yes"). */
function isTableRow(text: string): boolean {
  if (!text.includes('|')) return false;
  let cells = 0;
  for (const c of text.split('|')) if (c.trim()) cells++;
  return cells >= 2 && !text.includes('||');
}

/** Distinct content words a framed passage needs to be checked against, however short (`framesPassage`). */
const FRAMED_MIN_WORDS = 8;
/** An instruction to answer from material the prompt gives: "Answer using the context below", "Based on this passage". */
const FRAMING_INSTRUCTION =
  /\b(?:answer|respond|reply|based|using|use|according|from|only)\b[^.\n]{0,40}?\b(?:the|this|these|following|below|above|provided|given|attached)\s+(?:[a-z]+\s+)?(?:documents?|context|passages?|sources?|excerpts?|articles?|snippets?|information|text|notes?|records?|table|facts|knowledge)\b/i;
/** A passage labelled as material: "Context:", "Document 1:", "### Sources", "<context>", "<document>". */
const FRAMING_LABEL =
  /(?:^|\n)[^\S\n]*(?:#{1,6}[^\S\n]*)?(?:context|documents?|passages?|sources?|excerpts?|references?|knowledge|retrieved(?: \w+)?)(?:[^\S\n]*#?\d{1,3})?[^\S\n]*(?::|\n)|<(?:context|documents?|passages?|sources?|knowledge|retrieved_\w+)\b/i;

/**
 * Whether the request frames a passage for the answer to rest on, by its instruction or its labels (decision 90): then
 * a short passage is checked too, where a thin prompt without such framing (a chat message, "write me a poem") is
 * not. Read in the first 4 KB of each context string (the check only asks for a thin one).
 */
function framesPassage(context: readonly string[]): boolean {
  return context.some((c) => {
    const head = c.slice(0, 4096);
    return FRAMING_INSTRUCTION.test(head) || FRAMING_LABEL.test(head);
  });
}

/** A table row's first non-empty cell: what the row is about ("Team" in "| Team | $49 | 15 |"). */
function firstCell(text: string): string {
  for (const c of text.split('|')) if (c.trim()) return c;
  return '';
}

/** Longest evidence unit, in characters; a longer sentence is cut in pieces (`piecesOf`). */
const UNIT_CHARS = 2000;

/**
 * A sentence longer than UNIT_CHARS in pieces of at most that length, each cut after the last space (else comma,
 * bracket or brace) in its second half, else at the limit.
 */
export function piecesOf(text: string): string[] {
  const out: string[] = [];
  let at = 0;
  while (text.length - at > UNIT_CHARS) {
    const window = text.slice(at, at + UNIT_CHARS);
    let cut = window.lastIndexOf(' ');
    if (cut < UNIT_CHARS / 2) cut = Math.max(window.lastIndexOf(','), window.lastIndexOf('}'), window.lastIndexOf(']'));
    cut = cut < UNIT_CHARS / 2 ? UNIT_CHARS : cut + 1;
    out.push(text.slice(at, at + cut));
    at += cut;
  }
  out.push(text.slice(at));
  return out;
}

/**
 * A line of code or a diff rather than prose (many brackets, operators, semicolons, or a diff marker): claims about
 * code cannot be checked word by word, so code is no knowledge for the `unknown` decision (it stays evidence).
 */
export function looksLikeCode(line: string): boolean {
  const t = line.trim();
  if (/^(?:[+-]\s|@@|```|diff --git|#include|import\s.+from\s|def\s\w+\(|function\s\w*\()/.test(t)) return true;
  // A Markdown table's row ("| Starter | $12 | 3 |") is data, not code, though its pipes are many.
  if (t.length > 2 && t.startsWith('|') && t.endsWith('|') && isTableRow(t)) return false;
  const sym = t.match(/[{}[\]();=<>&|_$]/g)?.length ?? 0;
  return t.length > 0 && sym / t.length > 0.06;
}

/**
 * Distinct content stems of the context's prose units (not code), counted until there are `enough`: the units of
 * contextUnits (its sentences, a long one in pieces), each unit's stems as unitOf finds them (its words' stems and
 * their other spellings), without the units themselves. The count countProse leaves in `head.seen`.
 */
export function proseStemCount(
  context: readonly string[],
  st: Stemmer,
  spellings: boolean,
  glued: boolean,
  enough: number,
): number {
  const seen = new Set<string>();
  const stems: string[] = [];
  for (const passage of context)
    for (const s of sentences(passage, glued)) {
      const pieces = s.text.length > UNIT_CHARS ? piecesOf(s.text) : [s.text];
      for (const piece of pieces) {
        if (looksLikeCode(piece)) continue;
        stems.length = 0;
        for (const w of words(piece)) st(w, stems);
        for (const x of stems) seen.add(x);
        if (spellings) pushSpellings(piece, st, seen);
        if (seen.size >= enough) return seen.size;
      }
    }
  return seen.size;
}

/** Distinct content stems in the evidence's prose units (not code), counted up to `enough`. */
function proseWords(pool: EvidencePool, enough: number): number {
  const seen = new Set<string>();
  for (const u of pool.units) {
    if (looksLikeCode(u.text)) continue;
    for (const s of u.stems) seen.add(s);
    if (seen.size >= enough) break;
  }
  return seen.size;
}

/**
 * The context's evidence units in order: its sentences, a sentence longer than UNIT_CHARS (minified JSON, a log line,
 * text without full stops) in pieces read as one sentence for names (`continues`), so that no single step indexes a
 * megabyte.
 */
function* contextUnits(
  context: readonly string[],
  st: Stemmer,
  spellings: boolean,
  glued: boolean,
): Generator<Unit, void, undefined> {
  let n = 0;
  for (const passage of context) {
    let prev = '';
    for (const s of sentences(passage, glued)) {
      const pieces = s.text.length > UNIT_CHARS ? piecesOf(s.text) : [s.text];
      for (let k = 0; k < pieces.length; k++) {
        const u = unitOf(`context#${n++}`, 'context', pieces[k] as string, st, spellings);
        u.continues = k > 0 || prev.endsWith(';');
        yield u;
      }
      prev = s.text;
    }
  }
}

/**
 * Three word ids as one number (17 bits each, exact below 2^51); -1 when a word is unknown or the evidence has more
 * than 131072 distinct words (such trigrams count as novel).
 */
function gramKey(a: number, b: number, c: number): number {
  if (a < 0 || b < 0 || c < 0 || a >= GRAM_BASE || b >= GRAM_BASE || c >= GRAM_BASE) return -1;
  return (a * GRAM_BASE + b) * GRAM_BASE + c;
}
const GRAM_BASE = 131_072;

/** Two stem ids as one number (exact: ids stay far below 2^26). */
const pairKey = (a: number, b: number): number => a * 67_108_864 + b;

/**
 * The DETAIL_UNITS units that share most of the claim's stems' weight, best first (ties: the earlier unit), with that
 * weight; null when no more than DETAIL_UNITS units share a stem with the claim (scoreClaim then reads them one by
 * one). The same units, order and sums (each added in the claim's stem order) as scoring every unit, but each
 * distinct sentence is scored once, in an array rather than a map, and only the best weights are ordered: a context
 * that repeats the answer's sentences cost claims × its sentences, and ordering every sentence sharing a word with the
 * claim was most of a claim's time in one that does not.
 */
function topUnits(stems: readonly string[], pool: EvidencePool): [number, number][] | null {
  // Few units to read (most claims of most calls): no classes needed.
  let postings = 0;
  for (const s of stems) postings += pool.postings.get(s)?.length ?? 0;
  if (postings <= DETAIL_UNITS) return null;
  const cover = pool.coverScratch();
  const touched: number[] = [];
  for (const s of stems) {
    const cs = pool.classPostings.get(s);
    if (cs === undefined) continue;
    const w = weightOf(s);
    for (const c of cs) {
      if (cover[c] === 0) touched.push(c);
      cover[c] = (cover[c] as number) + w;
    }
  }
  let units = 0;
  for (const c of touched) units += (pool.members[c] as number[]).length;
  if (units <= DETAIL_UNITS) {
    for (const c of touched) cover[c] = 0;
    return null;
  }
  // Classes by weight: a weight's classes are one run, their units interleaved by index.
  const runs = new Map<number, number[]>();
  for (const c of touched) {
    const w = cover[c] as number;
    cover[c] = 0;
    const run = runs.get(w);
    if (run) run.push(c);
    else runs.set(w, [c]);
  }
  const out: [number, number][] = [];
  for (const w of [...runs.keys()].sort((a, b) => b - a)) {
    const need = DETAIL_UNITS - out.length;
    if (need <= 0) break;
    const run = runs.get(w) as number[];
    let first: readonly number[] = run;
    if (run.length > need) {
      // The run's `need` earliest units are among those of its `need` classes that start earliest: the lowest class
      // ids (a class is numbered when its first unit is added). Kept in order as the run is read, mostly in order.
      const low: number[] = [];
      for (const c of run) {
        if (low.length === need && c >= (low[need - 1] as number)) continue;
        let k = low.length < need ? low.length : need - 1;
        while (k > 0 && (low[k - 1] as number) > c) {
          low[k] = low[k - 1] as number;
          k--;
        }
        low[k] = c;
      }
      first = low;
    }
    const ids: number[] = [];
    for (const c of first) {
      const m = pool.members[c] as number[];
      for (let k = 0; k < m.length && k < need; k++) ids.push(m[k] as number);
    }
    const sorted = first.length > 1 ? Int32Array.from(ids).sort() : ids;
    for (let k = 0; k < need && k < sorted.length; k++) out.push([sorted[k] as number, w]);
  }
  return out;
}

/** A stem's weight in coverage: longer words and digits carry facts; short ones are mostly glue. */
function weightOf(s: string): number {
  if (/\d/.test(s)) return 1.5;
  return s.length >= 5 ? 1 : 0.7;
}

interface QuestionTerms {
  stems: Set<string>;
  /** Its stems other than figures. */
  words: Set<string>;
  numbers: Set<number>;
}

/** Where the check goes on from after its shortcuts (`GroundingEvaluator.start`). */
interface Head {
  t0: number;
  /** The context's units (`contextUnits`), those in `taken` already taken from it. */
  units: Generator<Unit, void, undefined>;
  taken: Unit[];
  /** The distinct stems of the prose units taken (`proseWords` as the pool would count them, up to enough). */
  seen: Set<string>;
  /** The answer's claims that are checked, when found before the pool (`claimsToCheck`). */
  checked?: { s: string; tokens: ClaimTokens }[];
}

/** A context of up to this many characters is counted at once, before the check's steps are set up. */
const QUICK_CHARS = 16_384;
const NO_CONTEXT = 'no context in the request and no knowledge base configured: nothing to check the answer against';
const NO_CLAIMS = 'the response makes no checkable claim (only questions or small talk)';
const FOREIGN_ONLY =
  'the response is written in a script the context does not use, and states no figure or name in the context’s script to check';

/** Matches of a global pattern in `text`, counted up to `cap`. */
function countUpTo(re: RegExp, text: string, cap: number): number {
  let n = 0;
  for (const _ of text.matchAll(re)) if (++n >= cap) break;
  return n;
}

/**
 * Figures of one claim compared by `derivedFrom`: the unknown ones and the stated ones, each up to this many. Every
 * pair of stated figures was tried for every unknown one, so a sentence of thousands of figures (a table or a list of
 * years pasted as one line: "(1889 - 1890 (1889 - 1890 …", 10,000 characters) took 1 to 2 s, cubic in its figures.
 */
const MAX_DERIVED_FIGURES = 64;

/** The stated figures `derivedFrom` reads: each value at most twice (a pair of equal figures is one pair), up to MAX_DERIVED_FIGURES. */
function figuresForArithmetic(stated: readonly number[]): number[] {
  const seen = new Map<number, number>();
  const out: number[] = [];
  for (const v of stated) {
    const n = seen.get(v) ?? 0;
    if (n >= 2) continue;
    seen.set(v, n + 1);
    out.push(v);
    if (out.length >= MAX_DERIVED_FIGURES) break;
  }
  return out;
}

/** Month names, whole and shortened (`dec`, `sept`): a figure beside one is a day (also self-consistency's). */
export const MONTH_WORDS: ReadonlySet<string> = new Set([...MONTHS, ...MONTHS.map((m) => m.slice(0, 3)), 'sept']);

/** The figures of these words that are a day of a month ("16 December", "Dec 16", "December 16th"). */
function daysOfDates(ws: readonly string[]): Set<number> {
  const out = new Set<number>();
  for (const n of numberMentions(ws)) {
    if (!n.digits || n.value < 1 || n.value > 31 || !Number.isInteger(n.value)) continue;
    const before = ws[n.index - 1];
    const after = ws[n.index + 1];
    if ((before && MONTH_WORDS.has(before)) || (after && MONTH_WORDS.has(after))) out.add(n.value);
  }
  return out;
}

/** Whether `v` is the product, sum or difference of two of `xs` (figures as stated, so compared to a millionth). */
function derivedFrom(v: number, xs: readonly number[]): boolean {
  const near = (a: number) => Math.abs(a - v) <= Math.abs(v) * 1e-6;
  for (let i = 0; i < xs.length; i++)
    for (let j = i + 1; j < xs.length; j++) {
      const a = xs[i] as number;
      const b = xs[j] as number;
      if (near(a * b) || near(a + b) || near(Math.abs(a - b))) return true;
    }
  return false;
}

/** Scripts told apart for foreignScripts: Chinese and Japanese share Han, so their scripts are one group. */
const SCRIPTS: readonly { re: RegExp; cls: string }[] = [
  { re: /\p{Script=Latin}/u, cls: '\\p{Script=Latin}' },
  {
    re: /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u,
    cls: '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}ー',
  },
  { re: /\p{Script=Hangul}/u, cls: '\\p{Script=Hangul}' },
  { re: /\p{Script=Cyrillic}/u, cls: '\\p{Script=Cyrillic}' },
  { re: /\p{Script=Greek}/u, cls: '\\p{Script=Greek}' },
  { re: /\p{Script=Arabic}/u, cls: '\\p{Script=Arabic}' },
  { re: /\p{Script=Hebrew}/u, cls: '\\p{Script=Hebrew}' },
  { re: /\p{Script=Devanagari}/u, cls: '\\p{Script=Devanagari}' },
  { re: /\p{Script=Thai}/u, cls: '\\p{Script=Thai}' },
];
/** Letters of the context read to find its scripts (its opening: a context is rarely written in two). */
const SCRIPT_SAMPLE = 20_000;

/**
 * A pattern for the answer's words in the scripts the context does not use (fewer than 20 of its letters, and under
 * 5% of them), or null when there are none or the context holds no letter. Words in such a script can never be found
 * in the evidence, so counting them as missing flags every translated answer (a Japanese answer over an English
 * manual). Only the scripts the answer writes in are counted in the context (most answers: one).
 */
function foreignScripts(context: readonly string[], response: string): RegExp | null {
  const used = SCRIPTS.filter((x) => x.re.test(response));
  if (used.length === 0) return null;
  let sample = '';
  for (const c of context) {
    sample += sample ? `\n${c.slice(0, SCRIPT_SAMPLE - sample.length)}` : c.slice(0, SCRIPT_SAMPLE);
    if (sample.length >= SCRIPT_SAMPLE) break;
  }
  // Counted up to what decides it: most contexts show 20 letters of the answer's script within their first words.
  const absent = used.filter((x) => {
    const n = countUpTo(new RegExp(`[${x.cls}]`, 'gu'), sample, 20);
    return n < 20 && countUpTo(/\p{L}/gu, sample, n * 20 + 1) > n * 20;
  });
  if (absent.length === 0) return null;
  const cls = absent.map((x) => x.cls).join('');
  return new RegExp(`[${cls}][${cls}\\p{M}]*`, 'gu');
}

/**
 * Takes the context's units into `head.taken`, counting the distinct stems of its prose ones (not code) into
 * `head.seen` as `proseWords` counts them, until there are `enough` of them or the units run out (false), or 64 units
 * or `chars` characters have been taken (true: there may be more).
 */
function countProse(head: Head, enough: number, chars: number): boolean {
  let n = 0;
  let c = 0;
  for (let r = head.units.next(); !r.done; r = head.units.next()) {
    const u = r.value;
    head.taken.push(u);
    if (!looksLikeCode(u.text)) {
      for (const x of u.stems) head.seen.add(x);
      if (head.seen.size >= enough) return false;
    }
    c += u.text.length;
    if (++n >= 64 || c >= chars) return true;
  }
  return false;
}

interface ClaimScore {
  result: ClaimResult;
  weight: number;
  signals: ClaimSignals;
}

export class GroundingEvaluator implements Evaluator {
  readonly name = 'grounding';
  private readonly threshold: number;
  private readonly kbTopK: number;
  private readonly minContextWords: number;
  private readonly model: GroundingModel | null;
  private readonly stemmer: Stemmer;
  private readonly foldFigures: boolean;
  private readonly skipReactions: boolean;
  private readonly namesNotFirstPerson: boolean;
  private readonly figuresNearby: boolean;
  private readonly spellings: boolean;
  private readonly gluedSentences: boolean;
  private readonly fullScan: boolean;

  constructor(opts: GroundingOptions = {}) {
    this.foldFigures = opts.foldFigures !== false;
    this.stemmer = this.foldFigures
      ? opts.foldAt === false
        ? pushMatchStemsKeepingAt
        : pushMatchStems
      : opts.foldAt === false
        ? plainStemsKeepingAt
        : plainStems;
    this.skipReactions = opts.skipReactions ?? true;
    this.namesNotFirstPerson = opts.namesNotFirstPerson ?? true;
    this.figuresNearby = opts.figuresNearby ?? true;
    this.spellings = opts.spellings ?? true;
    this.gluedSentences = opts.gluedSentences ?? true;
    this.model = opts.model === undefined ? shippedModel() : opts.model;
    this.threshold = opts.threshold ?? (this.model ? DEFAULT_GROUNDING_THRESHOLD : LEXICAL_GROUNDING_THRESHOLD);
    this.kbTopK = opts.kbTopK ?? 3;
    this.minContextWords = opts.minContextWords ?? 0;
    this.fullScan = opts.fullScan ?? false;
  }

  /** Online use: the same work as `check`, pausing for the event loop every few milliseconds. */
  async evaluate(input: EvaluationInput): Promise<EvaluationResult> {
    return this.evaluateNow(input);
  }

  /** `evaluate`, with the result as it is when the shortcuts decide it at once (`start`), as for most calls. */
  evaluateNow(input: EvaluationInput): EvaluationResult | Promise<EvaluationResult> {
    const head = this.start(input);
    if ('evaluator' in head) return head;
    return this.evaluateFrom(input, head);
  }

  private async evaluateFrom(input: EvaluationInput, head: Head): Promise<EvaluationResult> {
    const steps = this.steps(input, head);
    let since = performance.now();
    for (let r = steps.next(); ; r = steps.next()) {
      if (r.done) return r.value;
      if (performance.now() - since > SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        since = performance.now();
      }
    }
  }

  /** Synchronous core (the offline scorer and the benchmark call this directly). */
  check(input: EvaluationInput): EvaluationResult {
    const head = this.start(input);
    if ('evaluator' in head) return head;
    const steps = this.steps(input, head);
    for (let r = steps.next(); ; r = steps.next()) if (r.done) return r.value;
  }

  /** The check as steps: it yields after every claim and every 64 context sentences. */
  /**
   * The model's inputs for one response (FEATURE_NAMES order), or null when there is nothing to check against or
   * no checkable claim (the verdict would be `unknown`). The training script and the benchmark call this.
   */
  features(input: EvaluationInput): number[] | null {
    const s = this.signals(input);
    return s ? responseFeatures(s.claims) : null;
  }

  /** The per-claim signals and the evidence's size (distinct content stems), or null as for `features`. */
  signals(input: EvaluationInput): { claims: ClaimSignals[]; evidenceWords: number } | null {
    const head = this.start(input);
    if ('evaluator' in head) return null;
    const a = this.analyse(input, head);
    for (let r = a.next(); ; r = a.next())
      if (r.done)
        return 'scored' in r.value
          ? { claims: r.value.scored.map((c) => c.signals), evidenceWords: r.value.evidenceWords }
          : null;
  }

  /**
   * The shortcuts (the full path gives the same results, `fullScan`): without a KB, a thin context is counted, then
   * the answer's claims are found, before the evidence pool is built; either may decide `unknown` on its own. A
   * context of up to QUICK_CHARS is settled here at once, before the check's steps are set up; a longer one is
   * counted in steps (`analyse`). Returns the `unknown` result, or where the check goes on from.
   */
  private start(input: EvaluationInput): EvaluationResult | Head {
    const t0 = performance.now();
    // Built when the check goes on from here (not for a result the shortcuts decide).
    const go = (): Head => ({
      t0,
      units: contextUnits(input.context, this.stemmer, this.spellings, this.gluedSentences),
      taken: [],
      seen: new Set(),
    });
    const kbOn = input.knowledge !== undefined && input.knowledge.size > 0;
    if (kbOn && this.minContextWords > 0) {
      // A thin request whose words find no passage in the knowledge base asks about something the KB does not cover
      // ("What is the capital of France?" to a product KB): nothing to check the answer against, as without a KB.
      const prose = proseStemCount(
        input.context,
        this.stemmer,
        this.spellings,
        this.gluedSentences,
        this.minContextWords,
      );
      if (
        prose < this.minContextWords &&
        input.knowledge?.search(contentStems(input.context.join('\n')), 1).length === 0
      )
        return this.unknown(t0, this.outsideKb(prose));
    }
    if (this.fullScan) return go();
    let chars = 0;
    for (const p of input.context) chars += p.length;
    if (chars > QUICK_CHARS) return go();
    const kb = input.knowledge !== undefined && input.knowledge.size > 0;
    if (!kb && this.minContextWords > 0) {
      // Counted without building the context's units (proseStemCount: the same stems as countProse would gather):
      // most short contexts are thin, and their units would be thrown away. One that is not is read as before.
      const prose = proseStemCount(
        input.context,
        this.stemmer,
        this.spellings,
        this.gluedSentences,
        this.minContextWords,
      );
      if (this.tooThin(prose, input.context)) return this.unknown(t0, this.thin(prose));
    }
    const foreign = kb ? null : foreignScripts(input.context, input.response);
    const checked = this.claimsToCheck(input.response, foreign);
    if (checked.length === 0) return this.unknown(t0, this.noClaims(input, foreign));
    const head = go();
    head.checked = checked;
    return head;
  }

  private unknown(t0: number, explanation: string, claims: ClaimResult[] = []): EvaluationResult {
    return {
      evaluator: this.name,
      verdict: 'unknown',
      score: 0,
      evidence: [],
      claims,
      explanation,
      durationMs: performance.now() - t0,
    };
  }

  private outsideKb(prose: number): string {
    return `the request carries too little knowledge to check against (${prose} distinct content words of prose, fewer than ${this.minContextWords}) and none of its words finds a passage in the knowledge base: outside what the knowledge base covers`;
  }

  /**
   * Whether a context of this many distinct content words of prose is too thin to check against: fewer than
   * `minContextWords`, unless the request frames a passage to answer from ("Answer from this document: …",
   * "Context: …", "<context>…</context>") and that passage has FRAMED_MIN_WORDS (decision 90: a RAG prompt holding
   * one short passage was never checked).
   */
  private tooThin(prose: number, context: readonly string[]): boolean {
    if (prose >= this.minContextWords) return false;
    return prose < FRAMED_MIN_WORDS || !framesPassage(context);
  }

  private thin(prose: number): string {
    return `the request carries too little knowledge to check against (${prose} distinct content words of prose, fewer than ${this.minContextWords}; code does not count) and no knowledge base is configured`;
  }

  /** Evidence pool and scored claims, or the `unknown` result when there is nothing to check. */
  private *analyse(
    input: EvaluationInput,
    head: Head,
  ): Generator<void, { unknown: EvaluationResult } | { scored: ClaimScore[]; evidenceWords: number; t0: number }> {
    const { t0, units, taken } = head;
    const kb = input.knowledge && input.knowledge.size > 0 ? input.knowledge : undefined;
    const unknown = (explanation: string, claims: ClaimResult[] = []) => ({
      unknown: this.unknown(t0, explanation, claims),
    });
    let checked = head.checked;
    if (!this.fullScan && checked === undefined) {
      // Not settled at once (`start`): a long context is counted in steps of 64 units or 16 KB.
      if (!kb && this.minContextWords > 0) {
        while (countProse(head, this.minContextWords, 16_384)) yield;
        if (this.tooThin(head.seen.size, input.context)) return unknown(this.thin(head.seen.size));
      }
      const foreign = kb ? null : foreignScripts(input.context, input.response);
      checked = this.claimsToCheck(input.response, foreign);
      // No claim: nothing is scored, and the pool holds the context's units alone (KB passages come per claim).
      if (checked.length === 0) return unknown(this.noClaims(input, foreign));
    }
    const pool = new EvidencePool(this.stemmer, this.spellings, this.gluedSentences, this.fullScan);
    yield* pool.addContext(taken, units);
    if (this.fullScan) {
      const prose = kb || this.minContextWords === 0 ? 0 : proseWords(pool, this.minContextWords);
      if (!kb && this.tooThin(prose, input.context)) return unknown(this.thin(prose));
    }
    const qt = input.question ? tokensOf(input.question, this.stemmer) : null;
    const question: QuestionTerms | null = qt
      ? {
          stems: new Set(qt.stems),
          words: new Set(qt.stems.filter((x) => !qt.figureStems.has(x))),
          numbers: new Set(qt.numbers),
        }
      : null;
    const scored: ClaimScore[] = [];
    checked ??= this.claimsToCheck(input.response, kb ? null : foreignScripts(input.context, input.response));
    // The answer's words other than figures: a sentence stating a claim's figure must be about them (statesNear).
    const answerWords = new Set<string>();
    for (const c of checked) for (const x of c.tokens.stems) if (!c.tokens.figureStems.has(x)) answerWords.add(x);
    if (pool.units.length > LONG_SOURCE) yield* pool.prepare(checked.some((c) => c.tokens.checkable.length > 0));
    for (const { s, tokens } of checked) {
      if (kb) pool.addKb(kb, tokens.stems, this.kbTopK);
      scored.push(this.scoreClaim(s, tokens, pool, question, answerWords));
      yield;
    }
    if (pool.units.length === 0)
      return unknown(
        NO_CONTEXT,
        scored.map((c) => c.result),
      );
    if (scored.length === 0) return unknown(NO_CLAIMS);
    return { scored, evidenceWords: pool.stems.size, t0 };
  }

  /** Why no claim is checked: none in the answer, or none in a script the sources are written in. */
  private noClaims(input: EvaluationInput, foreign: RegExp | null): string {
    if (!input.context.some(hasWordChar)) return NO_CONTEXT;
    if (foreign && this.claimsToCheck(input.response, null).length > 0) return FOREIGN_ONLY;
    return NO_CLAIMS;
  }

  /**
   * The answer's claims that are checked: sentences with a content word, not pleasantries, reactions only if alone.
   * With `foreign` (foreignScripts), the words written in a script the sources never use are left out of each claim:
   * a Japanese answer over English passages is checked by its figures and the names and identifiers it keeps in
   * Latin letters, not flagged for words that could never be found.
   */
  private claimsToCheck(response: string, foreign: RegExp | null = null): { s: string; tokens: ClaimTokens }[] {
    const claims: { s: string; tokens: ClaimTokens }[] = [];
    const capitalsAreNames = !capitalisesNouns(response);
    for (const s of claimsOf(response, this.gluedSentences)) {
      const own = foreign ? s.replace(foreign, ' ') : s;
      const tokens = tokensOf(own, this.stemmer, this.namesNotFirstPerson, capitalsAreNames);
      if (tokens.stems.length > 0 && !isPleasantry(s, tokens)) claims.push({ s, tokens });
    }
    // Reactions and agreement ("I agree.", "That's so cool!") state nothing: beside real claims they are not checked.
    const substantive = this.skipReactions ? claims.filter((c) => !isPhatic(c.tokens.ws)) : claims;
    return substantive.length > 0 ? substantive : claims;
  }

  /** The check as steps: it yields after every claim and every 64 context sentences. */
  private *steps(input: EvaluationInput, head: Head): Generator<void, EvaluationResult> {
    const a = yield* this.analyse(input, head);
    if ('unknown' in a) return a.unknown;
    const { scored, t0 } = a;
    let score: number;
    if (this.model) {
      // Each claim is scored by the model as if it were the whole answer; the response by its aggregate features.
      score = round3(predict(this.model, responseFeatures(scored.map((c) => c.signals))));
      for (const c of scored) {
        const p = round3(predict(this.model, responseFeatures([c.signals])));
        c.result.score = p;
        if (c.result.status === 'supported' && p >= this.threshold) c.result.status = 'unsupported';
        else if (c.result.status === 'unsupported' && p < this.threshold) c.result.status = 'supported';
      }
    } else score = aggregate(scored);
    const flagged = scored.filter((c) => c.result.status !== 'supported');
    const verdict = score >= this.threshold ? 'fail' : 'pass';
    // The claim that decides: the worst sentence, with the evidence passage that best matches it.
    let worst = 0;
    for (let i = 1; i < scored.length; i++)
      if ((scored[i] as ClaimScore).result.score > (scored[worst] as ClaimScore).result.score) worst = i;
    const w = scored[worst] as ClaimScore;
    const evidence = [...w.result.evidence, ...flagged.filter((c) => c !== w).flatMap((c) => c.result.evidence)].slice(
      0,
      10,
    );
    const best = w.result.evidence[0];
    const decisive = `worst claim: sentence ${worst + 1} of ${scored.length} (score ${w.result.score}; "${clip(w.result.text, 80)}"); evidence: ${best ? `${best.id ?? best.source} (match ${best.score ?? 0})` : 'none found'}`;
    const explanation =
      flagged.length === 0
        ? `all ${scored.length} claim(s) supported by the evidence; ${decisive}`
        : `${flagged.length} of ${scored.length} claim(s) not supported: ${flagged
            .slice(0, 3)
            .map((c) => `"${clip(c.result.text, 80)}" (${c.result.status}; ${(c.result.reasons ?? []).join('; ')})`)
            .join(', ')}; ${decisive}`;
    return {
      evaluator: this.name,
      verdict,
      score,
      evidence,
      claims: scored.map((c) => c.result),
      explanation,
      durationMs: performance.now() - t0,
    };
  }
  /** The first of the claim's figures the evidence writes in other units of the same dimension only, as a reason. */
  private unitClash(t: ClaimTokens, pool: EvidencePool): string | null {
    const own = new Set(t.stems.filter((x) => !t.figureStems.has(x)));
    for (const n of numberMentions(t.ws)) {
      if (!n.digits) continue;
      const mine = unitsAfter(t.ws, n.index);
      if (mine.length === 0) continue;
      const theirs = pool.unitsOf(n.value, own);
      for (const u of mine) {
        const same = theirs.filter((x) => x.dimension === u.dimension);
        if (same.length > 0 && !same.some((x) => x.canonical === u.canonical))
          return `${n.value} ${u.canonical} in claim, evidence says ${n.value} ${(same[0] as UnitMention).canonical}`;
      }
    }
    return null;
  }

  private scoreClaim(
    text: string,
    t: ClaimTokens,
    pool: EvidencePool,
    question: QuestionTerms | null,
    answerWords: ReadonlySet<string>,
  ): ClaimScore {
    const questionNumbers = question?.numbers;
    // Best single unit: the one covering most of the claim's weight.
    let best: Unit | null = null;
    let bestCov = -1;
    let second: Unit | null = null;
    let secondCov = -1;
    let total = 0;
    for (const s of t.stems) total += weightOf(s);
    let bestIndex = -1;
    let secondIndex = -1;
    // The units that share most with the claim, best first (ties: the earlier unit), when more than DETAIL_UNITS
    // share a stem with it, read per distinct sentence (topUnits); null when they are few, or with `fullScan`.
    const top = pool.perUnit ? null : topUnits(t.stems, pool);
    if (top) {
      for (const [i] of top) pool.indexDetail(pool.units[i] as Unit);
      [bestIndex, bestCov] = top[0] as [number, number];
      [secondIndex, secondCov] = top[1] as [number, number];
    } else {
      const cover = new Map<number, number>();
      for (const s of t.stems) {
        const w = weightOf(s);
        for (const i of pool.postings.get(s) ?? []) cover.set(i, (cover.get(i) ?? 0) + w);
      }
      // The word pairs and trigrams of the units that share most with the claim (all of them unless a long source
      // shares a word with thousands: indexing those held the event loop for 0.1-0.4 s on a 1.2 MB context).
      if (cover.size <= DETAIL_UNITS) for (const i of cover.keys()) pool.indexDetail(pool.units[i] as Unit);
      else
        for (const [i] of [...cover].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, DETAIL_UNITS))
          pool.indexDetail(pool.units[i] as Unit);
      for (const [i, c] of cover) {
        if (c > bestCov || (c === bestCov && i < bestIndex)) {
          secondIndex = bestIndex;
          secondCov = bestCov;
          bestIndex = i;
          bestCov = c;
        } else if (c > secondCov || (c === secondCov && i < secondIndex)) {
          secondIndex = i;
          secondCov = c;
        }
      }
    }
    best = bestIndex >= 0 ? (pool.units[bestIndex] as Unit) : null;
    second = secondIndex >= 0 ? (pool.units[secondIndex] as Unit) : null;
    if (bestCov < 0) bestCov = 0;
    // A figure counts as stated in or beside a sentence about the answer (its words or the question's, other than
    // figures), or anywhere when the claim is a bare figure ("1932", "0.9 s").
    const nearby = this.figuresNearby && t.stems.some((x) => !t.figureStems.has(x));
    const about = question ? [answerWords, question.words] : [answerWords, NO_WORDS];
    const claimFigures = t.checkable.map((n) => n.value);
    const known = (v: number) =>
      questionNumbers?.has(v) === true || (nearby ? pool.statesNear(v, about, claimFigures) : pool.numbers().has(v));
    const unknownFigures =
      t.checkable.length > 0
        ? t.checkable.filter((n) => !known(n.value) && !(n.alt !== undefined && known(n.alt))).map((n) => n.value)
        : [];
    // A figure the claim works out from two it states that are known ("at $1,200 per node, 10 nodes cost $12,000"):
    // their product, sum or difference is arithmetic on the evidence, not a figure from nowhere.
    const derived = new Set<number>();
    if (unknownFigures.length > 0 && t.checkable.length > unknownFigures.length) {
      const unknown = new Set(unknownFigures);
      const stated = figuresForArithmetic(t.checkable.map((n) => n.value).filter((v) => !unknown.has(v)));
      let tried = 0;
      let days: Set<number> | undefined;
      for (const v of unknown) {
        if (++tried > MAX_DERIVED_FIGURES) break;
        if (!derivedFrom(v, stated)) continue;
        // A date's day is no sum: "on 16 December at 14:30" computes nothing from 14 and 30.
        days ??= daysOfDates(t.ws);
        if (!days.has(v)) derived.add(v);
      }
    }
    // Coverage anywhere in the evidence; words the question already used count as half-claimed.
    let covered = 0;
    let weight = 0;
    const missing: string[] = [];
    for (const s of t.stems) {
      const w = weightOf(s) * (question?.stems.has(s) ? 0.5 : 1);
      weight += w;
      let p = pool.presence(s);
      // A figure written another way ("10.1 thousand" for "10,100", "10.100" for "10,100"): the evidence states its value.
      if (p === 0 && this.foldFigures && t.figureStems.get(s)?.some((v) => pool.numbers().has(v) || derived.has(v)))
        p = 1;
      covered += w * p;
      if (p === 0) missing.push(s);
    }
    const coverage = weight > 0 ? covered / weight : 1;
    const bestShare = total > 0 && bestCov > 0 ? bestCov / total : 0;
    let pairHits = 0;
    for (let i = 1; i < t.stems.length; i++) {
      const a = pool.stemIds.get(t.stems[i - 1] as string);
      const b = pool.stemIds.get(t.stems[i] as string);
      if (a !== undefined && b !== undefined && pool.pairs.has(pairKey(a, b))) pairHits++;
    }
    const pairShare = t.pairs.length > 0 ? pairHits / t.pairs.length : coverage;
    const support = 0.5 * coverage + 0.25 * bestShare + 0.25 * pairShare;
    let score = clamp01(1 - support);
    // A first-person statement ("I have seen it", "I think ...") is about the speaker, which no source can back.
    if (t.firstPerson) score = clamp01(score + 0.5 * (1 - score));
    const reasons: string[] = [];
    if (missing.length) reasons.push(`not in evidence: ${missing.slice(0, 6).join(', ')}`);
    let status: ClaimResult['status'] = score >= 0.5 ? 'unsupported' : 'supported';

    // Numbers: one the evidence never states, where the evidence for this claim states others, contradicts it.
    const near = [best, second].filter((u): u is Unit => u !== null && bestCov > 0);
    const strange = derived.size > 0 ? unknownFigures.filter((v) => !derived.has(v)) : unknownFigures;
    // Their values as written, for the reason (their other readings count as agreeing, not as what the evidence says).
    const nearNumbers = new Set(
      strange.length > 0 ? near.flatMap((u) => numberMentions(u.ws).map((n) => n.value)) : [],
    );
    let numbersContradicted = 0;
    let namesApart = 0;
    let negationFlip = 0;
    if (strange.length > 0) {
      if (nearNumbers.size > 0 && bestShare >= 0.3) {
        numbersContradicted = 1;
        status = 'contradicted';
        score = Math.max(score, 0.9);
        reasons.push(`number ${strange.join(', ')} in claim, evidence says ${[...nearNumbers].slice(0, 4).join(', ')}`);
      } else {
        score = Math.max(score, 0.7);
        if (status === 'supported') status = 'unsupported';
        reasons.push(`number ${strange.join(', ')} not in evidence`);
      }
    }
    // A figure the evidence states, in another unit of the same dimension ("40 g" for "40 mg", "per second" for "per
    // minute", "250 °F" for "250 °C"): another quantity, stated with the source's own words and figure.
    if (strange.length === 0 && numbersContradicted === 0 && t.checkable.length > 0) {
      const clash = this.unitClash(t, pool);
      if (clash) {
        numbersContradicted = 1;
        status = 'contradicted';
        score = Math.max(score, 0.9);
        reasons.push(clash);
      }
    }
    // Names the evidence knows, but never together: the claim relates things the evidence does not relate.
    if (t.names.length >= 2 && t.names.every((n) => pool.stems.has(n))) {
      const together = (pool.postings.get(t.names[0] as string) ?? []).some((i) =>
        t.names.every((n) => pool.sentenceHas(i, n)),
      );
      if (!together) {
        namesApart = 1;
        score = Math.max(score, 0.6);
        if (status === 'supported') status = 'unsupported';
        reasons.push(`the evidence never mentions ${t.names.join(', ')} together`);
      }
    }
    // Negation: the claim says the closest evidence's words with the opposite polarity.
    if (
      best &&
      bestShare >= 0.8 &&
      t.stems.length >= 3 &&
      best.stems.size <= 3 * t.stems.length &&
      unitNegated(best) !== t.negated
    ) {
      status = 'contradicted';
      negationFlip = 1;
      score = Math.max(score, 0.85);
      reasons.push(unitNegated(best) ? 'evidence negates this statement' : 'claim negates what the evidence states');
    }
    const evidence: Evidence[] = [];
    if (best && bestCov > 0)
      evidence.push({
        source: best.source,
        id: best.id,
        text: clip(best.text, 400),
        score: round3(bestShare),
        note: status === 'supported' ? 'supports the claim' : reasons.join('; '),
      });
    // Word trigrams: the share not found in the evidence, and the longest run copied from it.
    let novel = 0;
    let run = 0;
    let longest = 0;
    // Words inside a trigram copied from the evidence ("I Will Always Love You" quoted from it is no first-person claim).
    let copiedUpTo = -1;
    let ownFirstPerson = 0;
    for (let i = 0; i + 2 < t.ws.length; i++) {
      const key = gramKey(
        pool.wordIds.get(t.ws[i] as string) ?? -1,
        pool.wordIds.get(t.ws[i + 1] as string) ?? -1,
        pool.wordIds.get(t.ws[i + 2] as string) ?? -1,
      );
      if (key >= 0 && pool.grams.has(key)) {
        longest = Math.max(longest, ++run);
        copiedUpTo = i + 2;
      } else {
        novel++;
        run = 0;
      }
      if (i > copiedUpTo && t.fp[i]) ownFirstPerson = 1;
    }
    if (t.ws.length < 3) ownFirstPerson = t.firstPerson ? 1 : 0;
    else for (let i = Math.max(copiedUpTo + 1, t.ws.length - 2); i < t.ws.length; i++) if (t.fp[i]) ownFirstPerson = 1;
    const nGrams = Math.max(0, t.ws.length - 2);
    // The learned scorer counts a question in the answer's own words against it (features.ts, question_novel).
    if (t.question && nGrams > 0 && novel / nGrams >= 0.5)
      reasons.push('a question in words the evidence does not use (it brings in something the evidence does not say)');
    let plain = 0;
    let plainMissing = 0;
    for (const w of t.ws)
      if (isContent(w)) {
        plain++;
        if (!pool.wordIds.has(w)) plainMissing++;
      }
    let namesMissing = 0;
    for (const n of t.names) if (!pool.stems.has(n)) namesMissing++;
    // A name the evidence never mentions where the closest evidence names someone or something else: a swap.
    let namesSwapped = 0;
    if (namesMissing > 0 && best && bestShare >= 0.3) {
      const own = new Set(t.names);
      if (namesIn(best.text, this.stemmer).some((n) => !own.has(n))) namesSwapped = 1;
    }
    let missingMass = 0;
    for (const s of missing) missingMass += weightOf(s);
    const signals: ClaimSignals = {
      uncovered: 1 - coverage,
      plainMissing: plain > 0 ? plainMissing / plain : 0,
      unsupportedBest: 1 - bestShare,
      novelPairs: 1 - pairShare,
      novelTrigrams: nGrams > 0 ? novel / nGrams : 1 - coverage,
      copyRatio: longest > 0 ? (longest + 2) / t.ws.length : 0,
      numbersUnsupported: strange.length > 0 && numbersContradicted === 0 ? 1 : 0,
      numbersContradicted,
      entitiesMissing: t.names.length > 0 ? namesMissing / t.names.length : 0,
      namesApart,
      negationFlip,
      firstPerson: ownFirstPerson,
      firstPersonAnywhere: t.firstPerson ? 1 : 0,
      namesSwapped,
      missingMass,
      plainWords: plain,
      plainMissingWords: plainMissing,
      question: t.question ? 1 : 0,
      hedged: t.hedged ? 1 : 0,
      contentWords: t.stems.length,
      weight: Math.max(1, weight),
    };
    return {
      result: { text, status, evidence, score: round3(score), reasons },
      weight: Math.max(1, weight),
      signals,
    };
  }
}

/**
 * An offer, a follow-up or a pleasantry addressed to the user ("Would you like me to help you upgrade?", "Anything
 * else?", "Let me know if …", "Hope this helps!") that states no number and no name: it claims nothing, so it is not
 * checked. Preference questions ("Do you like football?") and "Did you know …?" are not on the list: they are
 * claims' carriers in dialogue, and BEGIN's annotators count them.
 */
const PLEASANTRY =
  /^(?:(?:so|and|also|well|ok(?:ay)?|oh)[,\s]+)?(?:would you (?:like|want|prefer)\b|do you (?:want|need) (?:me|any|more|help)\b|want me to\b|(?:shall|should|can|could|may) i\b|is there (?:anything|something) else\b|anything else\b|(?:do you have )?any (?:other |more |further )?questions\b|how (?:else )?can i (?:help|assist)\b|what else can i\b|let me know\b|(?:i )?hope (?:this|that|it) helps\b|feel free to\b|(?:i'?m )?happy to help\b|glad (?:i could|to) help\b|thanks?(?: you)?(?: for| so much|!|\.|$)|good luck\b)/i;

/** Words that are a reaction on their own ("Yeah.", "Wow!", "Interesting.", "So true."). */
const REACTIONS = new Set(
  'yes yeah yea yep yup no nope oh ah wow haha hah lol ok okay sure well so and but really true indeed exactly absolutely definitely totally right cool nice great awesome neat interesting funny crazy amazing hmm'.split(
    ' ',
  ),
);
/** What "that is …" may call something in a reaction. */
const REACTION_ADJECTIVES = new Set(
  'cool nice great awesome neat interesting funny crazy amazing wild true fun good right sad weird strange surprising impressive'.split(
    ' ',
  ),
);
const INTENSIFIERS = new Set(['so', 'very', 'really', 'pretty', 'quite', 'super']);
const COPULAS = new Set(['is', 'was', 'sounds', 'seems']);
/** After "I": agreement and acknowledgement ("I agree (with you)", "I know (right)", "I see", "I bet", "I guess (so)"). */
const I_REACTIONS: Record<string, readonly string[][]> = {
  agree: [['with', 'you'], []],
  know: [['right'], []],
  see: [[]],
  bet: [[]],
  guess: [['so'], []],
};

/**
 * A reaction or agreement that states nothing ("I agree.", "That's so cool!", "I know, right?", "lol"), read from its
 * words (`words(text)`) phrase by phrase: every word must belong to one.
 */
export function isPhatic(ws: readonly string[]): boolean {
  let i = 0;
  const at = (k: number, seq: readonly string[]) => seq.every((w, j) => ws[k + j] === w);
  while (i < ws.length) {
    const w = ws[i] as string;
    if (REACTIONS.has(w)) {
      i++;
      continue;
    }
    if (w === 'i') {
      const options = I_REACTIONS[ws[i + 1] as string];
      const tail = options?.find((o) => at(i + 2, o));
      if (!tail) return false;
      i += 2 + tail.length;
      continue;
    }
    if (at(i, ['me', 'too']) || at(i, ['same', 'here']) || at(i, ['good', 'point']) || at(i, ['good', 'question'])) {
      i += 2;
      continue;
    }
    if (w === 'that' || w === 'it' || w === 'this') {
      // words() drops "'s": "that's so cool" reads "that so cool".
      let k = i + 1;
      if (at(k, ['makes', 'sense'])) {
        i = k + 2;
        continue;
      }
      if (COPULAS.has(ws[k] as string)) k++;
      if (INTENSIFIERS.has(ws[k] as string)) k++;
      if (!REACTION_ADJECTIVES.has(ws[k] as string)) return false;
      i = k + 1;
      continue;
    }
    return false;
  }
  return ws.length > 0;
}

function isPleasantry(text: string, t: ClaimTokens): boolean {
  return t.checkable.length === 0 && t.names.length === 0 && PLEASANTRY.test(text.trim());
}

/**
 * Claims: the response's sentences. Questions stay in: one that presupposes facts ("Did you know he won in
 * 1998?") asserts them, and measured on BEGIN, skipping questions lost 0.04–0.1 ROC-AUC. Markdown is read as prose
 * (`proseOf`): list markers, headings and code are no claims.
 */
export function claimsOf(response: string, glued = true): string[] {
  return sentences(proseOf(response), glued).map((s) => s.text);
}

/**
 * A line of an answer that is code, not prose: a statement a language starts with, or one ending in ; { } with
 * brackets and operators in it, or mostly symbols. Stricter than `looksLikeCode` (for the context): a sentence with
 * a date in brackets stays a claim.
 */
function isCodeLine(line: string): boolean {
  const t = line.trim();
  if (!t) return false;
  if (
    /^(?:import\s.+\sfrom\s|from\s\S+\simport\s|def\s\w+\(|function\s*\w*\(|class\s\w+\s*[:({]|#include\b|(?:const|let|var)\s+\w+\s*=|\$\s|>>>\s)/.test(
      t,
    )
  )
    return true;
  const sym = t.match(/[{}[\]();=<>&|_$]/g)?.length ?? 0;
  return (/[;{}]$/.test(t) && sym / t.length > 0.06) || sym / t.length > 0.15;
}

/** A list item's marker: "- ", "* ", "• ", "1. ", "2) ", "(a) ", "a. " at the start of a line. */
const LIST_MARKER = /^\s*(?:[-*+•‣◦]|\(?(?:\d{1,3}|[a-z])[.)])\s+/;

/**
 * The prose of an answer in markdown or plain text, line by line: fenced code blocks, lines of code and headings
 * ("## Summary") left out, list markers taken off (a numbered item's "1." is no claim with a figure in it), a table
 * row's cells joined by commas. A JSON answer is its values, one per line (`jsonAnswerText`). Plain prose comes back
 * unchanged.
 */
export function proseOf(answer: string): string {
  const json = jsonAnswerText(answer);
  if (json !== null) return json;
  const response = answer.includes('[') ? withoutCitations(answer) : answer;
  if (!/[`#|\n]|^\s*(?:[-*+•‣◦]|\(?(?:\d{1,3}|[a-z])[.)])\s/.test(response)) return response;
  const out: string[] = [];
  let fenced = false;
  let headerAt = -1;
  for (const raw of response.split('\n')) {
    if (/^\s*(?:```|~~~)/.test(raw)) {
      fenced = !fenced;
      continue;
    }
    if (fenced || /^\s{0,3}#{1,6}\s/.test(raw)) continue;
    let line = raw.replace(LIST_MARKER, '');
    // A table's header row (the row before the |---|---| line) names columns; it claims nothing.
    if (/^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+\|?\s*$/.test(line)) {
      if (headerAt === out.length - 1) out.pop();
      continue;
    }
    if (/^\s*\|.*\|\s*$/.test(line)) {
      headerAt = out.length;
      line = line
        .trim()
        .replace(/^\||\|$/g, '')
        .split('|')
        .map((c) => c.trim())
        .filter((c) => c && !/^:?-+:?$/.test(c))
        .join(', ');
    }
    if (isCodeLine(line)) continue;
    out.push(line);
  }
  return out.join('\n');
}

/** A bibliography's heading: the lines after it list sources, they state nothing. */
const SOURCES_HEADING =
  /^\s*(?:#{1,6}\s*)?(?:\*\*)?(?:references|sources|citations|bibliography|footnotes)(?:\*\*)?\s*:?(?:\*\*)?\s*$/i;

/**
 * The answer without what only cites: source markers ("[1]", "[2, 3]", "[^1]"; attribution checks them) are no
 * figures, a footnote's definition line ("[^1]: https://…") and the list under a "References:" / "Sources" heading
 * are no claims. Without this, "… 30 seconds [1]." over a passage that never states 1 read as the contradicted
 * number 1 (a floor of 0.963).
 */
function withoutCitations(response: string): string {
  const lines = response.split('\n');
  const out: string[] = [];
  let sources = false;
  for (const line of lines) {
    // The list runs to the next heading ("## Next steps"), or to the end.
    if (SOURCES_HEADING.test(line)) sources = true;
    else if (/^\s{0,3}#{1,6}\s/.test(line)) sources = false;
    if (sources) continue;
    if (/^\s*\[\^[^\]\s]{1,20}\]:/.test(line)) continue;
    out.push(line.replace(/\s?\[(?:\^[^\]\s]{1,20}|\d{1,3}(?:\s*[,–-]\s*\d{1,3})*)\]/g, ''));
  }
  return out.join('\n');
}

/** Response score: mostly the weighted mean of claim scores, pulled up by the worst claim. */
function aggregate(scored: readonly ClaimScore[]): number {
  let sum = 0;
  let w = 0;
  let max = 0;
  for (const c of scored) {
    sum += c.result.score * c.weight;
    w += c.weight;
    if (c.result.score > max) max = c.result.score;
  }
  return round3(0.7 * (sum / w) + 0.3 * max);
}

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));
const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
