// Label matchers as Alertmanager writes them: `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`
// (regexes anchored), the value unquoted too when it has no space, quote, brace, comma, backslash, `!`, `=` or `~`
// (`model=gpt-4o`, as amtool and Alertmanager's config take it; spec.ts's MATCHER_RE, which the config's and the API's
// shapes check with too), or a `{name: value}` map of equality matchers. Used by routes,
// inhibition and silences.
import { MATCHER_RE, type MatchersInput } from './spec.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

const RE = MATCHER_RE;

/** Parses one matcher; throws with the reason when it is malformed (e.g. an invalid regex). */
export function parseMatcher(text: string): Matcher {
  const m = RE.exec(text);
  if (!m) throw new Error(`"${text}" is not a matcher like severity="critical" or model=~"gpt-4.*"`);
  const value = m[4] ?? (JSON.parse(`"${m[3]}"`) as string);
  const op = m[2] as MatchOp;
  if (op === '=~' || op === '!~') {
    try {
      new RegExp(`^(?:${value})$`);
    } catch (err) {
      throw new Error(`"${text}" has an invalid regex: ${(err as Error).message}`);
    }
  }
  return { name: m[1] as string, op, value };
}

export function parseMatchers(input: MatchersInput): Matcher[] {
  if (Array.isArray(input)) return input.map(parseMatcher);
  return Object.entries(input).map(([name, value]) => ({ name, op: '=' as const, value }));
}

export function matcherText(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}

const regexCache = new Map<string, RegExp>();
function regex(v: string): RegExp {
  let r = regexCache.get(v);
  if (!r) {
    r = new RegExp(`^(?:${v})$`);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(v, r);
  }
  return r;
}

/** A missing label matches as the empty string (Prometheus semantics). */
export function matches(m: Matcher, labels: Record<string, string>): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return regex(m.value).test(v);
    case '!~':
      return !regex(m.value).test(v);
  }
}

export function matchesAll(ms: readonly Matcher[], labels: Record<string, string>): boolean {
  return ms.every((m) => matches(m, labels));
}
