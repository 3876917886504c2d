// How many virtual keys the configured store holds, for the no-open-relay rule (startup-checks.ts): a deployment whose
// keys were made with `llmscope keys create` or /api/keys is not an open relay although its config lists none.
import { existsSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { keyStoreFor } from '../cost/index.js';
import { createStore } from '../store/index.js';
import { relayNeedsStoredKeys, storageUrlProblem } from './startup-checks.js';

/** The path of a `sqlite:` storage URL's file, or null (memory, or not SQLite). */
function sqliteFile(url: string): string | null {
  if (!url.startsWith('sqlite:')) return null;
  const rest = url.slice('sqlite:'.length).replace(/^\/\//, '');
  return rest === ':memory:' ? null : rest;
}

/**
 * The store's virtual keys (revoked ones too: a store whose keys are all revoked still refuses keyless calls), counted
 * only when the no-open-relay rule depends on them (or `always`); 0 otherwise, without opening anything. A SQLite file that does
 * not exist yet holds none and is not created here.
 */
export async function storedKeyCount(config: Config, always = false): Promise<number> {
  const url = config.storage.url;
  if ((!always && !relayNeedsStoredKeys(config)) || storageUrlProblem(url)) return 0;
  const file = sqliteFile(url);
  if (url.startsWith('sqlite:') && (file === null || !existsSync(file))) return 0;
  const store = createStore(url);
  try {
    await store.migrate();
    return await (await keyStoreFor(store.backend)).count();
  } finally {
    await store.close().catch(() => {});
  }
}
