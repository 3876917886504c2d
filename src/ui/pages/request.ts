// One request: its record, timings, tokens and price breakdown, the trace as a waterfall, events, captured
// prompt/response (as text), the log lines that carried its request_id, evaluations with their evidence, feedback (with thumbs up/down), and a link to the
// trace in the user's tracing UI when telemetry.traceUrlTemplate is configured. Its user, session and trace id link
// to the user's, the session's and the trace's pages.
// Figures say what they mean: the overhead's tooltip says why it differs from the x-llmscope-overhead-ms header,
// each evaluation says what its check looks at and that a higher score means more likely hallucinated.

import type {
  CallDetail,
  Evaluation,
  Feedback,
  KeyList,
  KeyView,
  SessionBody,
  Span,
  UiConfig,
} from '../../wire/index.js';
import { can } from '../lib/access.js';
import { failed, get, post, why } from '../lib/api.js';
import { bar, card, empty, fill, h, ms, num, tile, time, usd } from '../lib/dom.js';
import { carried, href } from '../lib/state.js';
import type { Page, PageContext } from './page.js';

export const requestPage: Page = {
  title: (r) => `Request ${r.id ?? ''}`,
  async render(root, ctx) {
    if (ctx.refresh) return; // a finished call does not change; feedback re-renders on its own
    const id = ctx.route.id ?? '';
    const [r, ui] = await Promise.all([
      get<CallDetail>(`/api/requests/${encodeURIComponent(id)}`),
      get<UiConfig>('/api/ui/config'),
    ]);
    if (!ctx.current()) return;
    // back to the list this call was opened from, with all of its filters (the Requests page passes them on)
    const back = h('a', { href: href('requests', ctx.route.params), class: 'back' }, '← requests');
    if (!r.ok) {
      fill(root, back, empty(r.status === 404 ? r.message : why(r, 'this request')));
      return;
    }
    const c = r.data;
    const template = ui.ok ? ui.data.trace_url_template : null;
    // the key's name and when it was made (a key made today is a lead), for those who may list keys
    const [trace, keys] = await Promise.all([
      traceAround(c),
      c.api_key_id && can('GET /api/keys') ? get<KeyList>('/api/keys?include_revoked=true') : null,
    ]);
    if (!ctx.current()) return;
    const key = keys?.ok ? (keys.data.keys.find((k) => k.id === c.api_key_id) ?? null) : null;
    fill(
      root,
      back,
      header(c, template, carried(ctx.route.params), key),
      h(
        'section',
        { class: 'tiles' },
        tile('latency', ms(c.latency_ms)),
        tile('TTFT', ms(c.ttft_ms), c.stream ? null : 'not streamed'),
        tile('TPOT', ms(c.tpot_ms)),
        overheadTile(c),
        tile(
          'tokens in / out',
          `${num(c.input_tokens)} / ${num(c.output_tokens)}`,
          c.token_source ? `from ${c.token_source}` : null,
        ),
        tile('cost', usd(c.cost_usd)),
      ),
      card(
        'Trace',
        trace.calls > 1
          ? h(
              'p',
              { class: 'muted small', id: 'trace-note' },
              `The whole trace: ${trace.calls} calls on one time axis; this call's spans in bold.`,
            )
          : null,
        waterfall(trace.spans, trace.calls > 1 ? ownSpans(c) : undefined),
      ),
      h('div', { class: 'grid2' }, card('Price', priceTable(c)), card('Events', events(c))),
      content(c),
      card('Logs', logLines(c)),
      card('Evaluations', evaluations(c.evaluations)),
      feedbackCard(c, ctx),
    );
  },
};

function kv(pairs: [string, string | Node | null | undefined][]): HTMLElement {
  return h(
    'dl',
    { class: 'kv' },
    pairs
      .filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
  );
}

function header(c: CallDetail, template: string | null, keep: URLSearchParams, key: KeyView | null): HTMLElement {
  const traceLink =
    c.trace_id && template
      ? h(
          'a',
          {
            href: template.replaceAll('{trace_id}', encodeURIComponent(c.trace_id)),
            target: '_blank',
            rel: 'noopener noreferrer',
            id: 'trace-link',
          },
          'open in tracing UI ↗',
        )
      : null;
  return h(
    'section',
    { class: 'card head' },
    h('h2', { class: 'mono' }, c.request_id),
    h('span', { class: `badge ${c.status === 'ok' ? 'good' : 'bad'}`, id: 'call-status' }, c.status),
    c.refusal ? h('span', { class: 'badge warn' }, 'refusal') : null,
    kv([
      ['model', c.model],
      ['provider', c.provider],
      [
        'provider request id',
        c.upstream_request_id
          ? h(
              'code',
              { id: 'upstream-request-id', title: "the provider's own id for this call" },
              c.upstream_request_id,
            )
          : null,
      ],
      ['endpoint', `${c.endpoint}${c.stream ? ' (stream)' : ''}`],
      ['started', time(c.started_at)],
      ['HTTP status', String(c.http_status)],
      ['error', c.error_type],
      [
        'error message',
        c.error_message
          ? h('span', { id: 'error-message' }, c.error_message)
          : c.status !== 'ok' && c.error_type
            ? h('span', { class: 'muted', id: 'error-message' }, 'not kept: this llmscope records the error type only')
            : null,
      ],
      ['finish reason', c.finish_reason],
      ['user', c.user ? h('a', { href: href('users', keep, c.user), id: 'user-link' }, c.user) : null],
      ['team', c.team],
      ['feature', c.feature],
      [
        'virtual key',
        c.api_key_id
          ? h(
              'a',
              {
                href: href('requests', new URLSearchParams([...keep, ['api_key_id', c.api_key_id]])),
                id: 'key-link',
                title: "this key's calls",
              },
              h('code', null, c.api_key_id),
            )
          : null,
      ],
      [
        'key',
        key
          ? h(
              'span',
              { id: 'key-about' },
              h('strong', null, key.name),
              key.status === 'active' ? null : ` (${key.status})`,
              key.source === 'config'
                ? ' · in the config file'
                : ` · made ${key.created_at ? time(key.created_at) : '–'}${key.created_by ? ` by ${key.created_by}` : ''}`,
            )
          : null,
      ],
      [
        'session',
        c.session ? h('a', { href: href('sessions', keep, c.session), id: 'session-link' }, c.session) : null,
      ],
      [
        'trace id',
        c.trace_id
          ? h(
              'span',
              null,
              h(
                'a',
                { href: href('traces', keep, c.trace_id), id: 'trace-page-link', title: 'every call of this trace' },
                h('code', null, c.trace_id),
              ),
              ' ',
              traceLink,
            )
          : null,
      ],
      ['logs', h('span', { class: 'muted' }, `llmscope's log lines for this call carry request_id=${c.request_id}`)],
    ]),
  );
}

/**
 * The spans of the call's whole trace, each once: an agent's steps (its other model calls, tool calls, the root span)
 * are kept with the trace's first call, so a later call's own spans alone would draw one bar without its parent and
 * the first call's would miss the later calls. The call's own spans when its trace holds no other call or cannot be
 * read (a scoped viewer, an older llmscope); bounded by the trace API's page.
 */
async function traceAround(c: CallDetail): Promise<{ spans: Span[]; calls: number }> {
  if (!c.trace_id) return { spans: c.spans, calls: 1 };
  const t = await get<SessionBody>(`/api/traces/${encodeURIComponent(c.trace_id)}`);
  if (!t.ok || t.data.calls.length < 2 || !t.data.calls.some((x) => x.request_id === c.request_id))
    return { spans: c.spans, calls: 1 };
  const seen = new Set<string>();
  const spans: Span[] = [];
  for (const s of [...c.spans, ...t.data.calls.flatMap((x) => x.spans)])
    if (!seen.has(s.span_id)) {
      seen.add(s.span_id);
      spans.push(s);
    }
  return { spans, calls: t.data.calls.length };
}

/**
 * The call's own spans: an OTLP call's is the span its id names (`otlp-…-<trace id>-<span id>`; the other spans stored
 * with it are the trace's steps), a gateway call's are all of its spans.
 */
function ownSpans(c: CallDetail): Set<string> {
  const otlp = /^otlp-(?:[0-9a-f]+-)?[0-9a-f]{32}-([0-9a-f]{16})$/.exec(c.request_id);
  return new Set(otlp ? [otlp[1] as string] : c.spans.map((x) => x.span_id));
}

/**
 * The trace as a waterfall: one row per span, bars positioned on the root span's time line; the spans in `mine` (the
 * call's own, when the waterfall shows its whole trace) marked `current`.
 */
export function waterfall(spans: Span[], mine?: ReadonlySet<string>): HTMLElement {
  if (spans.length === 0) return empty('no spans recorded for this call');
  const parsed = spans.map((s) => ({ s, start: Date.parse(s.start_time), end: Date.parse(s.end_time) }));
  const t0 = Math.min(...parsed.map((p) => p.start));
  const t1 = Math.max(...parsed.map((p) => p.end));
  const total = Math.max(0.001, t1 - t0);
  // Children under their parent, in start order.
  const byParent = new Map<string | null, typeof parsed>();
  const ids = new Set(parsed.map((p) => p.s.span_id));
  for (const p of parsed) {
    const parent = p.s.parent_span_id && ids.has(p.s.parent_span_id) ? p.s.parent_span_id : null;
    const list = byParent.get(parent) ?? [];
    list.push(p);
    byParent.set(parent, list);
  }
  const rows: HTMLElement[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const p of (byParent.get(parent) ?? []).sort((a, b) => a.start - b.start)) {
      const left = ((p.start - t0) / total) * 100;
      const width = Math.max(0.3, ((p.end - p.start) / total) * 100);
      const marks = p.s.events.map((e) =>
        h('i', {
          class: 'mark',
          title: `${e.name} at +${ms(Date.parse(e.time) - t0)}`,
          style: `left:${(((Date.parse(e.time) - t0) / total) * 100).toFixed(2)}%`,
        }),
      );
      rows.push(
        h(
          'details',
          { class: mine?.has(p.s.span_id) ? 'span-row current' : 'span-row' },
          h(
            'summary',
            null,
            h('span', { class: 'span-name', style: `padding-left:${depth * 14}px` }, p.s.name),
            h(
              'span',
              { class: 'span-track' },
              h('span', {
                class: `span-bar ${p.s.kind} ${p.s.status === 'error' ? 'error' : ''}`,
                style: `left:${left.toFixed(2)}%;width:${width.toFixed(2)}%`,
              }),
              marks,
            ),
            h('span', { class: 'span-dur num' }, ms(p.end - p.start)),
          ),
          h(
            'div',
            { class: 'span-attrs' },
            kv([
              ['kind', p.s.kind],
              ['status', p.s.status],
              ['span id', p.s.span_id],
              ['starts at', `+${ms(p.start - t0)}`],
              ...Object.entries(p.s.attributes).map(([k, v]): [string, string] => [k, String(v)]),
              ...p.s.events.map((e): [string, string] => [`event ${e.name}`, `+${ms(Date.parse(e.time) - t0)}`]),
            ]),
          ),
        ),
      );
      walk(p.s.span_id, depth + 1);
    }
  };
  walk(null, 0);
  return h(
    'div',
    { class: 'waterfall', id: 'waterfall' },
    h(
      'div',
      { class: 'wf-scale muted' },
      h('span', null, '0'),
      h('span', null, ms(total / 2)),
      h('span', null, ms(total)),
    ),
    rows,
  );
}

/**
 * The price table's lines (label, tokens, price per token), each token at the price it was charged, as the cost is
 * computed (docs/cost.md): input_tokens holds the cached and cache-written tokens; a call whose audio tokens were
 * priced at audio prices (its price has them) has its audio parts (the realtime.audio_tokens event) on lines of their
 * own, clamped as costOf clamps them, so the lines add up to its cost.
 */
export function priceLines(c: CallDetail): [string, number, number][] {
  const p = c.price;
  if (!p) return [];
  const all = Math.max(0, c.input_tokens ?? 0);
  const cached = Math.min(Math.max(0, c.cached_input_tokens ?? 0), all);
  const written = Math.min(Math.max(0, c.cache_write_input_tokens ?? 0), all - cached);
  const input = all - cached - written;
  const output = Math.max(0, c.output_tokens ?? 0);
  let audioIn = 0;
  let audioCached = 0;
  let audioOut = 0;
  const ev = p.audio_input !== undefined ? c.events.find((e) => e.name === 'realtime.audio_tokens') : undefined;
  if (ev) {
    const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
    const claimed = Math.min(n(ev.attributes.input_audio_tokens), all);
    audioCached = Math.min(n(ev.attributes.cached_audio_tokens), claimed, cached);
    audioIn = Math.min(claimed - audioCached, input);
    audioOut = Math.min(n(ev.attributes.output_audio_tokens), output);
  }
  const line = (k: string, n: number, price: number | undefined): [string, number, number][] =>
    n > 0 && price !== undefined ? [[k, n, price]] : [];
  return [
    ['input', input - audioIn, p.input],
    ...line('audio input', audioIn, p.audio_input),
    ['cached input', cached - audioCached, p.cached_input],
    ...line('cached audio input', audioCached, p.cached_audio_input),
    ...line('cache write', written, p.cache_write ?? p.input),
    ['output', output - audioOut, p.output],
    ...line('audio output', audioOut, p.audio_output),
  ];
}

function priceTable(c: CallDetail): HTMLElement {
  const p = c.price;
  if (!p) return empty(c.cost_usd === null ? 'no price for this model (unpriced)' : 'no price recorded');
  const perM = (x: number) => `$${(x * 1e6).toFixed(x * 1e6 >= 1 ? 2 : 4)} / 1M`;
  // Billed per unit (DALL·E per image, whisper-1 per second of audio, tts-1 per character): units × unit price.
  if (p.unit !== undefined) return unitPriceTable(c, p.unit, p.units ?? 0, p.unit_price ?? 0, p.source);
  const lines = priceLines(c);
  return h(
    'table',
    { id: 'price' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['', 'tokens', 'price', 'cost'].map((x) => h('th', null, x)),
      ),
    ),
    h(
      'tbody',
      null,
      lines.map(([k, n, price]) =>
        h(
          'tr',
          null,
          h('td', null, k),
          h('td', { class: 'num' }, num(n)),
          h('td', { class: 'num' }, perM(price)),
          h('td', { class: 'num' }, usd(n * price)),
        ),
      ),
      toolRows(p.tools),
      h(
        'tr',
        { class: 'total' },
        h('td', null, 'total'),
        h('td', null, ''),
        h('td', { class: 'muted' }, p.source),
        h('td', { class: 'num' }, usd(c.cost_usd)),
      ),
    ),
  );
}

const TOOL_LABELS: Record<string, string> = {
  web_search: 'web searches',
  web_search_preview: 'web searches (preview)',
  file_search: 'file searches',
  web_fetch: 'web fetches',
};

/**
 * The built-in tools a call used, beside its token prices: uses, the price of 1,000 (a tool without a price says
 * unpriced: it is not in the call's cost), and their cost.
 */
function toolRows(tools: NonNullable<CallDetail['price']>['tools']): HTMLElement[] {
  return (tools ?? []).map((t) =>
    h(
      'tr',
      { class: 'tool' },
      h('td', null, TOOL_LABELS[t.tool] ?? t.tool),
      h('td', { class: 'num' }, num(t.units)),
      h('td', { class: 'num' }, t.unit_price === null ? 'unpriced' : `$${+(t.unit_price * 1000).toFixed(4)} / 1K`),
      h('td', { class: 'num' }, t.unit_price === null ? '—' : usd(t.units * t.unit_price)),
    ),
  );
}

/** The price table of a call billed per unit: its units, the price of one, the cost. */
function unitPriceTable(c: CallDetail, unit: string, units: number, each: number, source: string): HTMLElement {
  const label = unit === 'image' ? 'images' : unit === 'second' ? 'seconds of audio' : 'characters';
  const price = unit === 'character' ? `$${(each * 1e6).toFixed(2)} / 1M characters` : `$${each} / ${unit}`;
  return h(
    'table',
    { id: 'price' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['', 'units', 'price', 'cost'].map((x) => h('th', null, x)),
      ),
    ),
    h(
      'tbody',
      null,
      h(
        'tr',
        null,
        h('td', null, label),
        h('td', { class: 'num' }, num(units)),
        h('td', { class: 'num' }, price),
        h('td', { class: 'num' }, usd(c.cost_usd)),
      ),
      h(
        'tr',
        { class: 'total' },
        h('td', null, 'total'),
        h('td', null, ''),
        h('td', { class: 'muted' }, source),
        h('td', { class: 'num' }, usd(c.cost_usd)),
      ),
    ),
  );
}

const EVENT_MEANING: Record<string, string> = {
  'gen_ai.first_token': 'the first content-bearing chunk arrived from the upstream (TTFT)',
  'llmscope.client_cancelled': 'the client closed the connection before the answer ended',
};

/** The overhead, and exactly why the response header says less. */
export const OVERHEAD_EXPLAINED =
  "Time spent in llmscope during this call: latency − the time waiting on the upstream (from sending the request to the upstream's last byte). " +
  'It holds the work before the request goes upstream (reading and parsing the body, keys and budget hooks, routing) and the work after ' +
  "the upstream's last byte (parsing a non-streamed body for usage, ending the response, finishing the record). " +
  'The x-llmscope-overhead-ms response header is sent with the response headers, before any body byte, so it counts only the work up ' +
  "to the first byte: the time before the request went upstream plus the time from the upstream's headers to ours. " +
  "The work after the upstream's last byte cannot be in it, so the header is smaller than this figure.";

function overheadTile(c: CallDetail): HTMLElement {
  // A call sent in (OTLP spans, /v1/logs, /api/ingest) never passed through llmscope: it has no overhead to show.
  if (c.source === 'ingest')
    return tile('llmscope overhead', '–', 'not through the gateway: sent in by the app', undefined, 'overhead');
  const t = tile(
    'llmscope overhead',
    ms(c.overhead_ms),
    'whole call; the header counts to the first byte',
    undefined,
    'overhead',
  );
  t.title = OVERHEAD_EXPLAINED;
  t.classList.add('explained');
  return t;
}

/**
 * A fraction in an event's attributes as a person reads it: a measured time's float (145.0478515625) to three
 * decimals, and one under 1 (a price or a ratio an OTLP event carries: 0.00001155) to four significant digits rather
 * than rounded to 0.
 */
const roundFloats = (_: string, v: unknown) =>
  typeof v === 'number' && !Number.isInteger(v)
    ? Math.abs(v) >= 1
      ? Math.round(v * 1000) / 1000
      : Number(v.toPrecision(4))
    : v;

function events(c: CallDetail): HTMLElement {
  // Each event once: calls recorded before the fix carry the first token on two spans (same name, same time).
  const seen = new Map<string, { time: string; name: string; attrs: Record<string, unknown> | undefined }>();
  for (const e of [
    ...c.events.map((e) => ({ time: e.time, name: e.name, attrs: e.attributes })),
    ...c.spans.flatMap((s) => s.events.map((e) => ({ time: e.time, name: e.name, attrs: e.attributes }))),
  ]) {
    const key = `${e.name}@${Date.parse(e.time)}`;
    const had = seen.get(key);
    if (!had || Object.keys(had.attrs ?? {}).length < Object.keys(e.attrs ?? {}).length) seen.set(key, e);
  }
  const all = [...seen.values()].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  if (all.length === 0) return empty('no events');
  const t0 = Date.parse(c.started_at);
  return h(
    'ul',
    { class: 'events' },
    all.map((e) =>
      h(
        'li',
        null,
        h('span', { class: 'num muted' }, `+${ms(Date.parse(e.time) - t0)}`),
        ' ',
        h('strong', null, e.name),
        // a measured time keeps its float's every digit (145.0478515625): shown to the microsecond, as the record's
        Object.keys(e.attrs ?? {}).length ? h('code', null, ` ${JSON.stringify(e.attrs, roundFloats)}`) : null,
        EVENT_MEANING[e.name] ? h('span', { class: 'muted' }, ` — ${EVENT_MEANING[e.name]}`) : null,
      ),
    ),
  );
}

function content(c: CallDetail): HTMLElement {
  if (!c.content)
    return card(
      'Prompt and response',
      empty('content was not captured', 'switch on telemetry.captureContent to keep prompts and responses (redacted)'),
    );
  return card(
    'Prompt and response',
    h('h4', null, 'prompt'),
    h('pre', { class: 'content', id: 'prompt' }, c.content.input ?? '–'),
    h('h4', null, 'response'),
    h('pre', { class: 'content', id: 'response' }, c.content.output ?? '–'),
  );
}

/** What each check looks at, and what its score measures (every score: 0..1, higher = more likely hallucinated). */
export const EVALUATOR_MEANING: Record<string, { checks: string; score: string }> = {
  grounding: {
    checks: "is each claim of the answer backed by the prompt's context or the knowledge base?",
    score: 'the calibrated probability that the answer is not grounded (fails at 0.5 unless configured otherwise)',
  },
  consistency: {
    checks: 'does the answer contradict itself (different numbers for the same thing, a statement and its negation)?',
    score: 'the strength of the worst contradiction found; 0 = none',
  },
  attribution: {
    checks: 'do its citations (URLs, [n] markers, quotes, document ids) exist, and back the sentence that cites them?',
    score: 'the share of citations that are invented or do not back their sentence',
  },
  judge: {
    checks: "an LLM judge's grade of the answer against the context",
    score: "1 − the judge's faithfulness grade",
  },
};

export function evaluations(list: Evaluation[]): HTMLElement {
  if (list.length === 0)
    return empty('no evaluations for this call', 'evaluators run on a sample of calls (quality.sampling)');
  return h(
    'div',
    { class: 'evals' },
    h(
      'p',
      { class: 'muted', id: 'score-legend' },
      'Each check gives a verdict and a score from 0 to 1: higher = more likely hallucinated (0 = no problem found, 1 = certainly a problem). ',
      '"pass" and "fail" compare the score with the check\'s threshold; "unknown" means there was nothing to check against.',
    ),
    list.map((e) => {
      const m = EVALUATOR_MEANING[e.evaluator];
      return h(
        'div',
        { class: 'eval', 'data-evaluator': e.evaluator },
        h(
          'div',
          null,
          h('strong', null, e.evaluator),
          ' ',
          h('span', { class: `badge ${e.verdict === 'pass' ? 'good' : e.verdict === 'fail' ? 'bad' : ''}` }, e.verdict),
          e.score === null
            ? null
            : h(
                'span',
                { class: 'score', title: m ? `score: ${m.score}` : 'score: 0..1, higher = more likely hallucinated' },
                ` hallucination score ${e.score.toFixed(2)} `,
                bar(e.score, `${e.score.toFixed(2)} of 1`),
                h('span', { class: 'muted' }, ' (0 good … 1 bad)'),
              ),
        ),
        m ? h('p', { class: 'muted small' }, `Checks: ${m.checks} Score: ${m.score}.`) : null,
        e.explanation ? h('p', null, e.explanation) : null,
        e.claims?.length
          ? h(
              'details',
              null,
              h('summary', null, `${e.claims.length} claims`),
              h('pre', null, JSON.stringify(e.claims, null, 2)),
            )
          : null,
        e.evidence
          ? h('details', null, h('summary', null, 'evidence'), h('pre', null, JSON.stringify(e.evidence, null, 2)))
          : null,
      );
    }),
  );
}

/** The first value of `o` under one of `keys` (a JSON line's own names, or their ECS names), as text. */
function field(o: Record<string, unknown>, keys: readonly string[]): string {
  for (const k of keys) {
    const v = o[k];
    if (v !== undefined && v !== null) return typeof v === 'string' ? v : JSON.stringify(v);
  }
  return '';
}

const LOG_LEVEL = ['level', 'log.level'];
const LOG_TIME = ['time', '@timestamp'];
const LOG_EVENT = ['event', 'event.action'];
const LOG_MSG = ['msg', 'message'];
const LOG_SHOWN = new Set([...LOG_LEVEL, ...LOG_TIME, ...LOG_EVENT, ...LOG_MSG]);

/** The log lines that carried this call's request_id: level, time, event and message, the rest folded. */
export function logLines(c: CallDetail): HTMLElement {
  const logs = c.logs ?? [];
  const dropped = c.logs_dropped ?? 0;
  const note =
    dropped > 0
      ? h('p', { class: 'muted small', id: 'logs-dropped' }, `${dropped} more lines of this call were not kept`)
      : null;
  if (logs.length === 0)
    return h('div', { id: 'logs-empty' }, empty('no log lines for this call', 'lines that carry its request_id'), note);
  return h(
    'div',
    null,
    h(
      'table',
      { id: 'logs' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['level', 'time', 'event', 'message'].map((x) => h('th', null, x)),
        ),
      ),
      h(
        'tbody',
        null,
        logs.map((o) => {
          const level = field(o, LOG_LEVEL);
          const rest: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(o)) if (!LOG_SHOWN.has(k)) rest[k] = v;
          return h(
            'tr',
            { class: 'log-line', 'data-event': field(o, LOG_EVENT) },
            h(
              'td',
              null,
              h(
                'span',
                { class: `badge ${level === 'error' || level === 'fatal' ? 'bad' : level === 'warn' ? 'warn' : ''}` },
                level,
              ),
            ),
            h('td', { class: 'mono small' }, field(o, LOG_TIME)),
            h('td', { class: 'mono' }, field(o, LOG_EVENT)),
            h(
              'td',
              null,
              field(o, LOG_MSG),
              h(
                'details',
                null,
                h('summary', { class: 'muted small' }, 'fields'),
                h('pre', null, JSON.stringify(rest, null, 2)),
              ),
            ),
          );
        }),
      ),
    ),
    note,
  );
}

export function feedbackList(list: Feedback[]): HTMLElement {
  if (list.length === 0) return h('p', { class: 'muted' }, 'no feedback yet');
  return h(
    'ul',
    { class: 'feedback' },
    list.map((f) =>
      h(
        'li',
        null,
        h('span', { class: f.rating === 'up' ? 'good' : 'bad' }, f.rating === 'up' ? '▲ up' : '▼ down'),
        ' ',
        h('span', { class: 'muted' }, `${f.source} · ${time(f.created_at)}`),
        f.comment ? h('span', null, ` — ${f.comment}`) : null,
        f.labels?.length ? h('span', { class: 'muted' }, ` [${f.labels.join(', ')}]`) : null,
      ),
    ),
  );
}

function feedbackCard(c: CallDetail, ctx: PageContext): HTMLElement {
  const msg = h('span', { class: 'muted', id: 'feedback-msg' });
  const comment = h('input', { placeholder: 'comment (optional)', id: 'feedback-comment', maxlength: 4000 });
  const send = async (rating: 'up' | 'down') => {
    msg.textContent = 'sending…';
    const r = await post('/api/feedback', {
      request_id: c.request_id,
      rating,
      comment: comment.value.trim() || undefined,
      source: 'dashboard',
    });
    if (!r.ok) {
      msg.textContent = failed(r, 'record the feedback');
      return;
    }
    msg.textContent = 'thanks — recorded';
    ctx.reload();
  };
  // Giving feedback is an operator's: others see the feedback, not the buttons.
  if (!can('POST /api/feedback')) return card('Feedback', feedbackList(c.feedback));
  return card(
    'Feedback',
    feedbackList(c.feedback),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', id: 'thumbs-up', onclick: () => void send('up') }, '▲ thumbs up'),
      h('button', { type: 'button', id: 'thumbs-down', onclick: () => void send('down') }, '▼ thumbs down'),
      comment,
      msg,
    ),
  );
}
