// The operator's files, checked without Docker or a cluster (neither runs here): the Dockerfile's stages, the
// compose stacks (every file they mount exists, secrets are never committed, and the Prometheus and Alertmanager
// configs they mount pass the real `promtool check config` / `amtool check-config` in the layout the containers
// see), the Kubernetes manifests (kinds, probes, security, labels that match the selectors) and the configs they
// ship, which must refuse to start as an open relay.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, YAMLMap } from 'yaml';
import { startupChecks } from '../src/cli/startup-checks.js';
import { loadConfig } from '../src/config/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEPLOY = join(ROOT, 'deploy');
const tmp = mkdtempSync(join(tmpdir(), 'llmscope-deploy-lint-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const has = (cmd: string) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;
const SECRET_NAME = /(TOKEN|KEY|PASSWORD|SECRET)$/i;

// ------------------------------------------------------------------------------------------------------ Dockerfile

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  body: Instruction[];
}

/** The Dockerfile's instructions by stage: continuation lines joined, comments dropped. */
function dockerfileStages(text: string): Stage[] {
  const lines: string[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && cur === '')) continue;
    if (line.endsWith('\\')) {
      cur += `${line.slice(0, -1)} `;
      continue;
    }
    cur += line;
    if (cur.trim()) lines.push(cur.trim());
    cur = '';
  }
  const stages: Stage[] = [];
  for (const l of lines) {
    const m = /^(\S+)\s*(.*)$/.exec(l);
    if (!m) continue;
    const op = (m[1] as string).toUpperCase();
    const args = m[2] as string;
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: f?.[1] ?? args, name: f?.[2], body: [] });
    } else stages.at(-1)?.body.push({ op, args });
  }
  return stages;
}

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stages = dockerfileStages(text);
  const build = stages[0] as Stage;
  const runtime = stages.at(-1) as Stage;
  const runs = (s: Stage) =>
    s.body
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join('\n');

  it('has named stages: a build stage with the native toolchain, a slim runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.name, `FROM ${s.from} needs "AS <name>"`).toMatch(/^[a-z][a-z0-9_-]*$/);
    expect(new Set(stages.map((s) => s.name)).size).toBe(stages.length);
    expect(runs(build)).toMatch(/apt-get install[^\n]*\bpython3\b[^\n]*\bmake\b[^\n]*\bg\+\+/);
    expect(runs(build)).toMatch(/\bnpm ci\b/);
    expect(runs(build)).toMatch(/\bnpm run build\b/);
    expect(runs(build)).toMatch(/\bnpm prune --omit=dev\b/);
    // Node 20 slim at run time, without compilers
    expect(runtime.from).toMatch(/^node:(\$\{NODE_VERSION\}|20)[-\w.]*slim$/);
    if (runtime.from.includes('$' + '{NODE_VERSION}')) expect(text).toMatch(/^ARG NODE_VERSION=20\b/m);
    expect(runs(runtime)).not.toMatch(/g\+\+|build-essential/);
    // what it copies from other stages comes from stages defined before it
    for (const i of runtime.body.filter((x) => x.op === 'COPY' && x.args.includes('--from='))) {
      const from = /--from=(\S+)/.exec(i.args)?.[1];
      expect(stages.slice(0, -1).map((s) => s.name)).toContain(from);
    }
  });

  it('runs as a non-root user, keeps data on a volume, checks /healthz and serves on 0.0.0.0', () => {
    const users = runtime.body.filter((i) => i.op === 'USER').map((i) => i.args.split(':')[0]?.trim());
    const user = users.at(-1);
    expect(user, 'the final stage needs a USER').toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(runtime.body.find((i) => i.op === 'VOLUME')?.args).toContain('/data');
    const health = runtime.body.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    expect(health).toMatch(/^(--\S+\s+)*CMD\b/);
    expect(health).toContain('/healthz');
    const cmd = runtime.body
      .filter((i) => i.op === 'CMD' || i.op === 'ENTRYPOINT')
      .map((i) => i.args)
      .join(' ');
    expect(cmd).toMatch(/"serve",\s*"--host",\s*"0\.0\.0\.0"/);
  });

  it('holds no secrets, and copies only files that exist and that .dockerignore lets in', () => {
    for (const s of stages)
      for (const i of s.body.filter((x) => x.op === 'ENV' || x.op === 'ARG')) {
        for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g))
          if (SECRET_NAME.test(m[1] as string))
            expect(m[2], `${i.op} ${m[1]} would bake a secret into the image`).toMatch(/^("")?$/);
      }
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['.git', 'node_modules', 'dist', 'llmscope-data', 'deploy/secrets']) expect(ignore).toContain(p);
    for (const s of stages)
      for (const i of s.body.filter((x) => (x.op === 'COPY' || x.op === 'ADD') && !x.args.includes('--from='))) {
        const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
        for (const src of parts.slice(0, -1)) {
          expect(existsSync(join(ROOT, src)), `COPY ${src}: no such file in the build context`).toBe(true);
          expect(src).not.toMatch(/secrets|\.env$/);
          expect(
            ignore.some((p) => p && (src === p || src.startsWith(`${p}/`))),
            `${src} is .dockerignored`,
          ).toBe(false);
        }
      }
  });

  it('keeps what production code imports after `npm prune --omit=dev`', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    const kept = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]);
    const missing: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          if (p !== join(ROOT, 'src', 'ui')) walk(p); // the dashboard is bundled by Vite into dist/ui
        } else if (/\.ts$/.test(e.name) && !/(\.test|\.contract)\.ts$|^testing\.ts$/.test(e.name)) {
          const text = readFileSync(p, 'utf8');
          const specs = [
            ...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'";]*?from\s+'([^'.][^']*)'/gm),
            ...text.matchAll(/\bimport\(\s*'([^'.][^']*)'\s*\)/g),
          ].map((m) => m[1] as string);
          for (const spec of specs) {
            if (spec.startsWith('node:')) continue;
            const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string);
            if (!kept.has(name)) missing.push(`${p.slice(ROOT.length + 1)} imports ${spec}`);
          }
        }
      }
    };
    walk(join(ROOT, 'src'));
    expect(missing, 'move these packages to "dependencies", or the image cannot run them').toEqual([]);
  });

  it.runIf(existsSync('/bin/sh'))(
    'its entrypoint turns NAME_FILE secrets into NAME, and stops on an unreadable one',
    () => {
      const script = join(DEPLOY, 'docker', 'entrypoint.sh');
      expect(spawnSync('sh', ['-n', script], { encoding: 'utf8' }).status).toBe(0);
      // a stand-in `node` first on PATH shows what llmscope would be started with
      const bin = join(tmp, 'bin');
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'node'), '#!/bin/sh\necho "args: $*"\nenv | sort\n', { mode: 0o755 });
      const secret = join(tmp, 'admin_token');
      writeFileSync(secret, 'from-the-secret-file\n');
      const run = (env: Record<string, string>) =>
        spawnSync('sh', [script, 'serve', '--host', '0.0.0.0'], {
          encoding: 'utf8',
          env: { PATH: `${bin}:/usr/bin:/bin`, ...env },
        });
      const ok = run({ LLMSCOPE_ADMIN_TOKEN_FILE: secret, OPENAI_API_KEY_FILE: secret, CA_BUNDLE_FILE: '/etc/hosts' });
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('args: --max-semi-space-size=64 /app/bin/llmscope.js serve --host 0.0.0.0');
      expect(ok.stdout).toMatch(/^LLMSCOPE_ADMIN_TOKEN=from-the-secret-file$/m);
      expect(ok.stdout).toMatch(/^OPENAI_API_KEY=from-the-secret-file$/m);
      expect(ok.stdout).not.toContain('LLMSCOPE_ADMIN_TOKEN_FILE=');
      // other *_FILE variables keep their meaning
      expect(ok.stdout).toMatch(/^CA_BUNDLE_FILE=\/etc\/hosts$/m);
      expect(ok.stdout).not.toMatch(/^CA_BUNDLE=/m);
      const bad = run({ LLMSCOPE_ADMIN_TOKEN_FILE: join(tmp, 'missing') });
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('LLMSCOPE_ADMIN_TOKEN_FILE');
      expect(bad.stdout).toBe('');
    },
  );
});

// --------------------------------------------------------------------------------------- configs: no open relay

/** The startup problems `serve` would report for a config text (with these environment variables set). */
function problemsOf(yamlText: string, env: Record<string, string>): string[] {
  const file = join(tmp, `cfg-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yamlText);
  const config = loadConfig({ file, env });
  return startupChecks(config, env).errors.map((e) => e.path);
}

const shippedConfigs = (): [string, string][] => {
  const k8s = parseAllDocuments(readFileSync(join(DEPLOY, 'kubernetes', 'configmap.yaml'), 'utf8'))[0]?.toJS() as {
    data: Record<string, string>;
  };
  return [
    ['deploy/docker/llmscope.yaml (the image)', readFileSync(join(DEPLOY, 'docker', 'llmscope.yaml'), 'utf8')],
    ['deploy/llmscope.yaml (compose)', readFileSync(join(DEPLOY, 'llmscope.yaml'), 'utf8')],
    ['deploy/kubernetes/configmap.yaml', k8s.data['llmscope.yaml'] as string],
  ];
};

describe.each(shippedConfigs())('%s', (_name, text) => {
  it('listens off loopback and refuses to start without the admin token', () => {
    expect(problemsOf(text, {})).toContain('server.adminToken');
  });
  it('starts with the admin token, and is no open relay: without its virtual keys it would refuse', () => {
    expect(problemsOf(text, { LLMSCOPE_ADMIN_TOKEN: 'a-long-enough-token' })).toEqual([]);
    const doc = parse(text) as Record<string, unknown>;
    expect(doc.keys, 'keys: gate the server-side provider key').toBeDefined();
    delete doc.keys;
    const open = JSON.stringify(doc); // JSON is YAML
    expect(problemsOf(open, { LLMSCOPE_ADMIN_TOKEN: 'a-long-enough-token' })).toContain('keys');
  });
});

// ---------------------------------------------------------------------------------------------------- compose

const RESET = {
  tag: '!reset',
  collection: 'seq' as const,
  resolve: () => {
    const m = new YAMLMap();
    m.set('$reset', true);
    return m;
  },
};

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Volume {
  source: string;
  target: string;
  bind: boolean;
}
function volumeOf(v: unknown): Volume {
  if (isMap(v)) return { source: String(v.source), target: String(v.target), bind: v.type === 'bind' };
  const [source = '', target = ''] = String(v).split(':');
  return { source, target, bind: /^[./~]/.test(source) };
}

/** Compose's merge of a later file over an earlier one: maps merge, volumes by target, `!reset` clears. */
function mergeCompose(a: unknown, b: unknown, key = ''): unknown {
  if (isMap(b) && b.$reset === true) return [];
  if (isMap(a) && isMap(b)) {
    const out: Json = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = k in a ? mergeCompose(a[k], v, k) : v;
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (key === 'volumes') {
      const byTarget = new Map(a.map((v) => [volumeOf(v).target, v]));
      for (const v of b) byTarget.set(volumeOf(v).target, v);
      return [...byTarget.values()];
    }
    if (key === 'command' || key === 'entrypoint') return b;
    return [...new Set([...a, ...b].map((x) => JSON.stringify(x)))].map((x) => JSON.parse(x));
  }
  return b;
}

const readCompose = (name: string) => parse(readFileSync(join(DEPLOY, name), 'utf8'), { customTags: [RESET] }) as Json;
const STACKS: [string, Json][] = [
  ['compose.yaml (single node)', readCompose('compose.yaml')],
  [
    'compose.yaml + compose.replicas.yaml (replicas)',
    mergeCompose(readCompose('compose.yaml'), readCompose('compose.replicas.yaml')) as Json,
  ],
];

const gitIgnored = (path: string) => spawnSync('git', ['check-ignore', '-q', path], { cwd: ROOT }).status === 0;

/** A folder laid out as a service's container sees its bind mounts (later mounts over earlier ones). */
function containerView(service: Json, into: string): void {
  for (const v of (service.volumes as unknown[]).map(volumeOf)) {
    if (!v.bind) continue;
    const src = resolve(DEPLOY, v.source);
    if (!existsSync(src)) continue; // secrets, checked separately
    const dst = join(into, v.target);
    mkdirSync(dirname(dst), { recursive: true });
    cpSync(src, dst, { recursive: true });
  }
}

const flagOf = (service: Json, flag: string): string => {
  const arg = (service.command as string[]).find((c) => c.startsWith(`--${flag}=`));
  if (!arg) throw new Error(`no --${flag} in ${JSON.stringify(service.command)}`);
  return arg.slice(flag.length + 3);
};

describe.each(STACKS)('%s', (name, stack) => {
  const services = stack.services as Record<string, Json>;
  const secrets = (stack.secrets ?? {}) as Record<string, { file: string }>;

  it('runs llmscope (built from the Dockerfile), Prometheus, Alertmanager and Grafana', () => {
    for (const s of ['llmscope', 'prometheus', 'alertmanager', 'grafana']) expect(Object.keys(services)).toContain(s);
    const llmscope = services.llmscope as Json;
    const build = llmscope.build as Json;
    expect(build.dockerfile).toBe('Dockerfile');
    expect(existsSync(resolve(DEPLOY, String(build.context), 'Dockerfile'))).toBe(true);
    // no host node_modules or checkout mounted into the container any more
    for (const v of (llmscope.volumes as unknown[]).map(volumeOf)) expect(resolve(DEPLOY, v.source)).not.toBe(ROOT);
    if (name.includes('replicas')) {
      for (const s of ['postgres', 'lb']) expect(Object.keys(services)).toContain(s);
      expect(services.llmscope?.ports).toEqual([]);
    }
  });

  it('mounts only files that exist; secrets come from git-ignored files, never from the compose file', () => {
    const volumes = new Set(Object.keys((stack.volumes ?? {}) as Json));
    for (const [svc, s] of Object.entries(services)) {
      for (const v of ((s.volumes ?? []) as unknown[]).map(volumeOf)) {
        if (!v.bind) {
          expect(volumes, `${svc}: named volume ${v.source} is not declared`).toContain(v.source);
          continue;
        }
        const src = resolve(DEPLOY, v.source);
        if (v.source.startsWith('./secrets')) expect(gitIgnored(src), `${src} must be git-ignored`).toBe(true);
        else expect(existsSync(src), `${svc} mounts ${v.source}, which does not exist`).toBe(true);
      }
      for (const ref of (s.secrets ?? []) as string[])
        expect(Object.keys(secrets), `${svc}: secret ${ref}`).toContain(ref);
      for (const [k, val] of Object.entries((s.environment ?? {}) as Record<string, string>)) {
        const v = String(val);
        if (SECRET_NAME.test(k)) expect(v, `${svc}: ${k} holds a literal secret`).toMatch(/^\$\{[A-Z_]+[:?}]/);
        expect(v, `${svc}: ${k} holds a URL with a password`).not.toMatch(/:\/\/[^:/@\s]+:[^@$\s]+@/);
      }
    }
    for (const [n, s] of Object.entries(secrets)) {
      expect(s.file, `secret ${n}`).toMatch(/^\.\/secrets\//);
      expect(gitIgnored(resolve(DEPLOY, s.file)), `${s.file} must be git-ignored`).toBe(true);
    }
    const tracked = spawnSync('git', ['ls-files', 'deploy/secrets'], { cwd: ROOT, encoding: 'utf8' }).stdout;
    expect(tracked.trim(), 'committed secrets').toBe('');
  });

  it.runIf(has('promtool'))(
    "the Prometheus config it mounts passes promtool check config (needs promtool: Debian's prometheus)",
    () => {
      const view = join(tmp, `prom-${name.length}`);
      const prom = services.prometheus as Json;
      containerView(prom, view);
      const file = join(view, flagOf(prom, 'config.file'));
      const r = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      // the rules were found and checked, not an empty glob
      expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
      const cfg = parse(readFileSync(file, 'utf8')) as { scrape_configs: { job_name: string }[] };
      expect(cfg.scrape_configs.map((j) => j.job_name)).toContain('llmscope');
    },
  );

  it.runIf(has('amtool'))(
    "the Alertmanager config it mounts passes amtool check-config (needs amtool: Debian's prometheus-alertmanager)",
    () => {
      const view = join(tmp, `am-${name.length}`);
      const am = services.alertmanager as Json;
      containerView(am, view);
      const file = join(view, flagOf(am, 'config.file'));
      // its absolute paths (templates) point into the container: point them into the view
      let text = readFileSync(file, 'utf8');
      for (const v of (am.volumes as unknown[]).map(volumeOf))
        if (v.bind) text = text.replaceAll(`${v.target}/`, `${join(view, v.target)}/`);
      writeFileSync(file, text);
      const r = spawnSync('amtool', ['check-config', file], { encoding: 'utf8' });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/[1-9]\d* templates/);
    },
  );

  // Runs only when the real tools are missing, and fails saying what to install: a missing check is never a pass.
  it.skipIf(has('promtool') && has('amtool'))(
    'promtool and amtool are installed (run scripts/system-deps.sh; Debian: prometheus, prometheus-alertmanager)',
    () => {
      expect.fail('promtool/amtool are missing, so the compose configs were not checked: run scripts/system-deps.sh');
    },
  );
});

// ------------------------------------------------------------------------------------------------- Kubernetes

describe('deploy/kubernetes', () => {
  const dir = join(DEPLOY, 'kubernetes');
  const docs = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => ({ file: f, ...(d.toJS() as Json) })),
    ) as (Json & { file: string; kind: string; metadata: { name: string; labels?: Record<string, string> } })[];
  const one = (kind: string) => {
    const found = docs.filter((d) => d.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0] as Json & { file: string };
  };
  const deployment = one('Deployment') as unknown as {
    spec: {
      replicas: number;
      selector: { matchLabels: Record<string, string> };
      template: {
        metadata: { labels: Record<string, string> };
        spec: {
          securityContext: Json;
          containers: {
            image: string;
            ports: { name: string; containerPort: number }[];
            env: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
            readinessProbe: { httpGet: { path: string; port: string } };
            livenessProbe: { httpGet: { path: string; port: string } };
            resources: { requests: Json; limits: Json };
            securityContext: Json;
            volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
          }[];
          volumes: { name: string; configMap?: { name: string }; emptyDir?: Json; persistentVolumeClaim?: Json }[];
        };
      };
    };
  };
  const pod = deployment.spec.template;
  const container = pod.spec.containers[0] as (typeof pod.spec.containers)[number];
  const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);

  it('holds a Deployment, Service, ConfigMap, Secret template, ServiceMonitor and PodDisruptionBudget', () => {
    for (const k of ['Deployment', 'Service', 'ConfigMap', 'Secret', 'ServiceMonitor', 'PodDisruptionBudget']) one(k);
    const kust = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    for (const r of kust.resources) expect(existsSync(join(dir, r)), r).toBe(true);
    // the template is never applied with placeholder values
    expect(kust.resources).not.toContain('secret.example.yaml');
    expect(gitIgnored(join(dir, 'secret.yaml'))).toBe(true);
  });

  it('labels agree: Deployment selector, pod, Service, ServiceMonitor and PodDisruptionBudget', () => {
    const service = one('Service') as unknown as {
      metadata: { labels: Record<string, string> };
      spec: { selector: Record<string, string>; ports: { name: string; targetPort: string | number }[] };
    };
    expect(matches(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
    expect(matches(service.spec.selector, pod.metadata.labels)).toBe(true);
    const names = container.ports.map((p) => p.name);
    for (const p of service.spec.ports) expect(names).toContain(p.targetPort);
    const sm = one('ServiceMonitor') as unknown as {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
    };
    expect(matches(sm.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    expect(sm.spec.endpoints[0]).toMatchObject({ path: '/metrics' });
    expect(service.spec.ports.map((p) => p.name)).toContain(sm.spec.endpoints[0]?.port);
    const pdb = one('PodDisruptionBudget') as unknown as {
      spec: { selector: { matchLabels: Record<string, string> }; maxUnavailable?: number; minAvailable?: number };
    };
    expect(matches(pdb.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
    // a budget that still lets a drain proceed
    if (pdb.spec.minAvailable !== undefined) expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    else expect(pdb.spec.maxUnavailable).toBeGreaterThanOrEqual(1);
  });

  it('probes readiness on /readyz and liveness on /healthz, with resources', () => {
    const names = container.ports.map((p) => p.name);
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(names).toContain(container.readinessProbe.httpGet.port);
    expect(names).toContain(container.livenessProbe.httpGet.port);
    expect(container.resources.requests).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
    expect(container.resources.limits).toMatchObject({ memory: expect.anything() });
  });

  it('runs non-root on a read-only root filesystem, with writable /data and /tmp volumes', () => {
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(pod.spec.securityContext.runAsUser).not.toBe(0);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const volumes = new Map(pod.spec.volumes.map((v) => [v.name, v]));
    for (const m of container.volumeMounts) expect(volumes.has(m.name), `volume ${m.name}`).toBe(true);
    for (const path of ['/data', '/tmp']) {
      const m = container.volumeMounts.find((x) => x.mountPath === path);
      expect(m, `${path} mounted`).toBeDefined();
      expect(m?.readOnly ?? false).toBe(false);
    }
    const config = container.volumeMounts.find((x) => x.mountPath === '/etc/llmscope');
    expect(volumes.get(config?.name ?? '')?.configMap?.name).toBe((one('ConfigMap').metadata as { name: string }).name);
  });

  it('takes every secret from the Secret, whose template has each key and no real value', () => {
    const secret = one('Secret') as unknown as { metadata: { name: string }; stringData: Record<string, string> };
    const refs = container.env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.valueFrom?.secretKeyRef);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const r of refs) {
      expect(r?.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData)).toContain(r?.key);
    }
    for (const e of container.env) if (SECRET_NAME.test(e.name)) expect(e.valueFrom?.secretKeyRef).toBeDefined();
    for (const v of Object.values(secret.stringData)) expect(v).toMatch(/^<.*>$/);
  });
});
