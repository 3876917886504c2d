// A scratch PostgreSQL cluster for the benchmarks, in a directory of its own that outlives the run (so seeded data is
// reused). The same approach as test/pg.ts (which bench/, plain JS on dist/, cannot import): Debian's binaries under
// /usr/lib/postgresql/<version>/bin, initdb/pg_ctl as the `postgres` OS user when we are root (the server refuses to
// run as root), trust auth, listening on a free loopback port only, the unix socket inside the directory.
// Unlike test/pg.ts the data is kept: `stop()` is a clean (fast) shutdown, and the directory stays until `remove`.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';

/** The newest installed PostgreSQL's bin directory (Debian: /usr/lib/postgresql/<version>/bin), or null. */
export function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** The command line running a PostgreSQL binary, as the `postgres` user when we are root. */
const asPostgres = (bin, args) => (isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args]);

function runPg(bin, args, timeout = 120_000) {
  const [cmd, argv] = asPostgres(bin, args);
  execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts (initialising it first if needed) the cluster in `dir` (data in `dir/data`, log in `dir/server.log`) and
 * makes sure `database` exists. `settings`: extra `-c name=value` server settings. A server left running by an
 * earlier run that was killed is stopped first. Returns { url, adminUrl, port, dir, created, stop(), stopSync() }:
 * stop it (it is also stopped when the process exits, and on SIGINT/SIGTERM).
 */
export async function startCluster({ dir, database = 'llmscope_bench', settings = {}, log = () => {} }) {
  const bin = postgresBinDir();
  if (!bin)
    throw new Error(
      'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); run scripts/system-deps.sh or apt-get install postgresql',
    );
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  mkdirSync(dir, { recursive: true });
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const pgCtl = join(bin, 'pg_ctl');
  const ctlSync = (args) => {
    const [cmd, argv] = asPostgres(pgCtl, args);
    return spawnSync(cmd, argv, { stdio: 'ignore', timeout: 120_000 }).status;
  };
  // a server of an earlier run that died without stopping it
  if (existsSync(join(data, 'postmaster.pid'))) ctlSync(['-D', data, '-m', 'fast', '-w', 'stop']);
  let created = false;
  if (!existsSync(join(data, 'PG_VERSION'))) {
    rmSync(data, { recursive: true, force: true });
    log(`initdb ${data}`);
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
    created = true;
  }
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    if (existsSync(join(data, 'postmaster.pid'))) ctlSync(['-D', data, '-m', 'fast', '-w', 'stop']);
  };
  const onSignal = (sig) => {
    stopSync();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', stopSync);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const unhook = () => {
    process.removeListener('exit', stopSync);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
  try {
    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      const opts = [
        `-p ${port}`,
        `-k ${dir}`,
        "-c listen_addresses='127.0.0.1'",
        ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`),
      ].join(' ');
      try {
        runPg(pgCtl, ['-D', data, '-o', opts, '-l', logFile, '-w', '-t', '120', 'start'], 180_000);
        break;
      } catch (err) {
        // another process took the port between our probe and the server's bind: try another
        if (attempt >= 3)
          throw new Error(
            `PostgreSQL did not start: ${err.message}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : ''}`,
          );
      }
    }
    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (!rowCount) await admin.query(`CREATE DATABASE ${database}`);
    } finally {
      await admin.end();
    }
    return {
      url: `postgres://postgres@127.0.0.1:${port}/${database}`,
      adminUrl,
      port,
      dir,
      created,
      /** Clean shutdown (the data stays for the next run). */
      async stop() {
        unhook();
        stopSync();
      },
      stopSync,
    };
  } catch (err) {
    unhook();
    stopSync();
    throw err;
  }
}

/** Drops and re-creates `database` on the server at `adminUrl` (for --reseed). */
export async function recreateDatabase(adminUrl, database) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
}
