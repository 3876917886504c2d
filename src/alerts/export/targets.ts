// The export targets, apart from the generators: `llmscope export`'s declaration names them without loading those.
export type ExportTarget = 'prometheus' | 'alertmanager' | 'grafana';
export const EXPORT_TARGETS: readonly ExportTarget[] = ['prometheus', 'alertmanager', 'grafana'];
