import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { alertsConfigOf } from '../config.js';
import { compileRules } from '../rules.js';
import { writeDeploy } from './files.js';
import { panelQueries, recordedNamesIn } from './grafana.js';
import { ALERTS_FILE, exportedRules, promtoolTests, RECORDING_FILE, toYaml } from './prometheus.js';

const has = (cmd: string) => spawnSync(cmd, ['--version']).status === 0;
const PROMTOOL = has('promtool');
const AMTOOL = has('amtool');

function run(cmd: string, args: string[], cwd: string): { code: number; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}\n${r.stderr}` };
}

const testFiles = (c: ReturnType<typeof alertsConfigOf>) => promtoolTests(c).files.map((f) => f.path);

describe('export', () => {
  let dir: string;
  const cfg = alertsConfigOf({});

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'llmscope-export-'));
    writeDeploy(dir, cfg);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exports every default rule Prometheus has series for, and says which stay built-in', () => {
    const { exported, skipped } = exportedRules(cfg);
    const names = exported.map((e) => e.rule.id);
    for (const n of [
      'HighLatency',
      'HighErrorRate',
      'HighTTFT',
      'HighTPOT',
      'DailySpendHigh',
      'BudgetExceeded',
      'CostPerRequestAnomaly',
      'HallucinationRateHigh',
      'GpuUnderutilized',
      'ServiceDegraded',
      'ErrorBudgetBurn:availability:fast',
      'ErrorBudgetBurn:availability:slow',
      'ErrorBudgetBurn:latency:fast',
      'ErrorBudgetBurn:latency:slow',
    ])
      expect(names).toContain(n);
    expect(skipped.map((r) => r.id)).toEqual(['SingleCallCostHigh']);
    const text = readFileSync(join(dir, 'prometheus/rules/llmscope-2-alerts.rules.yml'), 'utf8');
    expect(text).toContain('Built-in only');
  });

  it('exports alerts on the gateway workers (restart storm, fewer serving than configured) with promtool cases', () => {
    const doc = parse(readFileSync(join(dir, 'prometheus/rules/llmscope-2-alerts.rules.yml'), 'utf8'));
    const workers = doc.groups.find((g: { name: string }) => g.name === 'llmscope-workers');
    expect(workers.rules.map((r: { alert: string }) => r.alert)).toEqual(['WorkerRestartStorm', 'WorkersNotServing']);
    expect(workers.rules[0].expr).toContain('llmscope_worker_restarts_total{reason!="stopped"}');
    expect(workers.rules[1]).toMatchObject({ expr: 'llmscope_workers < llmscope_workers_configured', for: '5m' });
    expect(workers.rules[0].annotations.runbook_url).toMatch(/docs\/alerts\.md#workerrestartstorm$/);
    const names = promtoolTests(cfg).files.flatMap((f) => (f.doc.tests as { name: string }[]).map((t) => t.name));
    for (const n of ['WorkerRestartStorm fires', 'WorkersNotServing fires']) expect(names).toContain(n);
    expect(names.filter((n) => /^Worker(RestartStorm|sNotServing) stays quiet/.test(n))).toHaveLength(2);
  });

  it('exports RecorderDroppingData on the observability data a sink drops, with promtool cases (decision 179)', () => {
    // Shed evaluations and unstored calls were counted on /metrics only: nothing told anyone.
    const doc = parse(readFileSync(join(dir, 'prometheus/rules/llmscope-2-alerts.rules.yml'), 'utf8'));
    const recorder = doc.groups.find((g: { name: string }) => g.name === 'llmscope-recorder');
    expect(recorder?.rules.map((r: { alert: string }) => r.alert)).toEqual(['RecorderDroppingData']);
    expect(recorder.rules[0]).toMatchObject({
      expr: 'sum by (job, instance, sink) (increase(llmscope_recorder_dropped_total[10m])) > 0',
      labels: { severity: 'warning' },
    });
    expect(recorder.rules[0].annotations.summary).toContain('{{ $labels.sink }}');
    expect(recorder.rules[0].annotations.description).toContain('quality.maxPending');
    expect(recorder.rules[0].annotations.description).toContain('recorder.capacity');
    expect(recorder.rules[0].annotations.runbook_url).toMatch(/docs\/alerts\.md#recorderdroppingdata$/);
    const names = promtoolTests(cfg).files.flatMap((f) => (f.doc.tests as { name: string }[]).map((t) => t.name));
    expect(names).toContain('RecorderDroppingData fires on a sink dropping calls');
    expect(names.filter((n) => n.startsWith('RecorderDroppingData stays quiet'))).toHaveLength(1);
  });

  it("exports BudgetExceeded firing on a block budget's refusals too, with promtool cases (QA34)", () => {
    // A block budget refuses calls before its spend reaches the limit: the ratio alone never fired while it did.
    const budget = exportedRules(cfg).exported.find((e) => e.rule.id === 'BudgetExceeded');
    expect(budget?.expr).toContain('increase(llmscope_budget_blocked_total[5m]) > 0');
    const names = promtoolTests(cfg).files.flatMap((f) => (f.doc.tests as { name: string }[]).map((t) => t.name));
    expect(names).toContain('BudgetExceeded fires while a block budget refuses calls under its limit');
    expect(names).toContain(
      'BudgetExceeded fires while refusals happen and resolves once they stop, spend under the limit',
    );
  });

  it('names recording rules level:metric:operations', () => {
    const doc = parse(readFileSync(join(dir, 'prometheus/rules/llmscope-1-recording.rules.yml'), 'utf8'));
    const names: string[] = doc.groups.flatMap((g: { rules: { record: string }[] }) => g.rules.map((r) => r.record));
    expect(names).toContain('job:llm_requests:rate5m');
    expect(names).toContain('job:llm_request_errors_per_requests:ratio_rate5m');
    expect(names).toContain('model:llm_request_duration_seconds:p95_rate5m');
    for (const n of names) expect(n).toMatch(/^[a-z_]+:[a-z_]+:[a-z0-9_]+$/);
  });

  it('writes a promtool test with a firing and a quiet case for every exported alert', () => {
    const { files, missing } = promtoolTests(cfg);
    expect(missing).toEqual([]);
    const tests = files.flatMap((f) => f.doc.tests as { name: string }[]);
    for (const { rule } of exportedRules(cfg).exported) {
      expect(tests.some((t) => t.name === `${rule.id} fires`)).toBe(true);
      expect(tests.some((t) => t.name.startsWith(`${rule.id} stays quiet`))).toBe(true);
    }
    // 3 errors in 4 calls must not page
    expect(tests.some((t) => t.name === 'HighErrorRate stays quiet on too few samples')).toBe(true);
  });

  it.runIf(PROMTOOL)('passes promtool check rules', () => {
    const r = run('promtool', ['check', 'rules', RECORDING_FILE, ALERTS_FILE], join(dir, 'prometheus'));
    expect(r.out).toContain('SUCCESS');
    expect(r.code, r.out).toBe(0);
  });

  it.runIf(PROMTOOL)(
    'passes promtool test rules (each alert fires and stays quiet when it should)',
    () => {
      // ~40 s: the cost anomaly case replays 8 days of history at 5-minute steps
      const r = run('promtool', ['test', 'rules', ...testFiles(cfg)], join(dir, 'prometheus'));
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain('SUCCESS');
    },
    240_000,
  );

  it.runIf(PROMTOOL)(
    'exports a custom rule and test config that promtool accepts too',
    () => {
      const custom = alertsConfigOf({
        defaultRules: false,
        slos: [{ name: 'gpt4o', kind: 'availability', objective: 0.999, filter: { model: 'gpt-4o' } }],
        rules: [
          {
            name: 'SlowOpenAI',
            kind: 'latency_quantile',
            quantile: 0.99,
            threshold: '5s',
            filter: { provider: 'openai' },
            for: '5m',
          },
          { name: 'TrafficDrop', kind: 'request_rate', op: '<', threshold: 0.5, for: '15m', groupBy: [] },
          { name: 'Refusals', kind: 'refusal_rate', threshold: 0.2, keepFiringFor: '10m' },
          { name: 'GpuMemory', kind: 'gpu_memory', threshold: 0.95 },
          { name: 'ThumbsDown', kind: 'thumbs_down_rate', threshold: 0.3 },
        ],
      });
      const d = mkdtempSync(join(tmpdir(), 'llmscope-export-custom-'));
      try {
        writeDeploy(d, custom);
        const p = join(d, 'prometheus');
        const check = run('promtool', ['check', 'rules', RECORDING_FILE, ALERTS_FILE], p);
        expect(check.code, check.out).toBe(0);
        const test = run('promtool', ['test', 'rules', ...testFiles(custom)], p);
        expect(test.code, test.out).toBe(0);
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it.runIf(PROMTOOL)(
    "writes promtool cases whose series match a rule's filter on a label it groups by (model)",
    () => {
      const custom = alertsConfigOf({
        defaultRules: false,
        slos: [{ name: 'embed', kind: 'availability', objective: 0.99, filter: { endpoint: 'embeddings' } }],
        rules: [
          { name: 'SlowGpt4o', kind: 'latency_quantile', threshold: '5s', filter: { model: 'gpt-4o' }, for: '5m' },
          {
            name: 'ErrorsByEndpoint',
            kind: 'error_rate',
            threshold: 0.1,
            filter: { endpoint: 'embeddings' },
            groupBy: ['model', 'endpoint'],
          },
        ],
      });
      const d = mkdtempSync(join(tmpdir(), 'llmscope-export-filter-'));
      try {
        writeDeploy(d, custom);
        const test = run('promtool', ['test', 'rules', ...testFiles(custom)], join(d, 'prometheus'));
        expect(test.code, test.out).toBe(0);
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it.runIf(PROMTOOL).each([
    ['the default config', {}],
    ['a config without SLOs', { slos: [] }],
  ])('every Grafana panel query parses and reads recording rules that exist (%s)', (_, alerts) => {
    const c = alertsConfigOf(alerts);
    const d = mkdtempSync(join(tmpdir(), 'llmscope-export-panels-'));
    try {
      writeDeploy(d, c);
      const queries = panelQueries(c);
      const file = join(d, 'panels.rules.yml');
      writeFileSync(
        file,
        toYaml({
          groups: [
            {
              name: 'grafana-panels',
              rules: queries.map((q, i) => ({ record: `grafana_panel:check:${i}`, expr: q.expr })),
            },
          ],
        }),
      );
      const r = run('promtool', ['check', 'rules', file], d);
      expect(r.code, r.out).toBe(0);
      const recorded = new Set(
        parse(readFileSync(join(d, 'prometheus/rules/llmscope-1-recording.rules.yml'), 'utf8')).groups.flatMap(
          (g: { rules: { record: string }[] }) => g.rules.map((x) => x.record),
        ),
      );
      for (const q of queries)
        for (const name of recordedNamesIn(q.expr))
          expect(recorded.has(name), `${q.dashboard} / ${q.panel} reads ${name}`).toBe(true);
      // the written dashboards are the ones checked: the SLO panels only where SLOs are exported
      const quality = JSON.parse(readFileSync(join(d, 'grafana/dashboards/llmscope-quality.json'), 'utf8'));
      const sloPanels = quality.panels.filter((p: { title: string }) => /SLO|Error budget/.test(p.title));
      expect(sloPanels.length).toBe(c.slos.length ? 2 : 0);
      expect(quality.panels.length).toBeGreaterThan(sloPanels.length);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('dashboards default to the last 24 hours, have a datasource variable and use $__rate_interval for rates', () => {
    for (const f of ['latency', 'throughput', 'cost', 'quality', 'gpu']) {
      const d = JSON.parse(readFileSync(join(dir, `grafana/dashboards/llmscope-${f}.json`), 'utf8'));
      expect(d.time).toEqual({ from: 'now-24h', to: 'now' });
      expect(d.templating.list[0]).toMatchObject({ name: 'datasource', type: 'datasource', query: 'prometheus' });
      for (const p of d.panels)
        for (const t of p.targets) {
          expect(t.datasource.uid).toBe('$' + '{datasource}');
          // raw counters are rated over $__rate_interval; fixed windows only inside recording rules
          if (/rate\(llm_|rate\(gpu_|_over_time\(/.test(t.expr)) expect(t.expr).toContain('[$__rate_interval]');
        }
    }
  });

  it.runIf(AMTOOL)('passes amtool check-config, with severity routes and the ServiceDegraded inhibition', () => {
    const amDir = join(dir, 'alertmanager');
    // the config points templates at /etc/alertmanager; check a copy pointing at the exported file
    const text = readFileSync(join(amDir, 'alertmanager.yml'), 'utf8').replace(
      '/etc/alertmanager/templates/llmscope.tmpl',
      join(amDir, 'templates/llmscope.tmpl'),
    );
    writeFileSync(join(amDir, 'check.yml'), text);
    const r = run('amtool', ['check-config', 'check.yml'], amDir);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('1 templates');
    const doc = parse(text);
    expect(doc.route.group_by).toEqual(['alertname', 'model']);
    expect(doc.route.routes.map((x: { matchers: string[]; receiver: string }) => [x.matchers[0], x.receiver])).toEqual([
      ['severity="critical"', 'page'],
      ['severity="warning"', 'notify'],
      ['severity="info"', 'log'],
    ]);
    expect(doc.inhibit_rules[0]).toEqual({
      source_matchers: ['alertname="ServiceDegraded"'],
      target_matchers: ['alertname=~"HighLatency|HighErrorRate"'],
      equal: ['model'],
    });
  });

  it('compiles the default pack without issues', () => {
    expect(compileRules(cfg).issues).toEqual([]);
  });
});

describe('llmscope export', () => {
  it('writes the files for a target and rejects an unknown one', async () => {
    const { Command } = await import('commander');
    const { registerExportCommand } = await import('./cli.js');
    const out = mkdtempSync(join(tmpdir(), 'llmscope-export-cli-'));
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      const program = new Command().exitOverride();
      registerExportCommand(program);
      await program.parseAsync(['node', 'llmscope', 'export', 'alertmanager', '--out', out]);
      expect(readFileSync(join(out, 'alertmanager.yml'), 'utf8')).toContain('inhibit_rules');
      await expect(program.parseAsync(['node', 'llmscope', 'export', 'nagios', '--out', out])).rejects.toThrow(
        /unknown export target "nagios"/,
      );
    } finally {
      process.stdout.write = write;
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('export alertmanager: the config file silences', () => {
  it('says how to make each one in Alertmanager, which keeps silences out of its config', () => {
    // alerts.silences muted alerts in the built-in engine only; the exported alertmanager.yml said nothing of them,
    // so the same stack paged for the lab model the config said never to page
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-export-silences-'));
    try {
      const c = alertsConfigOf({
        silences: [
          { matchers: ['model=lab-llama'], comment: "lab model, don't\npage", always: true },
          { matchers: { team: 'search' }, startsAt: '2026-01-10T08:00:00Z', endsAt: '2026-01-10T12:00:00Z' },
        ],
      });
      writeDeploy(dir, c);
      const text = readFileSync(join(dir, 'alertmanager', 'alertmanager.yml'), 'utf8');
      expect(text).toContain(
        `# NOTE: alerts.silences[0] is not in this file (Alertmanager keeps silences in its own state): amtool silence add --comment 'lab model, don'\\''t page' --duration 8760h 'model="lab-llama"' (always:`,
      );
      expect(text).toContain(
        `# NOTE: alerts.silences[1] is not in this file (Alertmanager keeps silences in its own state): amtool silence add --comment 'llmscope config alerts.silences[1]' --start 2026-01-10T08:00:00.000Z --end 2026-01-10T12:00:00.000Z 'team="search"'\n`,
      );
      expect(parse(text).route).toBeTruthy();
      if (AMTOOL) {
        // the command as written is one amtool runs: a silence without a comment it refuses before connecting
        const silence = run(
          'amtool',
          [
            'silence',
            'add',
            '--comment',
            'llmscope config alerts.silences[1]',
            'team="search"',
            '--alertmanager.url=http://127.0.0.1:9',
          ],
          dir,
        );
        expect(silence.out).not.toContain('comment required');
        expect(silence.out).toContain('127.0.0.1:9');
        writeFileSync(
          join(dir, 'am.yml'),
          text.replace(
            '/etc/alertmanager/templates/llmscope.tmpl',
            join(dir, 'alertmanager', 'templates', 'llmscope.tmpl'),
          ),
        );
        const r = run('amtool', ['check-config', 'am.yml'], dir);
        expect(r.code, r.out).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
