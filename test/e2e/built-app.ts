// The dashboard's Chromium tests run the built server and UI (dist/, as `npm run build` makes them): one place that
// finds the build, loads its modules and starts an app on a free loopback port, rather than each test file doing so.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as ModulesTs from '../../src/cli/modules.js';
import type * as ConfigTs from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';

const dist = (p: string) => new URL(`../../dist/${p}`, import.meta.url);

/** Whether the dashboard and the server are built (dist/ui/index.html and dist/server.js). */
export const dashboardBuilt =
  existsSync(fileURLToPath(dist('ui/index.html'))) && existsSync(fileURLToPath(dist('server.js')));

/** A module of the build, by its path under dist/ (`simulator/index.js`). */
export const loadBuilt = async <T>(p: string): Promise<T> => (await import(dist(p).href)) as T;

/**
 * The built app with every built-in module, on the config given (validated as `serve` validates it), listening:
 * throws when the dashboard is not built or the config is not valid.
 */
export async function startBuiltApp(input: ConfigTs.ConfigInput): Promise<{ app: ServerTs.App; base: string }> {
  if (!dashboardBuilt) throw new Error('the dashboard is not built: run `npm run build` first');
  const { createApp } = await loadBuilt<typeof ServerTs>('server.js');
  const { builtinModules } = await loadBuilt<typeof ModulesTs>('cli/modules.js');
  const { validateConfig } = await loadBuilt<typeof ConfigTs>('config/index.js');
  const r = validateConfig(input);
  if (!r.ok) throw new Error(`bad config: ${JSON.stringify(r.issues)}`);
  const app = await createApp(r.config, { modules: builtinModules() });
  return { app, base: await app.listen() };
}
