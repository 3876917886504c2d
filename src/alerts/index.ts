// Public face of alerts/: the module, the CLI commands and the export (the signals it reads are in src/signals/).
export { registerAlertsCommand } from './cli.js';
export type { AlertsConfig, AlertsConfigInput } from './config.js';
export { alertsConfigOf, alertsSchema } from './config.js';
export { registerExportCommand } from './export/cli.js';
export type { Sample } from './model.js';
export { createAlertsModule } from './module.js';
