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
  return grafanaFiles(cfg);
}

/**
 * `mkdir -p` that fails at once. Node's `mkdirSync(dir, { recursive: true })` never returns under /proc (Node 20):
 * mkdir there answers ENOENT though /proc exists, so Node makes the parent (EEXIST) and tries again, forever.
 */
function makeDirs(dir: string): void {
  try {
    mkdirSync(dir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return; // a file there fails the write below, with its own error
    if (code !== 'ENOENT' || dirname(dir) === dir) throw err;
  }
  makeDirs(dirname(dir));
  try {
    mkdirSync(dir); // once: a second ENOENT (the parent exists now) is the answer, not a reason to retry
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

export function writeFiles(dir: string, files: readonly ExportFile[]): string[] {
  const written: string[] = [];
  for (const f of files) {
    const p = join(dir, f.path);
    makeDirs(dirname(p));
    writeFileSync(p, f.content);
    written.push(p);
  }
  return written;
}

/** deploy/ layout: deploy/prometheus, deploy/alertmanager, deploy/grafana. */
export function writeDeploy(dir: string, cfg: AlertsConfig): string[] {
  return EXPORT_TARGETS.flatMap((t) => writeFiles(join(dir, t), exportFiles(t, cfg)));
}
