// `llmscope export grafana`: dashboards (latency, throughput, cost, quality, GPU) that read the recording rules,
// default to the last 24 hours, use $__rate_interval wherever they rate raw counters, and pick their Prometheus
// through a datasource variable; plus provisioning files for Grafana.
import type { AlertsConfig } from '../spec.js';
import type { ExportFile } from './prometheus.js';
import { toYaml } from './prometheus.js';
import { REC, recordingGroups } from './recording.js';

const DS = { type: 'prometheus', uid: '$' + '{datasource}' };
const M = '{model=~"$model"}';

interface PanelSpec {
  title: string;
  unit: string;
  type?: 'timeseries' | 'stat' | 'heatmap' | 'bargauge';
  targets: { expr: string; legend?: string; format?: 'heatmap' }[];
  description?: string;
  width?: number;
}

interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  modelVariable: boolean;
  panels: PanelSpec[];
}

const q = (p: number) => p;

export const DASHBOARDS: DashboardSpec[] = [
  {
    uid: 'llmscope-latency',
    title: 'llmscope / Latency',
    description: 'End-to-end latency, time to first token and time per output token, from llmscope recording rules.',
    modelVariable: true,
    panels: [
      {
        title: 'Latency p50 / p95 / p99 (all models)',
        unit: 's',
        targets: [50, 95, 99].map((p) => ({ expr: REC.latency('job', q(p)), legend: `p${p}` })),
      },
      {
        title: 'p95 latency by model',
        unit: 's',
        targets: [{ expr: `${REC.latency('model', 95)}${M}`, legend: '{{model}}' }],
      },
      {
        title: 'p95 time to first token by model',
        unit: 's',
        targets: [{ expr: `${REC.ttft('model', 95)}${M}`, legend: '{{model}}' }],
      },
      {
        title: 'p95 time per output token by model',
        unit: 's',
        targets: [{ expr: `${REC.tpot('model', 95)}${M}`, legend: '{{model}}' }],
      },
      {
        title: 'Latency distribution',
        unit: 's',
        type: 'heatmap',
        targets: [
          {
            expr: `sum by (le) (rate(llm_request_duration_seconds_bucket${M}[$__rate_interval]))`,
            legend: '{{le}}',
            format: 'heatmap',
          },
        ],
      },
      { title: 'Gateway overhead p99', unit: 's', targets: [{ expr: REC.overhead, legend: 'p99' }] },
    ],
  },
  {
    uid: 'llmscope-throughput',
    title: 'llmscope / Throughput and errors',
    description: 'Requests, outcomes, error ratio and tokens.',
    modelVariable: true,
    panels: [
      {
        title: 'Requests per second by model',
        unit: 'reqps',
        targets: [{ expr: `${REC.requests('model')}${M}`, legend: '{{model}}' }],
      },
      {
        title: 'Requests per second by status',
        unit: 'reqps',
        targets: [{ expr: `sum by (status) (rate(llm_requests_total${M}[$__rate_interval]))`, legend: '{{status}}' }],
      },
      {
        title: 'Error ratio by model',
        unit: 'percentunit',
        targets: [{ expr: `${REC.errorRatio('model')}${M}`, legend: '{{model}}' }],
      },
      {
        title: 'Tokens per second by type',
        unit: 'short',
        targets: [{ expr: `${REC.tokens('model')}${M}`, legend: '{{model}} {{type}}' }],
      },
      {
        title: 'Refusal ratio by model',
        unit: 'percentunit',
        targets: [{ expr: `${REC.refusalRatio('model')}${M}`, legend: '{{model}}' }],
      },
      {
        title: 'Gateway workers serving (serve --workers)',
        unit: 'short',
        description:
          'Workers listening and not draining, against server.workers; below it for 5 minutes fires WorkersNotServing. Empty without workers.',
        targets: [
          { expr: 'sum by (instance) (llmscope_workers)', legend: '{{instance}} serving' },
          { expr: 'sum by (instance) (llmscope_workers_configured)', legend: '{{instance}} configured' },
        ],
      },
      {
        title: 'Gateway worker restarts by reason',
        unit: 'short',
        description:
          'Workers started again, by why the one before ended (crashed, stopped, start_failed, start_timeout, unresponsive), per $__rate_interval; more than 3 in 15 minutes, stopped aside, fires WorkerRestartStorm.',
        targets: [
          {
            expr: 'sum by (instance, reason) (increase(llmscope_worker_restarts_total[$__rate_interval])) > 0',
            legend: '{{instance}} {{reason}}',
          },
        ],
      },
      {
        title: 'Observability data dropped by sink',
        unit: 'short',
        description:
          'Calls a recorder sink could not record (store, quality-evaluations, metrics, logs, traces...: its lane full, the sink failing, a shutdown), per $__rate_interval; the calls themselves were answered. Any in 10 minutes fires RecorderDroppingData. Empty while nothing is dropped.',
        targets: [
          {
            expr: 'sum by (instance, sink) (increase(llmscope_recorder_dropped_total[$__rate_interval])) > 0',
            legend: '{{instance}} {{sink}}',
          },
        ],
      },
    ],
  },
  {
    uid: 'llmscope-cost',
    title: 'llmscope / Cost',
    description: 'Spend rate, daily spend, cost per request and budgets. Per-user spend lives in llmscope, not here.',
    modelVariable: true,
    panels: [
      {
        title: 'Spend, last 24 hours',
        unit: 'currencyUSD',
        type: 'stat',
        targets: [{ expr: REC.cost1d('job'), legend: 'USD' }],
      },
      {
        title: 'Spend per hour by model',
        unit: 'currencyUSD',
        targets: [{ expr: `${REC.cost('model')}${M} * 3600`, legend: '{{model}}' }],
      },
      {
        title: 'Spend, last 24 hours, by feature',
        unit: 'currencyUSD',
        type: 'bargauge',
        targets: [{ expr: REC.cost1d('feature'), legend: '{{feature}}' }],
      },
      {
        title: 'Cost per request by model (1h)',
        unit: 'currencyUSD',
        targets: [{ expr: `${REC.costPerRequest('model')}${M}`, legend: '{{model}}' }],
      },
      {
        title: 'Spend rate by model (raw counter)',
        unit: 'currencyUSD',
        targets: [
          { expr: `sum by (model) (rate(llm_cost_usd_total${M}[$__rate_interval])) * 3600`, legend: '{{model}}' },
        ],
      },
      {
        title: 'Budget used',
        unit: 'percentunit',
        type: 'bargauge',
        targets: [{ expr: 'max by (budget) (llm_budget_spend_ratio)', legend: '{{budget}}' }],
      },
    ],
  },
  {
    uid: 'llmscope-quality',
    title: 'llmscope / Quality and SLOs',
    description: 'Evaluations, feedback, refusals and SLO error ratios against their objectives.',
    modelVariable: false,
    panels: [
      {
        title: 'Failed evaluations by evaluator (1h)',
        unit: 'percentunit',
        targets: [{ expr: REC.evaluationsFailed, legend: '{{evaluator}}' }],
      },
      {
        title: 'Thumbs-down share of feedback (1h)',
        unit: 'percentunit',
        targets: [{ expr: REC.feedbackDown, legend: 'down' }],
      },
      {
        title: 'Feedback per minute by rating',
        unit: 'short',
        targets: [{ expr: 'sum by (rating) (rate(llm_feedback_total[$__rate_interval])) * 60', legend: '{{rating}}' }],
      },
      {
        title: 'Refusal ratio (all models)',
        unit: 'percentunit',
        targets: [{ expr: REC.refusalRatio('job'), legend: 'refusals' }],
      },
      {
        title: 'SLO error ratio (1h) and allowed ratio',
        unit: 'percentunit',
        targets: [
          { expr: 'slo:sli_error:ratio_rate1h', legend: '{{slo}} error ratio' },
          { expr: `1 - ${REC.sloObjective}`, legend: '{{slo}} allowed' },
        ],
      },
      {
        title: 'Error budget left (3 days, projected to 30)',
        unit: 'percentunit',
        type: 'stat',
        targets: [{ expr: `1 - slo:sli_error:ratio_rate3d / on(slo) (1 - ${REC.sloObjective})`, legend: '{{slo}}' }],
      },
    ],
  },
  {
    uid: 'llmscope-gpu',
    title: 'llmscope / GPU',
    description: "GPU utilization and memory from llmscope's GPU collectors.",
    modelVariable: false,
    panels: [
      {
        title: 'GPU utilization (5m average)',
        unit: 'percentunit',
        targets: [{ expr: REC.gpuUtil, legend: '{{host}} gpu {{gpu}}' }],
      },
      {
        title: 'GPU memory used',
        unit: 'percentunit',
        targets: [{ expr: REC.gpuMemory, legend: '{{host}} gpu {{gpu}}' }],
      },
      {
        title: 'GPU memory used (bytes)',
        unit: 'bytes',
        targets: [{ expr: 'sum by (host, gpu) (gpu_memory_used_bytes)', legend: '{{host}} gpu {{gpu}}' }],
      },
      {
        title: 'Utilization averaged over the interval',
        unit: 'percentunit',
        targets: [
          {
            expr: 'avg by (host, gpu) (avg_over_time(gpu_utilization_ratio[$__rate_interval]))',
            legend: '{{host}} gpu {{gpu}}',
          },
        ],
      },
    ],
  },
];

function panelJson(p: PanelSpec, id: number, x: number, y: number): Record<string, unknown> {
  const type = p.type ?? 'timeseries';
  const base: Record<string, unknown> = {
    id,
    type,
    title: p.title,
    datasource: DS,
    gridPos: { h: 8, w: p.width ?? 12, x, y },
    fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
    targets: p.targets.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DS,
      expr: t.expr,
      legendFormat: t.legend ?? '',
      ...(t.format ? { format: t.format } : {}),
      ...(type === 'stat' || type === 'bargauge' ? { instant: true } : {}),
    })),
  };
  if (p.description) base.description = p.description;
  if (type === 'timeseries')
    base.options = { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } };
  if (type === 'heatmap') base.options = { calculate: false, yAxis: { unit: p.unit } };
  return base;
}

export function dashboardJson(d: DashboardSpec): Record<string, unknown> {
  const variables: Record<string, unknown>[] = [
    {
      name: 'datasource',
      label: 'Prometheus',
      type: 'datasource',
      query: 'prometheus',
      current: {},
      hide: 0,
      refresh: 1,
    },
  ];
  if (d.modelVariable)
    variables.push({
      name: 'model',
      label: 'Model',
      type: 'query',
      datasource: DS,
      query: { query: 'label_values(llm_requests_total, model)', refId: 'models' },
      definition: 'label_values(llm_requests_total, model)',
      includeAll: true,
      multi: true,
      allValue: '.*',
      current: { text: 'All', value: '$__all' },
      refresh: 2,
      sort: 1,
      hide: 0,
    });
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: ['llmscope'],
    editable: true,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-24h', to: 'now' },
    timezone: 'browser',
    templating: { list: variables },
    annotations: { list: [] },
    panels: d.panels.map((p, i) => panelJson(p, i + 1, (i % 2) * 12, Math.floor(i / 2) * 8)),
  };
}

/** The recording rules a PromQL expression reads (`level:metric:operation`, Prometheus's naming rule). */
export function recordedNamesIn(expr: string): string[] {
  return expr.match(/\b[a-z_]+:[a-z_0-9]+:[a-z_0-9]+\b/g) ?? [];
}

/**
 * The dashboards for this config: a panel that reads a recording rule the config does not export (the SLO panels when
 * `slos` is empty) is left out, so no exported panel says "No data" for a series that can never exist.
 */
export function dashboardsFor(cfg: AlertsConfig): DashboardSpec[] {
  const recorded = new Set(recordingGroups(cfg).flatMap((g) => g.rules.map((r) => r.record)));
  return DASHBOARDS.map((d) => ({
    ...d,
    panels: d.panels.filter((p) => p.targets.every((t) => recordedNamesIn(t.expr).every((n) => recorded.has(n)))),
  }));
}

/** Every PromQL expression the dashboards run, with Grafana's variables replaced so Prometheus can parse them. */
export function panelQueries(cfg: AlertsConfig): { dashboard: string; panel: string; expr: string }[] {
  return dashboardsFor(cfg).flatMap((d) =>
    d.panels.flatMap((p) =>
      p.targets.map((t) => ({
        dashboard: d.uid,
        panel: p.title,
        expr: t.expr.replaceAll('$__rate_interval', '5m').replaceAll('$model', '.*'),
      })),
    ),
  );
}

export function grafanaFiles(cfg: AlertsConfig): ExportFile[] {
  const files: ExportFile[] = dashboardsFor(cfg).map((d) => ({
    path: `dashboards/${d.uid}.json`,
    content: `${JSON.stringify(dashboardJson(d), null, 2)}\n`,
  }));
  files.push({
    path: 'provisioning/datasources/prometheus.yml',
    content: toYaml({
      apiVersion: 1,
      datasources: [
        { name: 'Prometheus', type: 'prometheus', access: 'proxy', url: 'http://prometheus:9090', isDefault: true },
      ],
    }),
  });
  files.push({
    path: 'provisioning/dashboards/llmscope.yml',
    content: toYaml({
      apiVersion: 1,
      providers: [
        {
          name: 'llmscope',
          folder: 'llmscope',
          type: 'file',
          disableDeletion: false,
          options: { path: '/var/lib/grafana/dashboards/llmscope' },
        },
      ],
    }),
  });
  return files;
}
