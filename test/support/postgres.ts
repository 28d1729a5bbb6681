/**
 * A throwaway PostgreSQL cluster for tests: `initdb` into a temp dir and
 * `pg_ctl start` on a free loopback port, using the machine's PostgreSQL
 * binaries (PostgreSQL 15 in /usr/lib/postgresql/15/bin, or PATH, or
 * KEYWARD_PG_BIN). initdb refuses to run as root, so as root the cluster runs
 * as the `postgres` OS user. A watchdog stops the cluster if the process that
 * started it dies without stopping it.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const exec = promisify(execFile);

export interface PostgresCluster {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  dir: string;
  /** pg_ctl restart (mode "fast" or "immediate": the latter is a crash, recovered from the WAL). */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  startServer(): Promise<void>;
  stop(): Promise<void>;
}

function binDir(): string {
  if (process.env.KEYWARD_PG_BIN) return process.env.KEYWARD_PG_BIN;
  for (const version of ['15', '16', '17', '14']) {
    const dir = `/usr/lib/postgresql/${version}/bin`;
    if (existsSync(join(dir, 'initdb'))) return dir;
  }
  return ''; // PATH
}

const bin = (name: string): string => (binDir() ? join(binDir(), name) : name);
const asRoot = userInfo().uid === 0;

/** Runs a PostgreSQL binary, as the `postgres` user when we are root. */
async function pgExec(name: string, args: string[]): Promise<string> {
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin(name), ...args]] : [bin(name), args];
  try {
    const { stdout } = await exec(file, argv, { timeout: 120_000 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${name} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as { port: number };
  await new Promise((closed) => server.close(closed));
  return port;
}

export async function startPostgresCluster(options: { settings?: Record<string, string> } = {}): Promise<PostgresCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  if (asRoot) chownSync(dir, Number((await exec('id', ['-u', 'postgres'])).stdout.trim()), Number((await exec('id', ['-g', 'postgres'])).stdout.trim()));
  await pgExec('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freeLoopbackPort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    max_connections: '400',
    shared_buffers: '128MB',
    // A throwaway cluster: no fsync (a machine crash loses it anyway); commits still wait for the WAL write,
    // so a killed server loses no acknowledged transaction.
    fsync: 'off',
    full_page_writes: 'off',
    synchronous_commit: 'on',
    ...options.settings,
  };
  const serverOptions = Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
  const startServer = async () => {
    await pgExec('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', serverOptions, 'start']);
  };
  const stopServer = async (mode: 'fast' | 'immediate' = 'fast') => {
    await pgExec('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
  };
  try {
    await startServer();
  } catch (error) {
    const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}\n${tail}`);
  }
  // If this process dies without stopping the cluster, the watchdog does.
  const stopCommand = `${asRoot ? 'runuser -u postgres -- ' : ''}${bin('pg_ctl')} -D ${data} -m immediate stop; rm -rf ${dir}`;
  const watchdog = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null && [ -d ${data} ]; do sleep 2; done; [ -d ${data} ] && (${stopCommand}) >/dev/null 2>&1`], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    startServer,
    stopServer,
    async restart(mode = 'fast') {
      await stopServer(mode);
      await startServer();
    },
    async stop() {
      await stopServer('immediate').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      try {
        process.kill(watchdog.pid!);
      } catch {
        // already gone
      }
    },
  };
}

/** The same server with another database name. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** CREATE DATABASE keyward_<random> on the server; returns its URL. */
export async function createDatabase(serverUrl: string, prefix = 'keyward'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return databaseUrl(serverUrl, name);
}

/** DROP DATABASE … WITH (FORCE): ends the connections a test left behind. */
export async function dropDatabase(serverUrl: string, databaseUrlToDrop: string): Promise<void> {
  const name = new URL(databaseUrlToDrop).pathname.slice(1);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Everything the database holds, as one JSON text shaped like a lowdb store
 * file ({organizations, keys, roles, permissions, audit, usage}), every column
 * of every row: what "the store" contains, for tests that search it.
 */
export async function dumpDatabase(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rowsOf = async (sql: string) => (await client.query(sql)).rows as Record<string, unknown>[];
    const camel = (row: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(row).map(([name, value]) => [name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), value instanceof Date ? value.toISOString() : value]));
    const data = {
      organizations: (await rowsOf('SELECT * FROM organizations ORDER BY seq')).map(camel),
      keys: (await rowsOf('SELECT * FROM keys ORDER BY created_at, id')).map(camel),
      roles: (await rowsOf('SELECT * FROM custom_roles ORDER BY seq')).map(camel),
      permissions: (await rowsOf('SELECT * FROM custom_permissions ORDER BY seq')).map(camel),
      audit: (await rowsOf('SELECT * FROM audit_events ORDER BY id')).map(camel),
      usage: (await rowsOf('SELECT organization_id, key_id, day::text AS day, outcome, count FROM usage_counts ORDER BY key_id, day, outcome')).map(camel),
      members: (await rowsOf('SELECT * FROM members ORDER BY created_at, id')).map(camel),
      invitations: (await rowsOf('SELECT * FROM invitations ORDER BY created_at, id')).map(camel),
      sessions: (await rowsOf('SELECT * FROM sessions ORDER BY created_at, id')).map(camel),
      passkeys: (await rowsOf('SELECT * FROM passkeys ORDER BY created_at, id')).map(camel),
      ceremonies: (await rowsOf('SELECT * FROM ceremonies ORDER BY id_hash')).map(camel),
      incidents: (await rowsOf('SELECT record FROM incidents ORDER BY id')).map((row) => row.record),
    };
    return JSON.stringify(data, null, 2);
  } finally {
    await client.end();
  }
}

/** Records the text of every query `pool` runs that `match` accepts (the store's own pool: what it read and wrote), until stop(). */
export function recordQueries(pool: pg.Pool, match: (text: string) => boolean = () => true): { queries: string[]; stop(): void } {
  const queries: string[] = [];
  const query = pool.query;
  pool.query = ((text: unknown, ...rest: unknown[]) => {
    if (typeof text === 'string' && match(text)) queries.push(text);
    return (query as (...args: unknown[]) => unknown).call(pool, text, ...rest);
  }) as typeof pool.query;
  return { queries, stop: () => void (pool.query = query) };
}
