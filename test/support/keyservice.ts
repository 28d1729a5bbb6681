/**
 * Starts the real key service on an ephemeral loopback port with a fresh
 * store, bootstrapped with one organization: a lowdb file in a temp dir, or,
 * with KEYWARD_TEST_STORE=postgres (the `postgres` vitest project), a fresh
 * database on the run's PostgreSQL server.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { KeywardApiError, KeywardClient } from '../../src/client/index.ts';
import type { KeyRecord } from '../../src/core/model.ts';
import { resolveConfig, type ServerConfigInput } from '../../src/server/config.ts';
import { createLogger } from '../../src/server/logger.ts';
import { startServer, type Bootstrapped, type RunningServer } from '../../src/server/server.ts';
import { inject } from 'vitest';
import { createDatabase, dropDatabase, dumpDatabase } from './postgres.ts';

/** Which store the key-service suites run on (set per vitest project). */
export const TEST_STORE: 'lowdb' | 'postgres' = process.env.KEYWARD_TEST_STORE === 'postgres' ? 'postgres' : 'lowdb';

export interface TestStore {
  kind: 'lowdb' | 'postgres';
  /** The lowdb file (unused on PostgreSQL, where it never exists). */
  storeFile: string;
  /** Set on PostgreSQL: a fresh database of its own. */
  databaseUrl: string | undefined;
  /** For child processes (`keyward serve`, `keyward bootstrap`): KEYWARD_STORE, plus KEYWARD_DATABASE_URL on PostgreSQL. */
  env: Record<string, string>;
  /** For startServer: storeFile, and databaseUrl on PostgreSQL. */
  config: { storeFile: string; databaseUrl?: string };
  /**
   * Everything the store holds right now, as text, for "this request changed
   * nothing" checks: on lowdb the snapshot file and its journals (every commit
   * lands in the journal first, so db.json alone would not change), on
   * PostgreSQL a JSON dump of every row.
   */
  snapshot(): Promise<string>;
  /**
   * The records the store holds, shaped like the lowdb file ({organizations,
   * keys, roles, permissions, audit, usage}): on lowdb db.json, complete once
   * the service closed (closing folds the journal into it); on PostgreSQL
   * every row. For reading records; "changed nothing" checks use snapshot().
   */
  records(): Promise<{ keys: KeyRecord[] } & Record<string, unknown[]>>;
  /** Drops the database (PostgreSQL); the caller removes `dir`. */
  drop(): Promise<void>;
}

/** The lowdb file and its journals (the current one, and one a compaction retired), as text. */
function lowdbState(storeFile: string): string {
  return [storeFile, `${storeFile}.journal`, `${storeFile}.journal.old`]
    .map((file) => `${file}\n${existsSync(file) ? readFileSync(file, 'utf8') : '(none)'}`)
    .join('\n');
}

/** A fresh, empty store of the kind this run tests, with its lowdb file (if any) in `dir`. */
export async function freshTestStore(dir: string, name = 'db.json'): Promise<TestStore> {
  const storeFile = join(dir, name);
  if (TEST_STORE === 'lowdb') {
    return {
      kind: 'lowdb',
      storeFile,
      databaseUrl: undefined,
      env: { KEYWARD_STORE: storeFile },
      config: { storeFile },
      snapshot: async () => lowdbState(storeFile),
      records: async () => JSON.parse(readFileSync(storeFile, 'utf8')),
      drop: async () => {},
    };
  }
  const server = inject('postgresUrl');
  if (!server) throw new Error('KEYWARD_TEST_STORE=postgres needs the postgres vitest project (its globalSetup provides the server)');
  const databaseUrl = await createDatabase(server);
  return {
    kind: 'postgres',
    storeFile,
    databaseUrl,
    env: { KEYWARD_STORE: storeFile, KEYWARD_DATABASE_URL: databaseUrl },
    config: { storeFile, databaseUrl },
    snapshot: () => dumpDatabase(databaseUrl),
    records: async () => JSON.parse(await dumpDatabase(databaseUrl)),
    drop: () => dropDatabase(server, databaseUrl),
  };
}

export interface TestService {
  url: string;
  dir: string;
  storeFile: string;
  /** The store this service runs on. */
  store: TestStore;
  server: RunningServer;
  adminSecret: string;
  adminKeyId: string;
  /** The environment in which a `keyward` child process acts as this service's admin (KEYWARD_URL, KEYWARD_API_KEY). */
  adminEnv: Record<string, string>;
  organizationId: string;
  /** The first admin's one-time invitation link (with bootstrapInvitation: 'on'). */
  bootstrapInvitationLink: string | undefined;
  /** Every log line the server wrote (for "no secret in logs" checks). */
  logs: string[];
  client(secret?: string): KeywardClient;
  /** A second organization with its own admin key. */
  newOrganization(name: string): Promise<{ organizationId: string; secret: string; keyId: string }>;
  /**
   * Stops the service (its usage flushed, its store closed) and starts it
   * again on the same store, address and config, as a redeploy would
   * (`whileDown` runs in between); `server` is the new one from then on,
   * `url` and clients stay valid.
   */
  restart(whileDown?: () => Promise<unknown>): Promise<void>;
  stop(): Promise<void>;
}

/** A clock a test moves by hand (`advance`), instead of sleeping until keys age or expire. */
export class TestClock {
  #ms: number;
  constructor(start = Date.now()) {
    this.#ms = start;
  }
  now = (): Date => new Date(this.#ms);
  get ms(): number {
    return this.#ms;
  }
  advance(ms: number): void {
    this.#ms += ms;
  }
}

export async function startTestService(config: ServerConfigInput = {}, options: { clock?: TestClock } = {}): Promise<TestService> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-test-'));
  const store = await freshTestStore(dir);
  const storeFile = store.storeFile;
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  let bootstrapped: Bootstrapped | undefined;
  // No first-admin invitation unless a test asks (KEYWARD_BOOTSTRAP_INVITATION): suites count the bootstrap's audit events.
  const settings = { port: 0, host: '127.0.0.1', ...store.config, bootstrapOrganization: 'acme', logLevel: 'debug', bootstrapInvitation: 'off', ...config } satisfies ServerConfigInput;
  /** On `port` when given (a restart), else where the config says (a free one unless a test chose). */
  const start = (port?: number) =>
    startServer(resolveConfig({ ...settings, ...(port === undefined ? {} : { port }) }), {
      logger: createLogger('debug', sink),
      onBootstrap: (result) => (bootstrapped = result),
      ...(options.clock ? { clock: options.clock.now } : {}),
    });
  let server = await start();
  if (!bootstrapped) throw new Error('test store was not bootstrapped');
  const admin = bootstrapped;
  return {
    url: server.url,
    dir,
    storeFile,
    store,
    get server() {
      return server;
    },
    async restart(whileDown) {
      const { port } = server;
      await server.close();
      await whileDown?.();
      // The same port: clients and whoever was configured with `url` (an operator) reach the new process.
      server = await start(port);
    },
    adminSecret: admin.secret,
    adminKeyId: admin.keyId,
    adminEnv: { KEYWARD_URL: server.url, KEYWARD_API_KEY: admin.secret },
    organizationId: admin.organizationId,
    bootstrapInvitationLink: admin.invitationLink,
    logs,
    client: (secret = admin.secret) => new KeywardClient({ url: server.url, apiKey: secret }),
    newOrganization: (name) => server.service.bootstrapOrganization(name),
    async stop() {
      await server.close();
      await store.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Raw HTTP for cases the typed client would not send (bad headers, bad JSON). */
export async function raw(
  url: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const response = await fetch(url + path, { method: init.method ?? 'GET', headers: init.headers, body: init.body });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text, headers: response.headers };
}

/**
 * An HTTP request from a chosen loopback source address (127.0.0.2, ::1 …), so
 * tests can play several clients. Loopback only.
 */
export function requestFrom(
  localAddress: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: any; headers: Record<string, string | string[] | undefined> }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port,
        path: target.pathname + target.search,
        method: init.method ?? 'GET',
        headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
        localAddress,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = text;
          }
          resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The error a client call failed with (or a test failure if it succeeded). */
export async function failure(promise: Promise<unknown>): Promise<KeywardApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KeywardApiError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** The error code a client call failed with, or NO_ERROR. */
export async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KeywardApiError) return error.code;
    throw error;
  }
  return 'NO_ERROR';
}
