// `llmscope keys create|list|revoke|rotate`: manage the virtual keys kept in the configured store (storage.url), the
// same keys /api/keys manages. `create` and `rotate` print the new key once, alone on stdout (so
// `KEY=$(llmscope keys create ci)` works), with what it is on stderr; nothing ever prints a key again. Serving
// replicas see a revocation within a second.
import pino from 'pino';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { type Audit, createAuditLog } from '../audit/index.js';
import { type Config, loadConfig } from '../config/index.js';
import {
  configKeyView,
  createKey,
  findKey,
  type KeyStore,
  type KeyView,
  keyStoreFor,
  keyView,
  revokeKey,
  rotateKey,
} from '../cost/index.js';
import { LlmscopeError } from '../errors.js';
import { createStore, type Store } from '../store/index.js';
import { DURATION_FORMS, DURATION_PATTERN } from '../time.js';
import { assertStoreExists } from './existing-store.js';
import { formatTable } from './table.js';

export interface KeysIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  now?: () => number;
}

export interface Common {
  config?: string;
  json?: boolean;
}

export interface CreateFlags extends Common {
  user?: string;
  team?: string;
  feature?: string;
  trustHeaders?: string;
  rpm?: string;
  tpm?: string;
  models?: string;
  expiresIn?: string;
  expiresAt?: string;
}

interface KeysAt {
  keys: KeyStore;
  /** The store's audit log: the command's actions are recorded as the API's are, by `cli`. */
  audit: Audit;
  config: Config;
  configIds: Set<string>;
}

/** How a keys command is pointed at the store serve uses, for the message when there is none where it looked. */
const POINT_AT_STORE =
  '--config FILE (or set LLMSCOPE_CONFIG, or LLMSCOPE_STORAGE_URL) naming the storage.url `llmscope serve` uses';

/**
 * Opens the configured store. `create` makes it if this is its first use (keys may be made before the first serve);
 * the other commands need it to exist: listing or revoking in the wrong folder must say so, not leave an empty store.
 */
async function openKeys(
  flags: Common,
  io: KeysIo,
  command: string | null,
  config = loadConfig({ file: flags.config, env: io.env }),
): Promise<{ store: Store } & KeysAt> {
  if (command !== null) await assertStoreExists(config.storage.url, `keys ${command}`, POINT_AT_STORE);
  const store = createStore(config.storage.url);
  try {
    await store.migrate();
    const keys = await keyStoreFor(store.backend);
    const audit = await createAuditLog({
      backend: store.backend,
      registry: new Registry(),
      logger: pino({ level: 'silent' }),
      now: io.now ?? Date.now,
      trustProxy: false,
    });
    return { store, keys, audit, config, configIds: new Set(config.keys.map((k) => k.id)) };
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
}

/** `command` null: create the store when missing; otherwise the store must exist (the name is for the message). */
async function withKeys<T>(
  flags: Common,
  io: KeysIo,
  command: string | null,
  fn: (k: KeysAt) => Promise<T>,
): Promise<T> {
  const { store, ...at } = await openKeys(flags, io, command);
  try {
    return await fn(at);
  } finally {
    await store.close();
  }
}

const intFlag = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new LlmscopeError('LLMSCOPE_ERR_INVALID_BODY', `--${name} takes a positive whole number, got "${v}"`);
  return n;
};

const describeKey = (v: KeyView): string =>
  [
    `${v.name} (${v.id})`,
    v.prefix ? `prefix ${v.prefix}…` : null,
    v.user ? `user ${v.user}` : null,
    v.team ? `team ${v.team}` : null,
    v.feature ? `feature ${v.feature}` : null,
    v.rpm ? `${v.rpm} requests/min` : null,
    v.tpm ? `${v.tpm} tokens/min` : null,
    v.models.length ? `models ${v.models.join(', ')}` : null,
    v.expires_at ? `expires ${v.expires_at}` : null,
  ]
    .filter(Boolean)
    .join(', ');

function printSecret(view: KeyView, secret: string, verb: string, flags: Common, io: KeysIo): void {
  if (flags.json) {
    io.out(`${JSON.stringify({ ...view, key: secret }, null, 2)}\n`);
    return;
  }
  io.err(`${verb} key ${describeKey(view)}\n`);
  io.err('the key is shown this once and cannot be shown again; store it now:\n');
  io.out(`${secret}\n`);
}

/** The create flag that sets each /api/keys body field: a refused value is named as the user typed it. */
const FLAG_OF: Record<string, string> = {
  name: 'NAME',
  user: '--user',
  team: '--team',
  feature: '--feature',
  trust_headers: '--trust-headers',
  rpm: '--rpm',
  tpm: '--tpm',
  models: '--models',
  expires_in: '--expires-in',
  expires_at: '--expires-at',
};

/** An error about a body field (`invalid key "expires_in": ...`) restated with the flag that gave it. */
function asFlagError(err: unknown): unknown {
  if (!(err instanceof LlmscopeError) || err.param === null) return err;
  const flag = FLAG_OF[err.param.split('.')[0] ?? ''];
  if (!flag) return err;
  const said = err.message.replace(`invalid key "${err.param}"`, `invalid ${flag}`);
  const message = said.includes(flag) ? said : `${flag}: ${said}`;
  return new LlmscopeError(err.code, message, { param: err.param, headers: err.headers });
}

/** --expires-in and --expires-at, checked here so that a bad one is refused with its accepted forms. */
function checkExpiry(flags: CreateFlags): void {
  const bad = (msg: string, param: string) => new LlmscopeError('LLMSCOPE_ERR_INVALID_BODY', msg, { param });
  if (flags.expiresIn !== undefined && flags.expiresAt !== undefined)
    throw bad('give --expires-in or --expires-at, not both', 'expires_in');
  if (flags.expiresIn !== undefined && !DURATION_PATTERN.test(flags.expiresIn))
    throw bad(`--expires-in takes a duration, ${DURATION_FORMS}; got "${flags.expiresIn}"`, 'expires_in');
  if (flags.expiresAt !== undefined && !z.iso.datetime({ offset: true }).safeParse(flags.expiresAt).success)
    throw bad(
      `--expires-at takes an ISO 8601 time with a zone, e.g. 2026-12-31T23:59:59Z or 2026-12-31T23:59:59+02:00; got "${flags.expiresAt}"`,
      'expires_at',
    );
}

export async function keysCreate(name: string, flags: CreateFlags, io: KeysIo): Promise<number> {
  const now = io.now?.() ?? Date.now();
  const body: Record<string, unknown> = {
    name,
    user: flags.user,
    team: flags.team,
    feature: flags.feature,
    rpm: intFlag(flags.rpm, 'rpm'),
    tpm: intFlag(flags.tpm, 'tpm'),
    expires_in: flags.expiresIn,
    expires_at: flags.expiresAt,
  };
  if (flags.trustHeaders !== undefined)
    body.trust_headers = flags.trustHeaders
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (flags.models !== undefined)
    body.models = flags.models
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  checkExpiry(flags);
  return withKeys(flags, io, null, async ({ keys, audit, configIds }) => {
    const { key, secret } = await createKey(keys, body, { now, by: 'cli', configIds }).catch((err: unknown) => {
      throw asFlagError(err);
    });
    await audit.record('cli', {
      action: 'key.create',
      target: `key:${key.id}`,
      detail: { name: key.name, rpm: key.rpm, tpm: key.tpm, models: key.models },
    });
    printSecret(keyView(key, now), secret, 'created', flags, io);
    return 0;
  });
}

/**
 * Lists stored keys and the config file's. With no store where the config points, nothing is created: stderr says
 * where it looked and how to point at the store, the config's keys (if any) are still listed, and the exit code is 1.
 */
export async function keysList(flags: Common & { all?: boolean }, io: KeysIo): Promise<number> {
  const now = io.now?.() ?? Date.now();
  const config = loadConfig({ file: flags.config, env: io.env });
  try {
    await assertStoreExists(config.storage.url, 'keys list', POINT_AT_STORE);
  } catch (err) {
    if (!(err instanceof LlmscopeError) || config.keys.length === 0) throw err;
    io.err(`llmscope: ${err.message}\nonly the keys in the config file are listed:\n`);
    printKeys(config.keys.map(configKeyView), flags, io);
    return 1;
  }
  const { store, keys } = await openKeys(flags, io, null, config);
  let stored: KeyView[];
  let revoked = 0;
  try {
    stored = (await keys.list({ includeRevoked: flags.all })).map((k) => keyView(k, now));
    if (!flags.all && stored.length === 0) revoked = (await keys.list({ includeRevoked: true })).length;
  } finally {
    await store.close();
  }
  const views = [...stored, ...config.keys.map(configKeyView)];
  if (views.length === 0 && !flags.json)
    io.out(
      revoked > 0
        ? `no keys but revoked ones (${revoked}): \`llmscope keys list --all\` shows them; \`llmscope keys create NAME\` makes a new one\n`
        : 'no keys yet; `llmscope keys create NAME` makes one\n',
    );
  else printKeys(views, flags, io);
  return 0;
}

function printKeys(views: KeyView[], flags: Common, io: KeysIo): void {
  if (flags.json) {
    io.out(`${JSON.stringify(views, null, 2)}\n`);
    return;
  }
  const rows = [
    ['ID', 'NAME', 'PREFIX', 'STATUS', 'USER', 'TEAM', 'RPM', 'TPM', 'MODELS', 'EXPIRES', 'SOURCE'],
    ...views.map((v) => [
      v.id,
      v.name,
      v.prefix ?? '-',
      v.status,
      v.user ?? '-',
      v.team ?? '-',
      v.rpm === null ? '-' : String(v.rpm),
      v.tpm === null ? '-' : String(v.tpm),
      v.models.length ? v.models.join(',') : '*',
      v.expires_at ?? '-',
      v.source,
    ]),
  ];
  io.out(formatTable(rows));
}

export async function keysRevoke(idOrName: string, flags: Common, io: KeysIo): Promise<number> {
  const now = io.now?.() ?? Date.now();
  return withKeys(flags, io, 'revoke', async ({ keys, audit, configIds }) => {
    const k = await findKey(keys, idOrName, configIds);
    const revoked = await revokeKey(keys, k, now);
    await audit.record('cli', { action: 'key.revoke', target: `key:${k.id}`, detail: { name: k.name } });
    const view = keyView(revoked, now);
    if (flags.json) io.out(`${JSON.stringify(view, null, 2)}\n`);
    else
      io.out(
        k.revokedAt !== null
          ? `key ${describeKey(view)} was already revoked at ${view.revoked_at}\n`
          : `revoked key ${describeKey(view)}; serving replicas refuse it within a second\n`,
      );
    return 0;
  });
}

export async function keysRotate(idOrName: string, flags: Common, io: KeysIo): Promise<number> {
  const now = io.now?.() ?? Date.now();
  return withKeys(flags, io, 'rotate', async ({ keys, audit, configIds }) => {
    const k = await findKey(keys, idOrName, configIds);
    const { key, secret } = await rotateKey(keys, k, now);
    await audit.record('cli', { action: 'key.rotate', target: `key:${k.id}`, detail: { name: k.name } });
    printSecret(keyView(key, now), secret, 'rotated (the previous key stops within a second)', flags, io);
    return 0;
  });
}
