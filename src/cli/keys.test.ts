// `llmscope keys` on a config's SQLite store: create prints the key once (alone on stdout, or in --json), list never
// shows it (only its prefix) and lists config keys beside stored ones, revoke and rotate find a key by id or name,
// and bad input fails with a message that says what to fix. The stored row holds the hash, never the key.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { hashKey } from '../cost/index.js';
import { keysCreate, keysList, keysRevoke, keysRotate } from './keys.js';

let dir: string;
let config: string;
const T = Date.parse('2026-05-01T12:00:00Z');

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s), env: {}, now: () => T },
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmscope-keys-'));
  config = join(dir, 'llmscope.yaml');
  writeFileSync(
    config,
    `storage:\n  url: sqlite:${join(dir, 'data.db')}\nkeys:\n  - id: legacy\n    hash: ${hashKey('lsk_legacy_key_0000')}\n    team: ops\n    rpm: 30\n`,
  );
});

describe('llmscope keys', () => {
  it('creates a key, prints it once, stores only its hash, and lists it by prefix', async () => {
    const c = io();
    expect(
      await keysCreate(
        'search-prod',
        {
          config,
          team: 'search',
          user: 'svc',
          rpm: '60',
          tpm: '90000',
          models: 'gpt-4o-mini, claude-*',
          expiresIn: '30d',
        },
        c.io,
      ),
    ).toBe(0);
    const key = c.out.join('').trim();
    expect(key).toMatch(/^lsk_[A-Za-z0-9_-]{40}$/);
    expect(c.err.join('')).toMatch(
      /created key search-prod \(key_[0-9a-f]{20}\), prefix lsk_.{8}…, user svc, team search, 60 requests\/min, 90000 tokens\/min, models gpt-4o-mini, claude-\*, expires 2026-05-31T12:00:00.000Z/,
    );
    expect(c.err.join('')).toMatch(/shown this once/);

    const db = new Database(join(dir, 'data.db'), { readonly: true });
    const rows = db.prepare('SELECT * FROM api_keys').all() as Record<string, unknown>[];
    db.close();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.hash).toBe(hashKey(key));
    expect(JSON.stringify(rows)).not.toContain(key);
    expect(readFileSync(join(dir, 'data.db')).includes(Buffer.from(key))).toBe(false);

    const l = io();
    expect(await keysList({ config }, l.io)).toBe(0);
    const text = l.out.join('');
    expect(text).not.toContain(key);
    expect(text).toContain(key.slice(0, 12));
    expect(text).toMatch(
      /search-prod\s+lsk_\S+\s+active\s+svc\s+search\s+60\s+90000\s+gpt-4o-mini,claude-\*\s+2026-05-31T12:00:00.000Z\s+store/,
    );
    expect(text).toMatch(/legacy\s+legacy\s+-\s+active\s+-\s+ops\s+30\s+-\s+\*\s+-\s+config/);

    const j = io();
    await keysList({ config, json: true }, j.io);
    const views = JSON.parse(j.out.join('')) as Record<string, unknown>[];
    expect(views.map((v) => v.name)).toEqual(['search-prod', 'legacy']);
    expect(JSON.stringify(views)).not.toContain(key);
    expect(views[0]).not.toHaveProperty('hash');
    expect(views.map((v) => v.models)).toEqual([['gpt-4o-mini', 'claude-*'], []]);
  });

  it('lists names with a space, wide characters or an emoji as one quoted cell, the columns lined up on a terminal', async () => {
    const names = ['team bot', '数据团队', 'deploy 🔑 prod', 'é-accent', `long-${'n'.repeat(60)}`];
    for (const name of names) expect(await keysCreate(name, { config, team: 'search' }, io().io)).toBe(0);
    const l = io();
    expect(await keysList({ config }, l.io)).toBe(0);
    const lines = l.out.join('').trimEnd().split('\n');
    // the terminal columns a line takes up to `i`: CJK ideographs and emoji take two, a combining accent none
    const cols = (s: string) =>
      [...s.normalize('NFD')].reduce(
        (w, ch) => w + (/\p{Mn}/u.test(ch) ? 0 : /[\u4e00-\u9fff]|\p{Emoji_Presentation}/u.test(ch) ? 2 : 1),
        0,
      );
    const at = (line: string, token: RegExp) => cols(line.slice(0, line.search(token)));
    const header = lines[0] ?? '';
    expect(lines).toHaveLength(names.length + 2); // the header, the keys, the config's key
    for (const line of lines.slice(1)) {
      // every cell after the name starts in its header's column
      expect(at(line, / (lsk_\S+|-) /) + 1).toBe(at(header, /PREFIX/));
      expect(at(line, / active /) + 1).toBe(at(header, /STATUS/));
      expect(at(line, / (store|config)$/) + 1).toBe(at(header, /SOURCE/));
    }
    expect(lines.find((x) => x.includes('"team bot"'))).toBeDefined();
    expect(lines.find((x) => x.includes('"deploy 🔑 prod"'))).toBeDefined();
    expect(lines.find((x) => x.includes(' 数据团队 '))).toBeDefined(); // one token already: not quoted
    // --json is unchanged: the names as they are
    const j = io();
    await keysList({ config, json: true }, j.io);
    // (every key here has the same created_at, so their order among themselves is their random ids')
    expect((JSON.parse(j.out.join('')) as { name: string }[]).map((v) => v.name).sort()).toEqual(
      [...names, 'legacy'].sort(),
    );
  });

  it('revokes by name or id; revoked keys leave the list unless --all', async () => {
    const c = io();
    await keysCreate('ci', { config, json: true }, c.io);
    const created = JSON.parse(c.out.join('')) as { id: string; key: string; prefix: string };
    expect(created.key.startsWith(created.prefix)).toBe(true);
    const r = io();
    expect(await keysRevoke('ci', { config }, r.io)).toBe(0);
    expect(r.out.join('')).toMatch(/revoked key ci \(key_\w+\).*within a second/);
    const again = io();
    await keysRevoke(created.id, { config }, again.io);
    expect(again.out.join('')).toMatch(/already revoked at 2026-05-01T12:00:00.000Z/);
    const l = io();
    await keysList({ config }, l.io);
    expect(l.out.join('')).not.toContain(created.id);
    const all = io();
    await keysList({ config, all: true }, all.io);
    expect(all.out.join('')).toMatch(/ci\s+lsk_\S+\s+revoked/);
    // the name is free again
    expect(await keysCreate('ci', { config }, io().io)).toBe(0);
  });

  it('a name only revoked keys have: revoke says it already was, rotate why not, list how to see them', async () => {
    const only = join(dir, 'only-store.yaml');
    writeFileSync(only, `storage:\n  url: sqlite:${join(dir, 'only.db')}\n`);
    await keysCreate('ci', { config: only }, io().io);
    expect(await keysRevoke('ci', { config: only }, io().io)).toBe(0);
    const again = io();
    expect(await keysRevoke('ci', { config: only }, again.io)).toBe(0);
    expect(again.out.join('')).toMatch(/key ci \(key_\w+\).*already revoked at 2026-05-01T12:00:00.000Z/);
    const rot = io();
    await expect(keysRotate('ci', { config: only }, rot.io)).rejects.toThrow(/is revoked; create a new key/);
    const l = io();
    await keysList({ config: only }, l.io);
    expect(l.out.join('')).toContain('no keys but revoked ones (1): `llmscope keys list --all` shows them');
    const unknown = io();
    await expect(keysRevoke('nope', { config: only }, unknown.io)).rejects.toThrow(
      /no stored key has id or name "nope"/,
    );
  });

  it('rotates: a new key printed once for the same id', async () => {
    const c = io();
    await keysCreate('app', { config, json: true }, c.io);
    const first = JSON.parse(c.out.join('')) as { id: string; key: string };
    const r = io();
    expect(await keysRotate('app', { config }, r.io)).toBe(0);
    const second = r.out.join('').trim();
    expect(second).toMatch(/^lsk_/);
    expect(second).not.toBe(first.key);
    expect(r.err.join('')).toContain(`app (${first.id})`);
    const db = new Database(join(dir, 'data.db'), { readonly: true });
    const row = db.prepare('SELECT hash, rotated_at FROM api_keys WHERE id = ?').get(first.id) as {
      hash: string;
      rotated_at: number;
    };
    db.close();
    expect(row).toEqual({ hash: hashKey(second), rotated_at: T });
    // both actions are in the audit log, by cli, never with the key
    const audit = new Database(join(dir, 'data.db'), { readonly: true });
    const entries = audit.prepare('SELECT * FROM audit_log ORDER BY id').all() as Record<string, unknown>[];
    audit.close();
    expect(entries.map((e) => [e.action, e.actor, e.target])).toEqual([
      ['key.create', 'cli', `key:${first.id}`],
      ['key.rotate', 'cli', `key:${first.id}`],
    ]);
    expect(JSON.stringify(entries)).not.toContain(second);
  });

  it('says what is wrong: a taken name, a bad limit, an unknown key, a config key', async () => {
    await keysCreate('dup', { config }, io().io);
    await expect(keysCreate('dup', { config }, io().io)).rejects.toThrow(/a key named "dup" already exists/);
    await expect(keysCreate('x', { config, rpm: '1.5' }, io().io)).rejects.toThrow(
      /--rpm takes a positive whole number/,
    );
    await expect(keysCreate('x', { config, trustHeaders: 'user,bogus' }, io().io)).rejects.toThrow(
      /invalid --trust-headers: /,
    );
    // a bad expiry names the flag and the forms it takes, never the API's field name
    const soon = keysCreate('y', { config, expiresIn: 'soon' }, io().io);
    await expect(soon).rejects.toThrow(/--expires-in takes a duration, .*30s, 10m, 2h, 7d.*; got "soon"/);
    await expect(soon).rejects.not.toThrow(/expires_in/);
    await expect(keysCreate('y', { config, expiresAt: 'tomorrow' }, io().io)).rejects.toThrow(
      /--expires-at takes an ISO 8601 time .*2026-12-31T23:59:59Z.*; got "tomorrow"/,
    );
    await expect(
      keysCreate('y', { config, expiresIn: '1d', expiresAt: '2027-01-01T00:00:00Z' }, io().io),
    ).rejects.toThrow(/give --expires-in or --expires-at, not both/);
    await expect(keysCreate('y', { config, expiresAt: '2020-01-01T00:00:00Z' }, io().io)).rejects.toThrow(
      /^--expires-at: the key would expire before it is created/,
    );
    await expect(keysRevoke('nope', { config }, io().io)).rejects.toThrow(/no stored key has id or name "nope"/);
    await expect(keysRevoke('legacy', { config }, io().io)).rejects.toThrow(/defined in the config file/);
  });
});

describe('llmscope keys where no store is', () => {
  it('list, revoke and rotate create nothing and say where they looked; create makes the store', async () => {
    const none = mkdtempSync(join(tmpdir(), 'llmscope-keys-none-'));
    const bare = join(none, 'bare.yaml');
    writeFileSync(bare, `storage:\n  url: sqlite:${join(none, 'llmscope-data', 'llmscope.db')}\n`);
    const where = join(none, 'llmscope-data', 'llmscope.db');
    const noStore = new RegExp(`no llmscope data at ${where.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*--config FILE`);
    await expect(keysList({ config: bare }, io().io)).rejects.toThrow(noStore);
    await expect(keysRevoke('ci', { config: bare }, io().io)).rejects.toThrow(noStore);
    await expect(keysRotate('ci', { config: bare }, io().io)).rejects.toThrow(noStore);
    expect(existsSync(join(none, 'llmscope-data'))).toBe(false);

    // config keys are still listed, with the missing store said on stderr and a failing exit code
    const l = io();
    expect(await keysList({ config }, l.io)).toBe(1);
    expect(l.err.join('')).toMatch(/no llmscope data at .*data\.db.*\nonly the keys in the config file are listed/);
    expect(l.out.join('')).toMatch(/legacy\s+legacy\s+-\s+active/);
    expect(existsSync(join(dir, 'data.db'))).toBe(false);

    expect(await keysCreate('ci', { config: bare }, io().io)).toBe(0);
    expect(existsSync(where)).toBe(true);
    expect(await keysRevoke('ci', { config: bare }, io().io)).toBe(0);
  });
});
