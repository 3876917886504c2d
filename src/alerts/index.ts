// Public face of alerts/: the module, the signal registry other modules feed, the CLI commands and the export.
export { registerAlertsCommand } from './cli.js';
export type { AlertsConfig, AlertsConfigInput } from './config.js';
export { alertsConfigOf, alertsSchema } from './config.js';
export { registerExportCommand } from './export/cli.js';
export type { Sample } from './model.js';
export { createAlertsModule } from './module.js';
export { type SignalName, type SignalQuery, SignalRegistry, type SignalSource, signalsOf } from './signals.js';
