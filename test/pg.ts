// A real PostgreSQL for tests: initdb into a temp dir, a free loopback port, the unix socket inside the temp dir,
// started with pg_ctl (as the `postgres` OS user when we are root: the server refuses to run as root), one database
// to work in. Start one per test file (beforeAll) and `stop()` it in afterAll; an exit hook stops it too, and a
// server whose test process was killed outright is stopped by the next start (owner.pid in its directory).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/llmscope_test`. */
  readonly url: string;
  readonly port: number;
  /** The directory holding the unix socket (`host=` for a socket connection). */
  readonly socketDir: string;
  /** Runs SQL as the superuser on the test database. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** A URL on a fresh, empty schema of the test database (search_path set to it), for one isolated store. */
  freshSchemaUrl(): Promise<string>;
  /** A URL on a fresh, empty database. */
  freshDatabaseUrl(): Promise<string>;
  /** Stops the server (fast shutdown: clients are disconnected), keeping its data, to start it again with `resume`. */
  pause(): Promise<void>;
  /** Starts a paused server again, on the same port. */
  resume(): Promise<void>;
  /** Stops the server (immediate shutdown) and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

/** The newest installed PostgreSQL's bin directory (Debian: /usr/lib/postgresql/<version>/bin), or null. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Stops and removes servers whose test process died without stopping them (killed by a signal, say). */
function reapOrphans(bin: string): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('llmscope-pg-')) continue;
    const dir = join(tmpdir(), name);
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // still being set up, or not ours
    }
    if (!Number.isInteger(owner) || alive(owner)) continue;
    const data = join(dir, 'data');
    if (existsSync(join(data, 'postmaster.pid')))
      spawnSync(
        isRoot() ? 'runuser' : join(bin, 'pg_ctl'),
        [...(isRoot() ? ['-u', 'postgres', '--', join(bin, 'pg_ctl')] : []), '-D', data, '-m', 'immediate', 'stop'],
        { stdio: 'ignore', timeout: 30_000 },
      );
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a PostgreSQL binary, as the `postgres` user when we are root. */
function runPg(bin: string, args: string[]): void {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

/** runPg without blocking the event loop (servers under test in this process keep serving meanwhile). */
function runPgAsync(bin: string, args: string[]): Promise<void> {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return new Promise((resolve, reject) =>
    execFile(cmd, argv, { timeout: 60_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`${bin} ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(),
    ),
  );
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin)
    throw new Error(
      'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); run scripts/system-deps.sh or apt-get install postgresql',
    );
  reapOrphans(bin);
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-pg-'));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    const args = ['-D', data, '-m', 'immediate', '-w', 'stop'];
    if (existsSync(join(data, 'postmaster.pid')))
      spawnSync(
        isRoot() ? 'runuser' : join(bin, 'pg_ctl'),
        isRoot() ? ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...args] : args,
        {
          stdio: 'ignore',
          timeout: 30_000,
        },
      );
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);
  try {
    // trust on loopback and the socket only: the server listens on nothing else
    runPg(join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
    ]);
    let port = 0;
    let opts = '';
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      opts = [
        `-p ${port}`,
        `-k ${dir}`,
        "-c listen_addresses='127.0.0.1'",
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=200',
      ].join(' ');
      try {
        runPg(join(bin, 'pg_ctl'), ['-D', data, '-o', opts, '-l', log, '-w', '-t', '30', 'start']);
        break;
      } catch (err) {
        // another process took the port between our probe and the server's bind: try another
        if (attempt >= 3)
          throw new Error(
            `PostgreSQL did not start: ${(err as Error).message}\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`,
          );
      }
    }
    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query('CREATE DATABASE llmscope_test');
    await admin.end();
    const url = `postgres://postgres@127.0.0.1:${port}/llmscope_test`;
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on('error', () => {}); // a connection killed by a test is not a test failure
    let schemas = 0;
    let databases = 0;
    return {
      url,
      port,
      socketDir: dir,
      query: (sql, params) => pool.query(sql, params),
      pause: () => runPgAsync(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']),
      resume: () => runPgAsync(join(bin, 'pg_ctl'), ['-D', data, '-o', opts, '-l', log, '-w', '-t', '30', 'start']),
      async freshSchemaUrl() {
        const name = `t${++schemas}_${process.pid}`;
        await pool.query(`CREATE SCHEMA ${name}`);
        return `${url}?options=${encodeURIComponent(`-c search_path=${name}`)}`;
      },
      async freshDatabaseUrl() {
        const name = `llmscope_test_${++databases}`;
        await pool.query(`CREATE DATABASE ${name}`);
        return `postgres://postgres@127.0.0.1:${port}/${name}`;
      },
      async stop() {
        await pool.end().catch(() => {});
        process.removeListener('exit', stopSync);
        stopSync();
      },
    };
  } catch (err) {
    process.removeListener('exit', stopSync);
    stopSync();
    throw err;
  }
}
