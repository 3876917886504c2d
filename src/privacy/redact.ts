// Redaction of personal data and secrets in text that leaves the hot path (captured content, quality evidence and
// the review queue, LLM-judge requests): emails, phone numbers, payment cards (Luhn-checked), IBANs (mod-97
// checked), national ids (US SSN, UK NINO), IP addresses, API keys and tokens, plus patterns the user configures.
// Each match becomes `[redacted-<kind>]` and is counted by kind. Every pattern is linear in the text: it starts at a
// boundary its first part cannot extend past (a lookbehind, a literal, `\b`) and its runs are bounded, so a long
// word is never rescanned from each of its characters.

export const BUILTIN_KINDS = ['secret', 'email', 'card', 'iban', 'national_id', 'ip', 'phone'] as const;
export type BuiltinKind = (typeof BUILTIN_KINDS)[number];

interface Rule {
  kind: string;
  re: RegExp;
  /** A second check on a match (checksums); a match it rejects is left as it is. */
  valid?: (match: string) => boolean;
  /**
   * What every match contains, so the pattern is not run over a text without it (most prompts hold no '@', many no
   * digit): 'digit', '@', or 'digit-or-colon' (an IPv6 address may be all letters and colons).
   */
  needs?: 'digit' | '@' | 'digit-or-colon';
}

/** Luhn checksum over the digits of `s` (payment cards). */
export function luhnValid(s: string): boolean {
  const digits = s.replace(/\D/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** ISO 13616 mod-97 check of an IBAN (spaces allowed). */
export function ibanValid(s: string): boolean {
  const iban = s.replace(/ /g, '').toUpperCase();
  if (iban.length < 15 || iban.length > 34) return false;
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const v = ch >= 'A' && ch <= 'Z' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) rem = (rem * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

const HEX = '[0-9A-Fa-f]{1,4}';
const BUILTIN: readonly Rule[] = [
  // Secrets first: a key may contain what looks like a phone number or an email.
  {
    kind: 'secret',
    re: /-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[\s\S]{0,20000}?-----END [A-Z ]{0,40}PRIVATE KEY-----/g,
  },
  {
    kind: 'secret',
    re: /\b(?:(?:sk|lsk|pk|rk)[-_][A-Za-z0-9_-]{8,200}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,255}|xox[abprs]-[A-Za-z0-9-]{10,200}|AIza[0-9A-Za-z_-]{35}|ya29\.[0-9A-Za-z_-]{20,2000}|hf_[A-Za-z0-9]{30,200}|glpat-[A-Za-z0-9_-]{20,200}|npm_[A-Za-z0-9]{36}|eyJ[A-Za-z0-9_-]{5,2000}\.[A-Za-z0-9_-]{5,2000}\.[A-Za-z0-9_-]{5,2000})/g,
  },
  { kind: 'secret', re: /\bBearer\s{1,10}[A-Za-z0-9._~+/-]{1,2000}=*/gi },
  {
    kind: 'email',
    re: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}\b/g,
    needs: '@',
  },
  { kind: 'card', re: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])/g, valid: luhnValid, needs: 'digit' },
  { kind: 'iban', re: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g, valid: ibanValid, needs: 'digit' },
  {
    kind: 'national_id',
    needs: 'digit',
    // US SSN (not 000/666/9xx area, 00 group, 0000 serial); UK National Insurance number.
    re: /\b(?:(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}|(?![DFIQUV])[A-CEGHJ-PR-TW-Z](?![DFIQUVO])[A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D])\b/g,
  },
  {
    kind: 'ip',
    needs: 'digit-or-colon',
    re: new RegExp(
      `(?<![\\w.:])(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?![\\w.])` +
        `|(?<![\\w:])(?:(?:${HEX}:){7}${HEX}|(?:${HEX}:){1,6}:(?:${HEX}(?::${HEX}){0,5})?|::${HEX}(?::${HEX}){1,6})(?![\\w:])`,
      'g',
    ),
  },
  // Phone numbers last: by then cards, IBANs and ids are placeholders. International (+CC ...) or NANP shapes; an
  // international number in groups of one or two digits (+33 6 12 34 56 78) or with a trunk "(0)" (+44 (0)20 ...)
  // when it holds at least 8 digits, so a short signed figure (+5 30, +1 2 3) is not taken for one.
  {
    kind: 'phone',
    needs: 'digit',
    re: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}(?!\d)|(?<![\w+])\+(?=(?:[ .()-]{0,3}\d){8})\d{1,3}(?:[ .-]?\(0\))?(?:[ .-]?\d{1,4}){2,7}(?!\d)|(?<![\w+])\+\d{1,3}(?:[ .-]?\d{2,4}){2,5}(?!\d)/g,
  },
];

export interface RedactorOptions {
  /** Extra patterns (regular expressions), each with its own kind name. */
  patterns?: readonly { name: string; pattern: string }[];
  /** Told the count of each kind redacted in one text. */
  onRedact?: (kind: string, count: number) => void;
}

export class Redactor {
  private readonly rules: Rule[];
  readonly kinds: readonly string[];

  constructor(private readonly opts: RedactorOptions = {}) {
    const custom = (opts.patterns ?? []).map((p) => ({ kind: p.name, re: new RegExp(p.pattern, 'g') }));
    // Custom patterns run first: they name what the user knows is sensitive (order numbers, employee ids).
    this.rules = [...custom, ...BUILTIN];
    this.kinds = [...new Set(this.rules.map((r) => r.kind))];
  }

  /** `text` with every match replaced by `[redacted-<kind>]`; counts go to `onRedact`. */
  redact(text: string): string {
    if (!text) return text;
    let out = text;
    // Made at the first match: most texts have none (a Map and an object per text were most of what redacting a
    // clean text allocated).
    let counts: Map<string, number> | null = null;
    // What the text holds, read when the first rule that needs it comes (after the custom patterns, whose
    // placeholders may hold digits); the built-in placeholders ("[redacted-email]") add no digit, '@' or ':'.
    let read = false;
    let digit = false;
    let at = false;
    let colon = false;
    for (const r of this.rules) {
      if (r.needs) {
        if (!read) {
          read = true;
          digit = /\d/.test(out);
          at = out.includes('@');
          colon = out.includes(':');
        }
        if (r.needs === 'digit' ? !digit : r.needs === '@' ? !at : !(digit || colon)) continue;
      }
      r.re.lastIndex = 0;
      if (!r.re.test(out)) continue;
      r.re.lastIndex = 0;
      counts ??= new Map();
      const found = counts;
      out = out.replace(r.re, (m) => {
        if (r.valid && !r.valid(m)) return m;
        found.set(r.kind, (found.get(r.kind) ?? 0) + 1);
        return `[redacted-${r.kind}]`;
      });
    }
    if (counts !== null && this.opts.onRedact) for (const [k, n] of counts) this.opts.onRedact(k, n);
    return out;
  }
}

const plain = new Redactor();

/** Redacts with the built-in patterns only, counting nothing. */
export function redactText(text: string): string {
  return plain.redact(text);
}

/**
 * `text` redacted piece by piece between the [start, end) offsets in `ranges` (which move in place to the redacted
 * text), so offsets into a prompt (where its assistant turns lie) stay true after redaction.
 */
export function redactWithRanges(r: Redactor, text: string, ranges: number[]): string {
  let out = '';
  let at = 0;
  for (let k = 0; k < ranges.length; k++) {
    const end = ranges[k] as number;
    out += r.redact(text.slice(at, end));
    at = end;
    ranges[k] = out.length;
  }
  return out + r.redact(text.slice(at));
}
