// Writing export files, and the three targets together (used by the deploy/ freshness test).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AlertsConfig } from '../spec.js';
import { alertmanagerFiles } from './alertmanager.js';
import { grafanaFiles } from './grafana.js';
import { type ExportFile, prometheusFiles } from './prometheus.js';
import { EXPORT_TARGETS, type ExportTarget } from './targets.js';

export { EXPORT_TARGETS, type ExportTarget };

export function exportFiles(target: ExportTarget, cfg: AlertsConfig): ExportFile[] {
  if (target === 'prometheus') return prometheusFiles(cfg);
  if (target === 'alertmanager') return alertmanagerFiles(cfg);
  return grafanaFiles();
}

export function writeFiles(dir: string, files: readonly ExportFile[]): string[] {
  const written: string[] = [];
  for (const f of files) {
    const p = join(dir, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content);
    written.push(p);
  }
  return written;
}

/** deploy/ layout: deploy/prometheus, deploy/alertmanager, deploy/grafana. */
export function writeDeploy(dir: string, cfg: AlertsConfig): string[] {
  return EXPORT_TARGETS.flatMap((t) => writeFiles(join(dir, t), exportFiles(t, cfg)));
}
