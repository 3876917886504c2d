// deploy/ holds what `llmscope export` generates from deploy/llmscope.yaml; this test regenerates it into a temp dir
// and fails when anything differs (LLMSCOPE_UPDATE_DEPLOY=1 rewrites deploy/ instead).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { alertsConfigOf } from '../config.js';
import { EXPORT_TARGETS, writeDeploy } from './files.js';

const DEPLOY = fileURLToPath(new URL('../../../deploy/', import.meta.url));

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

describe('deploy/', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'llmscope-deploy-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('is what `llmscope export` generates from deploy/llmscope.yaml', () => {
    const config = loadConfig({ file: join(DEPLOY, 'llmscope.yaml'), env: {} });
    const cfg = alertsConfigOf(config.alerts);
    if (process.env.LLMSCOPE_UPDATE_DEPLOY === '1') {
      for (const t of EXPORT_TARGETS) rmSync(join(DEPLOY, t), { recursive: true, force: true });
      writeDeploy(DEPLOY, cfg);
    }
    writeDeploy(tmp, cfg);
    const fix = 'run `LLMSCOPE_UPDATE_DEPLOY=1 npx vitest run src/alerts/export/deploy.test.ts` and commit deploy/';
    for (const t of EXPORT_TARGETS) {
      const want = listFiles(join(tmp, t));
      let have: string[] = [];
      try {
        have = listFiles(join(DEPLOY, t));
      } catch {
        /* missing folder: reported below */
      }
      expect(have, `deploy/${t} has other files than the export; ${fix}`).toEqual(want);
      for (const f of want)
        expect(readFileSync(join(DEPLOY, t, f), 'utf8'), `deploy/${t}/${f} is stale; ${fix}`).toBe(
          readFileSync(join(tmp, t, f), 'utf8'),
        );
    }
  });

  it.runIf(spawnSync('amtool', ['--version']).status === 0)('its alertmanager.yml passes amtool check-config', () => {
    const dir = join(DEPLOY, 'alertmanager');
    const text = readFileSync(join(dir, 'alertmanager.yml'), 'utf8').replace(
      '/etc/alertmanager/templates',
      join(dir, 'templates'),
    );
    const file = join(tmp, 'am-check.yml');
    writeFileSync(file, text);
    const r = spawnSync('amtool', ['check-config', file], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('compose.yaml runs the whole stack on the generated files', () => {
    const compose = readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8');
    for (const s of ['llmscope:', 'prometheus:', 'alertmanager:', 'grafana:']) expect(compose).toContain(`  ${s}`);
    for (const m of ['./prometheus:/etc/prometheus', './alertmanager:/etc/alertmanager', './grafana/dashboards:'])
      expect(compose).toContain(m);
  });
});
