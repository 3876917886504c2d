// Annotation templates: the subset of Prometheus's Go templates llmscope's rules use, rendered the same way by the
// built-in engine (and by the promtool test generator, which must predict Prometheus's output exactly).
//   {{ $labels.name }}  {{ $value }}  {{ $value | humanize }}  {{ $value | humanizeDuration }}
//   {{ $value | humanizePercentage }}  {{ printf "%.2f" $value }}

/** Go's %.<p>g: p significant digits, trailing zeros dropped, exponent form outside 1e-4 ≤ |v| < 10^p. */
export function goG(v: number, p: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const e = v.toExponential(p - 1); // d.ddde±x
  const [mant, expText] = e.split('e') as [string, string];
  const exp = Number(expText);
  const strip = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= p) {
    const sign = exp < 0 ? '-' : '+';
    const abs = Math.abs(exp);
    return `${strip(mant)}e${sign}${abs < 10 ? `0${abs}` : abs}`;
  }
  return strip(v.toFixed(Math.max(0, p - 1 - exp)));
}

/** Go's %v of a float64 (strconv 'g' with the shortest precision). */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 21) {
    const [m, x] = v.toExponential().split('e') as [string, string];
    const n = Number(x);
    return `${m}e${n < 0 ? '-' : '+'}${Math.abs(n) < 10 ? `0${Math.abs(n)}` : Math.abs(n)}`;
  }
  return String(v);
}

export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return goG(v, 4);
  let x = v;
  let prefix = '';
  if (Math.abs(x) >= 1) {
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(x) < 1000) break;
      prefix = p;
      x /= 1000;
    }
    return `${goG(x, 4)}${prefix}`;
  }
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(x) >= 1) break;
    prefix = p;
    x *= 1000;
  }
  return `${goG(x, 4)}${prefix}`;
}

export function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return goG(v, 4);
  if (v === 0) return '0s';
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? '-' : '';
    const a = Math.abs(v);
    const d = Math.trunc(a);
    const seconds = d % 60;
    const minutes = Math.trunc(d / 60) % 60;
    const hours = Math.trunc(d / 3600) % 24;
    const days = Math.trunc(d / 86400);
    if (days) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${goG(a, 4)}s`;
  }
  let x = v;
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(x) >= 1) break;
    prefix = p;
    x *= 1000;
  }
  return `${goG(x, 4)}${prefix}s`;
}

export function humanizePercentage(v: number): string {
  return `${goG(v * 100, 4)}%`;
}

/** Go's printf for the verbs rules use: %.Nf, %.Ng, %d, %s, %v. */
export function printf(format: string, v: number): string {
  return format.replace(/%(?:\.(\d+))?([fgdsv%])/g, (_m, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (verb === 'f') return v.toFixed(prec === undefined ? 6 : Number(prec));
    if (verb === 'g') return prec === undefined ? goFloat(v) : goG(v, Number(prec));
    if (verb === 'd') return String(Math.trunc(v));
    return goFloat(v);
  });
}

/** `$12.34`: a dollar sign, then the value as Prometheus's printf writes it. */
export const USD_VALUE = '$' + '{{ printf "%.2f" $value }}';

const FUNCS: Record<string, (v: number) => string> = { humanize, humanizeDuration, humanizePercentage };

/** Renders a template with an alert's labels and value; unknown actions are left as they are. */
export function renderTemplate(text: string, labels: Record<string, string>, value: number): string {
  return text.replace(/\{\{\s*(.*?)\s*\}\}/g, (whole, expr: string) => {
    const label = /^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(expr);
    if (label) return labels[label[1] as string] ?? '';
    if (expr === '$value') return goFloat(value);
    const piped = /^\$value\s*\|\s*([a-zA-Z]+)$/.exec(expr);
    if (piped) {
      const f = FUNCS[piped[1] as string];
      return f ? f(value) : whole;
    }
    const pf = /^printf\s+"([^"]*)"\s+\$value$/.exec(expr);
    if (pf) return printf(pf[1] as string, value);
    return whole;
  });
}

export function renderAnnotations(
  annotations: Record<string, string>,
  labels: Record<string, string>,
  value: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) out[k] = renderTemplate(v, labels, value);
  return out;
}

/**
 * The functions a Prometheus rule's template may call: Go's text/template builtins and Prometheus's own (2.x and
 * later). Prometheus refuses a whole rules file whose template calls any other, and the built-in engine shows such an
 * action raw, so config checks refuse it (unknownTemplateFunctions).
 */
const TEMPLATE_FUNCTIONS: ReadonlySet<string> = new Set([
  // Go's builtins and the template keywords
  ...['and', 'call', 'html', 'index', 'slice', 'js', 'len', 'not', 'or', 'print', 'printf', 'println', 'urlquery'],
  ...['eq', 'ge', 'gt', 'le', 'lt', 'ne', 'if', 'else', 'end', 'range', 'with', 'define', 'template', 'block'],
  ...['break', 'continue', 'nil', 'true', 'false'],
  // Prometheus's
  ...['query', 'first', 'label', 'value', 'strvalue', 'args', 'reReplaceAll', 'safeHtml', 'match', 'title'],
  ...['toUpper', 'toLower', 'graphLink', 'tableLink', 'sortByLabel', 'humanize', 'humanize1024', 'humanizeDuration'],
  ...['humanizePercentage', 'humanizeTimestamp', 'toTime', 'toDuration', 'now', 'pathPrefix', 'externalURL'],
  // urlQueryEscape: Prometheus 3.8 and later (prometheus/prometheus#17404), for a label in a dashboard or runbook URL
  ...['parseDuration', 'stripPort', 'stripDomain', 'urlQueryEscape'],
]);

/** Functions a template's actions call that Prometheus does not define (`{{ $value | humanizePercent }}`), in order. */
export function unknownTemplateFunctions(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\{\{-?([\s\S]*?)-?\}\}/g)) {
    // strings and raw strings out first: a "|" or "(" inside one is not a pipe or a call
    if (/^\s*\/\*/.test(m[1] ?? '')) continue; // a comment
    const action = (m[1] ?? '').replace(/"(?:[^"\\]|\\.)*"|`[^`]*`/g, '""');
    // each command of a pipeline, and each parenthesized one, starts with what it calls
    for (const cmd of action.split(/[|(]/)) {
      const word = /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(cmd)?.[1];
      if (word && !TEMPLATE_FUNCTIONS.has(word) && !out.includes(word)) out.push(word);
    }
  }
  return out;
}
