// Quality: satisfaction, refusal and hallucination rates (and over time), each detector's precision against
// human labels, and the review queue with one-key labeling: h = hallucinated, g = grounded (no hallucination),
// r / w = the refusal was right / wrong, j / k = next / previous, s = skip. Labels go to POST /api/quality/review.

import type {
  QualitySeries,
  QualityStats,
  QualitySummary,
  ReviewItem,
  ReviewList,
  QualitySeriesPoint as SeriesPoint,
} from '../../wire/index.js';
import { can } from '../lib/access.js';
import { failed, get, post, qs, type Result, why } from '../lib/api.js';
import { chart } from '../lib/chart.js';
import { card, compact, empty, fill, h, pct, table, tile, time } from '../lib/dom.js';
import { setKeyHandler } from '../lib/keys.js';
import { pager } from '../lib/pager.js';
import { carried, href, setParams } from '../lib/state.js';
import type { Page, PageContext } from './page.js';
import { evaluations, feedbackList } from './request.js';

let figures: HTMLElement | null = null;

/** The review queue's reasons (docs/quality.md), as `?reason=` takes them: `flag` is every `flag:<evaluator>`. */
const REASONS = ['sample', 'thumbs_down', 'refusal', 'flag', 'manual'] as const;
type Reason = (typeof REASONS)[number];
const REASON_TEXT: Record<Reason, string> = {
  sample: 'random sample',
  thumbs_down: 'thumbs down',
  refusal: 'refusal',
  flag: 'flagged by a detector',
  manual: 'added by hand',
};

export const qualityPage: Page = {
  title: () => 'Quality',
  async render(root, ctx) {
    const { range } = ctx;
    const w = { from: Math.round(range.from), to: Math.round(range.to) };
    const step = range.to - range.from <= 6 * 3_600_000 ? 'minute' : 'hour';
    const status = ctx.route.params.get('review') === 'labeled' ? 'labeled' : 'pending';
    // why the calls came in: the random sample is the one the reviewed rate is measured on
    const reason = REASONS.find((r) => r === ctx.route.params.get('reason')) ?? null;
    const [summary, series, queue] = await Promise.all([
      get<QualitySummary>(`/api/quality/summary${qs(w)}`),
      get<QualitySeries>(`/api/quality/series${qs({ ...w, step })}`),
      ctx.refresh && figures?.isConnected
        ? Promise.resolve(null)
        : get<ReviewList>(`/api/quality/review${qs({ status, limit: 100, ...(reason ? { reason } : {}) })}`),
    ]);
    if (!ctx.current()) return;
    const fig = figuresOf(summary, series, w);
    if (queue === null && figures?.isConnected) {
      // Auto-refresh: update the figures, leave the review queue (and the reviewer's place in it) alone.
      figures.replaceWith(fig);
      figures = fig;
      return;
    }
    figures = fig;
    // After a label is saved: the rates it moves (reviewed sample, detector precision) are read again at once, so the
    // reviewer sees them change without waiting for (or having switched off) the auto-refresh.
    let asked = 0;
    const refreshFigures = async () => {
      const mine = ++asked;
      const [s, se] = await Promise.all([
        get<QualitySummary>(`/api/quality/summary${qs(w)}`),
        get<QualitySeries>(`/api/quality/series${qs({ ...w, step })}`),
      ]);
      // still on this page (an auto-refresh since then replaced the figures, not the queue: its figures are replaced)
      if (mine !== asked || !figures?.isConnected) return;
      const next = figuresOf(s, se, w);
      figures.replaceWith(next);
      figures = next;
    };
    if (!summary.ok && summary.status === 404) {
      setKeyHandler(null);
      fill(
        root,
        empty('no quality data yet', 'the quality capability records feedback, refusals and hallucination checks'),
      );
      return;
    }
    fill(root, fig, queue ? reviewQueue(queue, status, reason, ctx, refreshFigures) : empty('review queue not loaded'));
  },
};

function figuresOf(
  summary: Result<{ total: QualityStats }>,
  series: Result<{ data: SeriesPoint[] }>,
  w: { from: number; to: number },
): HTMLElement {
  if (!summary.ok) return h('section', { id: 'quality-figures' }, empty(why(summary, 'quality figures')));
  const q = summary.data.total;
  const det = Object.entries(q.detectors);
  const pts = series.ok ? series.data.data : [];
  return h(
    'section',
    { id: 'quality-figures' },
    h(
      'section',
      { class: 'tiles' },
      tile(
        'satisfaction',
        pct(q.feedback.satisfaction_rate),
        `${compact(q.feedback.up)} up · ${compact(q.feedback.down)} down`,
        undefined,
      ),
      tile('thumbs down', compact(q.feedback.down), null, undefined),
      tile('refusal rate', pct(q.refusal_rate, 2), `${compact(q.refusals)} of ${compact(q.responses)} responses`),
      tile(
        'hallucination rate (detectors)',
        pct(q.hallucination_rate),
        `${compact(q.flagged)} flagged of ${compact(q.evaluated)} checked`,
      ),
      tile(
        'hallucination rate (reviewed sample)',
        pct(q.reviewed.rate),
        q.reviewed.ci95
          ? `95% CI ${pct(q.reviewed.ci95.low)}–${pct(q.reviewed.ci95.high)} · n=${q.reviewed.sampled}`
          : q.reviewed.labeled_total > 0
            ? // labels on flagged or thumbed-down calls are kept out of the estimate (they would bias it): say so
              `${q.reviewed.labeled_total} labeled, none from the random sample (only those count here)`
            : '0 labeled',
      ),
    ),
    h(
      'div',
      { class: 'grid2' },
      chart({
        xRange: w,
        fromFirstData: true,
        id: 'chart-quality',
        title: 'Rates over time',
        x: pts.map((p) => Date.parse(p.t)),
        ys: [pts.map((p) => p.satisfaction_rate), pts.map((p) => p.refusal_rate), pts.map((p) => p.hallucination_rate)],
        series: [
          { label: 'satisfaction', color: '--good' },
          { label: 'refusals', color: '--c4' },
          { label: 'hallucinations', color: '--bad' },
        ],
        yFmt: (v) => pct(v, 0),
        // Shares of 0..1 from 0: a range with only zeros in it is otherwise uPlot's 0..100, drawn 0%..10000%.
        yZero: 1,
        emptyText: series.ok ? 'no quality data in this range' : why(series, 'the quality series'),
      }),
      card(
        'Detectors against human labels',
        det.length === 0
          ? empty('no labeled calls yet', 'label calls in the review queue below to measure each detector')
          : table(
              ['detector', 'flagged & reviewed', 'confirmed', 'precision', '95% CI'],
              det.map(([name, d]) => [
                name,
                String(d.flagged_reviewed),
                String(d.confirmed),
                pct(d.precision),
                d.ci95 ? `${pct(d.ci95.low)}–${pct(d.ci95.high)}` : '–',
              ]),
            ),
      ),
    ),
  );
}

function reviewQueue(
  queue: Result<ReviewList>,
  status: string,
  reason: string | null,
  ctx: PageContext,
  labeled: () => Promise<void>,
): HTMLElement {
  const tabs = h(
    'div',
    { class: 'seg' },
    ['pending', 'labeled'].map((s) =>
      h(
        'button',
        {
          type: 'button',
          class: s === status ? 'active' : null,
          onclick: () => setParams({ review: s === 'pending' ? null : s }, true),
        },
        s,
      ),
    ),
  );
  const reasons = h(
    'select',
    {
      id: 'review-reason',
      'aria-label': 'why the calls came to review',
      onchange: (e: Event) => setParams({ reason: (e.target as HTMLSelectElement).value || null }, true),
    },
    h('option', { value: '' }, 'any reason'),
    REASONS.map((r) => h('option', { value: r, selected: r === reason }, REASON_TEXT[r])),
  );
  const head = h(
    'div',
    { class: 'row' },
    h('h2', null, 'Review queue'),
    tabs,
    reasons,
    // a viewer's keys only move through the queue: it is not offered labels it cannot give
    h(
      'span',
      { class: 'muted keys', id: 'review-keys' },
      can('POST /api/quality/review')
        ? 'keys: h hallucinated · g grounded · r refusal right · w refusal wrong · j/k next/previous · s skip'
        : 'read only: labeling needs the operator role · keys: j/k next/previous',
    ),
  );
  if (!queue.ok) {
    setKeyHandler(null);
    return h('section', { id: 'review' }, head, empty(why(queue, 'the review queue')));
  }
  const items = queue.data.data;
  if (items.length === 0) {
    setKeyHandler(null);
    return h(
      'section',
      { id: 'review' },
      head,
      empty(
        `${status === 'pending' ? 'nothing to review' : 'nothing labeled yet'}${reason ? ` (${REASON_TEXT[reason as Reason]})` : ''}`,
        'a sample of calls, every thumbs-down and every flagged call come here',
      ),
    );
  }
  let index = 0;
  const list = h('ol', { class: 'queue', id: 'review-list' });
  const detail = h('div', { class: 'review-item card', id: 'review-item' });
  const rowOf = (it: ReviewItem, i: number) =>
    h(
      'li',
      { 'data-id': it.request_id, onclick: () => select(i) },
      h('span', { class: 'mono' }, it.request_id.slice(-12)),
      ' ',
      h('span', null, it.model),
      ' ',
      it.reasons.map((r) =>
        h('span', { class: `badge ${r === 'thumbs_down' || r.startsWith('flag') ? 'bad' : ''}` }, r),
      ),
      h('span', { class: 'state muted' }, it.labels ? labelText(it) : ''),
    );
  const rows = items.map(rowOf);
  list.append(...rows);
  // The queue comes 100 at a time; the next ones on demand (a long pending queue, the labeled tab's older labels),
  // else past the first 100 nothing could be reached from the page.
  const more = pager({
    first: queue.data.next_cursor,
    label: 'load the next 100',
    id: 'review-more',
    load: (cursor) =>
      get<ReviewList>(`/api/quality/review${qs({ status, limit: 100, ...(reason ? { reason } : {}), cursor })}`),
    onPage: (page) => {
      for (const it of page.data) {
        items.push(it);
        const row = rowOf(it, items.length - 1);
        rows.push(row);
        list.append(row);
      }
    },
    onError: (r) => {
      msg.textContent = why(r, 'more of the review queue');
    },
  });

  const select = (i: number) => {
    index = Math.max(0, Math.min(items.length - 1, i));
    rows.forEach((r, k) => {
      r.classList.toggle('active', k === index);
    });
    rows[index]?.scrollIntoView({ block: 'nearest' });
    renderItem();
  };

  const notes = h('input', { placeholder: 'notes (optional)', id: 'review-notes', maxlength: 4000 });
  const msg = h('span', { class: 'muted', id: 'review-msg' });
  const mayLabel = can('POST /api/quality/review');
  const label = async (body: { hallucination?: boolean; refusal_correct?: boolean }) => {
    const it = items[index];
    if (!it || !mayLabel) return;
    msg.textContent = 'saving…';
    const r = await post<ReviewItem>('/api/quality/review', {
      request_id: it.request_id,
      ...body,
      notes: notes.value.trim() || undefined,
      reviewer: 'dashboard',
    });
    if (!r.ok) {
      msg.textContent = failed(r, 'save the label');
      return;
    }
    items[index] = { ...it, ...r.data };
    const row = rows[index];
    if (row) {
      row.classList.add('done');
      (row.querySelector('.state') as HTMLElement).textContent = labelText(items[index] as ReviewItem);
    }
    msg.textContent = `saved: ${labelText(items[index] as ReviewItem)}`;
    notes.value = '';
    if (index < items.length - 1) select(index + 1);
    void labeled();
  };

  const renderItem = () => {
    const it = items[index];
    if (!it) return;
    fill(
      detail,
      h(
        'div',
        { class: 'row' },
        h('a', { href: href('requests', carried(ctx.route.params), it.request_id), class: 'mono' }, it.request_id),
        h('span', { class: 'muted' }, `${it.model} · ${it.feature ?? 'no feature'} · ${time(it.call_at)}`),
        it.refusal ? h('span', { class: 'badge warn' }, 'refusal') : null,
        it.flagged_by.length ? h('span', { class: 'badge bad' }, `flagged by ${it.flagged_by.join(', ')}`) : null,
      ),
      it.content
        ? h(
            'div',
            null,
            h('h4', null, 'prompt'),
            h('pre', { class: 'content' }, it.content.input ?? '–'),
            h('h4', null, 'response'),
            h('pre', { class: 'content' }, it.content.output ?? '–'),
          )
        : empty('content was not captured for this call', 'switch on telemetry.captureContent to review text here'),
      evaluations(it.evaluations ?? []),
      feedbackList(it.feedback ?? []),
      // Labeling is an operator's: a viewer reads the queue without the buttons (and its keys do nothing).
      !mayLabel
        ? null
        : h(
            'div',
            { class: 'row actions' },
            h(
              'button',
              { type: 'button', id: 'label-hallucinated', onclick: () => void label({ hallucination: true }) },
              'h · hallucinated',
            ),
            h(
              'button',
              { type: 'button', id: 'label-grounded', onclick: () => void label({ hallucination: false }) },
              'g · grounded',
            ),
            it.refusal
              ? [
                  h(
                    'button',
                    { type: 'button', id: 'label-refusal-right', onclick: () => void label({ refusal_correct: true }) },
                    'r · refusal right',
                  ),
                  h(
                    'button',
                    {
                      type: 'button',
                      id: 'label-refusal-wrong',
                      onclick: () => void label({ refusal_correct: false }),
                    },
                    'w · refusal wrong',
                  ),
                ]
              : null,
            notes,
            msg,
          ),
      it.labels
        ? h('p', { class: 'muted' }, `labeled: ${labelText(it)}${it.labels.notes ? ` — ${it.labels.notes}` : ''}`)
        : null,
    );
  };

  setKeyHandler((e) => {
    if (!ctx.current() && !document.getElementById('review-list')) return false;
    switch (e.key) {
      case 'h':
        void label({ hallucination: true });
        return true;
      case 'g':
        void label({ hallucination: false });
        return true;
      case 'r':
        if (items[index]?.refusal) void label({ refusal_correct: true });
        return true;
      case 'w':
        if (items[index]?.refusal) void label({ refusal_correct: false });
        return true;
      case 'j':
      case 's':
      case 'ArrowDown':
        select(index + 1);
        return true;
      case 'k':
      case 'ArrowUp':
        select(index - 1);
        return true;
      default:
        return false;
    }
  });
  select(0);
  return h('section', { id: 'review' }, head, h('div', { class: 'review' }, h('div', null, list, more.button), detail));
}

function labelText(it: ReviewItem): string {
  const l = it.labels;
  if (!l) return '';
  const parts: string[] = [];
  if (l.hallucination !== null) parts.push(l.hallucination ? 'hallucinated' : 'grounded');
  if (l.refusal_correct !== null) parts.push(l.refusal_correct ? 'refusal right' : 'refusal wrong');
  return parts.join(', ') || 'labeled';
}
