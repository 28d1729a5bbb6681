/**
 * The PostgreSQL store: many key-service replicas on one database.
 *
 * Every mutation is one transaction that takes the row locks its invariant
 * needs (the organization row for the plan limit, the key row for edits,
 * revocation and rotation), writes its audit event, and NOTIFYs the other
 * replicas, all committed together. Constraints in the schema (unique secret
 * hash, unique idempotency key per organization, rotation links inside one
 * organization) back up what the code checks.
 *
 * Authentication and verification read from each replica's KeyCache (keys,
 * organizations, custom roles: `reads`). A dedicated LISTEN connection
 * (reconnecting by itself) drops entries other replicas changed; a poll every
 * `refreshMs` re-reads rows changed since the last poll, in case a
 * notification was lost; re-establishing the LISTEN connection empties the
 * cache. Until then the cache keeps serving, so keys already seen keep
 * verifying while PostgreSQL is down.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import pRetry, { AbortError } from 'p-retry';
import { mergeAddressUses } from '../../core/address-uses.ts';
import { KeywardError } from '../../core/errors.ts';
import {
  isKeyFeedAction,
  MAX_ADDRESS_ROWS_PER_KEY_DAY,
  OPERATOR_METADATA,
  type AddressUse,
  type AuditEvent,
  type CustomPermission,
  type CustomRole,
  type Incident,
  type KeyRecord,
  type Organization,
  type UsageCount,
} from '../../core/model.ts';
import { ALL_GRANTING_ROLE_IDS, builtinRole } from '../../core/permissions.ts';
import { MAX_RECENT_CLIENTS } from '../../core/retirement.ts';
import * as rules from '../rules.ts';
import {
  applyPatch,
  changesOf,
  type Audit,
  type AuditFilter,
  type EndRetirementInput,
  type CompromiseInput,
  type IncidentFilter,
  type IncidentUpdate,
  type InsertKeyOptions,
  type KeyEvent,
  type KeyEventFilter,
  type KeyFilter,
  type KeyPage,
  type KeyPatch,
  type AuthReads,
  type OrganizationPatch,
  type RolePatch,
  type RotateKeyInput,
  type Store,
  type UsageFilter,
  type UsageUpdate,
} from '../store.ts';
import { KeyCache, roleKey } from './key-cache.ts';
import { PostgresPeople } from './people.ts';
import { invitationRoleInUse, memberRoleInUse } from '../people-rules.ts';
import { migrate } from './migrate.ts';
import {
  ADDRESS_USE_COLUMNS,
  addressUseFromRow,
  AUDIT_COLUMNS,
  INSERT_AUDIT,
  INSERT_KEY,
  INSERT_KEY_AUDIT,
  KEY_COLUMNS,
  ORGANIZATION_COLUMNS,
  ROLE_COLUMNS,
  auditFromRow,
  auditParams,
  keyFromRow,
  keyParams,
  organizationFromRow,
  organizationParams,
  permissionFromRow,
  roleFromRow,
  roleParams,
  usageFromRow,
  type AddressUseRow,
  type AuditRow,
  type KeyRow,
  type OrganizationRow,
  type PermissionRow,
  type RoleRow,
  type UsageRow,
} from './rows.ts';

const UPSERT_INCIDENT = `INSERT INTO incidents (id, organization_id, key_id, state, dedupe_key, record) VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, record = EXCLUDED.record`;
const incidentParams = (incident: Incident): unknown[] => [
  incident.id,
  incident.organizationId,
  incident.keyId,
  incident.state,
  incident.dedupeKey,
  JSON.stringify(incident),
];

/** The channel replicas tell each other about changed keys and organizations on. */
export const CHANGES_CHANNEL = 'keyward_changes';

export interface PostgresStoreOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How often rows changed since the last poll are re-read into the cache (default 1000 ms). */
  refreshMs?: number;
  /** Most keys (and as many organizations and custom roles) kept in memory (default 200,000). */
  cacheSize?: number;
  /** Apply pending migrations when opening (default true). */
  migrate?: boolean;
  /** Reported as application_name to PostgreSQL. */
  applicationName?: string;
  /** Called with errors of background work (LISTEN connection, cache refresh). */
  onBackgroundError?: (error: Error, what: string) => void;
}

/** What a transaction changed, for the notice it sends (see ChangeNotice). */
interface Changed {
  k: string[];
  n: string[];
  o: string[];
  r: [string, string][];
}

interface ChangeNotice {
  /** The replica that made the change. */
  s: string;
  /** Keys whose state changed: cached copies are stale. */
  k?: string[];
  /** Keys just created: nobody can hold a stale copy (nothing negative is cached); told for completeness. */
  n?: string[];
  /** Organizations whose settings changed. */
  o?: string[];
  /** Custom roles edited or deleted, as [organizationId, roleId] (a role just created, like a key, cannot be held stale). */
  r?: [string, string][];
  /** The change feed moved: followers waiting on this replica look again. */
  f?: 1;
}

/** SQLSTATEs and errno codes that mean the database is unreachable, not that the request was wrong. */
const UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300']);
const RETRYABLE = new Set(['40001', '40P01']);

function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code;
  if (code !== undefined && UNAVAILABLE.has(code)) return true;
  // pg-pool's own refusal once the store is closing ("Cannot use a pool after calling end on the pool") is the same to a caller.
  return /Connection terminated|connection timeout|Client has encountered a connection error|Connection ended|not queryable|Cannot use a pool after calling end/i.test(error.message);
}

/**
 * Driver errors that mean the database is unreachable become SERVICE_UNAVAILABLE;
 * the rest pass as they are. Refusals come from rules.ts, checked under the row
 * locks each operation takes; the schema's constraints only back them up (the
 * one a race can reach, idempotency without a plan limit, is answered by insertKey).
 */
function mapError(error: unknown): unknown {
  if (error instanceof KeywardError) return error;
  if (isUnavailable(error)) {
    return new KeywardError('SERVICE_UNAVAILABLE', 'The database is not reachable right now; retry shortly.', { details: { cause: (error as Error).message } });
  }
  return error;
}

const isRetryable = (error: unknown): boolean => RETRYABLE.has((error as { code?: string }).code ?? '');
const violates = (error: unknown, constraint: string): boolean =>
  (error as { code?: string; constraint?: string }).code === '23505' && (error as { constraint?: string }).constraint === constraint;

const ROLE_BY_ID = `SELECT ${ROLE_COLUMNS} FROM custom_roles WHERE organization_id = $1 AND id = $2`;

/** Keys that count against the plan, as rules.ts countsAgainstLimit says: working, except the one overlap of a successor that works and was not rotated. */
const ACTIVE_COUNT_SQL = `SELECT count(*)::int AS n FROM keys k
  WHERE k.organization_id = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)
    AND NOT (k.rotated_to_id IS NOT NULL AND EXISTS (
      SELECT 1 FROM keys s WHERE s.id = k.rotated_to_id AND s.rotated_to_id IS NULL AND s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > $2)))`;

export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly pool: pg.Pool;
  readonly cache: KeyCache;
  readonly people: PostgresPeople;
  /** Reads by secret hash in flight, with the cache epoch they started at (see #readKeyByHash). */
  readonly #keyReads = new Map<string, { epoch: number; read: Promise<KeyRecord | undefined> }>();
  /** From the cache when it has the record (kept current by LISTEN/NOTIFY and the refresh), else from the database. */
  readonly reads: AuthReads = {
    keyByHash: (secretHash) => this.cache.keyByHash(secretHash) ?? this.#sharedKeyRead(secretHash),
    organization: (id) => this.cache.organization(id) ?? this.#readOrganization(id),
    customRole: (organizationId, roleId) => this.cache.role(organizationId, roleId) ?? this.#readRole(organizationId, roleId),
  };
  readonly #url: string;
  readonly #instance = randomUUID();
  /** Transactions under way that wrote a change-feed entry (their commit wakes the followers). */
  readonly #feedWriters = new Set<pg.PoolClient>();
  readonly #feedListeners = new Set<() => void>();
  readonly #options: Required<Omit<PostgresStoreOptions, 'onBackgroundError'>> & Pick<PostgresStoreOptions, 'onBackgroundError'>;
  #observe: ((mutations: number, ms: number) => void) | undefined;
  #listener: pg.Client | undefined;
  /** The reconnection in progress, if any. */
  #reconnecting: Promise<void> | undefined;
  /** Aborted by close(): stops a reconnection waiting for its next attempt. */
  readonly #closing = new AbortController();
  #refreshTimer: NodeJS.Timeout | undefined;
  #refreshing = false;
  /** Database time; rows changed after it are re-read by the next refresh. */
  #watermark: string | undefined;
  #closed = false;
  /** Times the LISTEN connection was (re)established; for tests and metrics. */
  listenConnects = 0;

  private constructor(url: string, options: PostgresStoreOptions) {
    this.#url = url;
    this.#options = {
      poolSize: options.poolSize ?? 10,
      refreshMs: options.refreshMs ?? 1000,
      cacheSize: options.cacheSize ?? 200_000,
      migrate: options.migrate ?? true,
      applicationName: options.applicationName ?? 'keyward',
      onBackgroundError: options.onBackgroundError,
    };
    this.cache = new KeyCache(this.#options.cacheSize);
    this.people = new PostgresPeople({ transaction: (work) => this.#transaction((client) => work(client)), query: (text, params) => this.#query(text, params) });
    this.pool = new pg.Pool({
      connectionString: url,
      max: this.#options.poolSize,
      application_name: this.#options.applicationName,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle connection dropped by the server (restart, failover) must not crash the process.
    this.pool.on('error', (error) => this.#background(error, 'idle pool connection'));
  }

  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const store = new PostgresStore(url, options);
    try {
      if (store.#options.migrate) {
        const client = await store.pool.connect();
        let broken: Error | undefined;
        const onError = (error: Error) => (broken = error);
        client.on('error', onError);
        try {
          await migrate(client);
        } finally {
          client.off('error', onError);
          client.release(broken);
        }
      } else {
        await store.pool.query('SELECT 1 FROM schema_migrations LIMIT 1');
      }
      store.#watermark = await store.#dbNow();
      await store.#connectListener();
      store.#refreshTimer = setInterval(() => void store.#refresh(), store.#options.refreshMs);
      store.#refreshTimer.unref();
      return store;
    } catch (error) {
      await store.close().catch(() => {});
      throw error;
    }
  }

  #background(error: Error, what: string): void {
    this.#options.onBackgroundError?.(error, what);
  }

  observeWrites(callback: (mutations: number, ms: number) => void): void {
    this.#observe = callback;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#refreshTimer);
    this.#closing.abort();
    await this.#reconnecting;
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => {});
    await this.pool.end();
  }

  // ---- cache invalidation across replicas ----

  /** Connects the LISTEN connection (at open: a failure fails the open) and empties the cache once it listens. */
  async #connectListener(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url, application_name: `${this.#options.applicationName} listener`, connectionTimeoutMillis: 5_000, keepAlive: true });
    client.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL && message.payload) this.#onNotice(message.payload);
    });
    const lost = (error?: Error) => {
      if (error) this.#background(error, 'LISTEN connection');
      if (this.#listener !== client) return;
      this.#listener = undefined;
      // The cache keeps serving (with PostgreSQL down, keys already seen keep verifying); while the database is up,
      // the periodic refresh bounds what a missed notice can leave stale, and reconnecting empties the cache.
      this.#reconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw error;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#listener = client;
    this.listenConnects++;
    // Whatever changed while nobody listened is re-read from the database.
    this.cache.clear();
  }

  /** Reconnects in the background, backing off from 100 ms to 1 s between attempts, until it listens again or the store closes. */
  #reconnect(): void {
    if (this.#closed || this.#reconnecting) return;
    this.#reconnecting = pRetry(() => this.#connectListener(), {
      retries: Infinity,
      minTimeout: 100,
      maxTimeout: 1_000,
      factor: 2,
      unref: true,
      signal: this.#closing.signal,
      onFailedAttempt: ({ error }) => this.#background(error, 'LISTEN connection'),
    })
      .catch(() => {}) // only a close stops it
      .finally(() => {
        this.#reconnecting = undefined;
      });
  }

  #onNotice(payload: string): void {
    let notice: ChangeNotice;
    try {
      notice = JSON.parse(payload) as ChangeNotice;
    } catch {
      this.cache.clear();
      return;
    }
    if (notice.f) this.#wakeFeed();
    if (notice.s === this.#instance) return; // this replica already holds what it committed
    if (notice.k?.length) this.cache.invalidateKeys(notice.k);
    if (notice.o?.length) this.cache.invalidateOrganizations(notice.o);
    if (notice.r?.length) this.cache.invalidateRoles(notice.r.map(([organizationId, roleId]) => roleKey(organizationId, roleId)));
  }

  /** Bounded staleness: re-reads rows changed since the last refresh (with a margin for transactions that committed late). */
  async #refresh(): Promise<void> {
    if (this.#refreshing || this.#closed || this.#watermark === undefined) return;
    this.#refreshing = true;
    try {
      const epoch = this.cache.epoch;
      const next = await this.#dbNow();
      const since = this.#watermark;
      // A deleted role is not seen here, and need not be: no key that is not revoked holds it (ROLE_IN_USE), and one created again under its id is.
      const [keys, orgs, roles] = await Promise.all([
        this.pool.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM keys WHERE changed_at > $1`, [since]),
        this.pool.query<OrganizationRow>(`SELECT ${ORGANIZATION_COLUMNS} FROM organizations WHERE changed_at > $1`, [since]),
        this.pool.query<RoleRow>(`SELECT ${ROLE_COLUMNS} FROM custom_roles WHERE changed_at > $1`, [since]),
      ]);
      const rows = { keys: keys.rows.map(keyFromRow), orgs: orgs.rows.map(organizationFromRow), roles: roles.rows.map(roleFromRow) };
      if (this.cache.refresh(rows, epoch)) this.#watermark = next;
    } catch (error) {
      this.#background(error as Error, 'cache refresh');
    } finally {
      this.#refreshing = false;
    }
  }

  /** Database time minus a margin longer than any of our transactions. */
  async #dbNow(): Promise<string> {
    const { rows } = await this.pool.query<{ t: Date }>("SELECT clock_timestamp() - interval '5 seconds' AS t");
    return rows[0]!.t.toISOString();
  }

  // ---- plumbing ----

  async #query<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, params);
    } catch (error) {
      throw mapError(error);
    }
  }

  /**
   * Runs `work` in one transaction and tells the other replicas which keys,
   * organizations and roles it changed (NOTIFY is delivered only if the
   * transaction commits). Deadlocks and serialization failures are retried
   * (p-retry: up to 4 more attempts, a few jittered milliseconds apart).
   */
  async #transaction<T>(work: (client: pg.PoolClient, changed: Changed) => Promise<T>, mutations = 1): Promise<T> {
    if (this.#closed) throw rules.storeClosed();
    try {
      return await pRetry(() => this.#attempt(work, mutations), { retries: 4, minTimeout: 5, maxTimeout: 100, randomize: true, shouldRetry: ({ error }) => isRetryable(error) });
    } catch (error) {
      throw mapError(error);
    }
  }

  async #attempt<T>(work: (client: pg.PoolClient, changed: Changed) => Promise<T>, mutations: number): Promise<T> {
    const started = performance.now();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new AbortError(mapError(error) as Error);
    }
    let broken: Error | undefined;
    // A checked-out client has no listener of the pool's: a connection lost mid-transaction would crash the process.
    const onError = (error: Error) => (broken = error);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const changed: Changed = { k: [], n: [], o: [], r: [] };
      const result = await work(client, changed);
      const feedMoved = this.#feedWriters.delete(client);
      const notice: ChangeNotice = { s: this.#instance };
      if (changed.k.length > 0) notice.k = changed.k;
      if (changed.n.length > 0) notice.n = changed.n;
      if (changed.o.length > 0) notice.o = changed.o;
      if (changed.r.length > 0) notice.r = changed.r;
      if (feedMoved) notice.f = 1;
      if (Object.keys(notice).length > 1) await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify(notice)]);
      await client.query('COMMIT');
      if (feedMoved) this.#wakeFeed();
      this.#observe?.(mutations, performance.now() - started);
      return result;
    } catch (error) {
      this.#feedWriters.delete(client);
      if (isUnavailable(error)) broken = error as Error;
      else await client.query('ROLLBACK').catch((e: unknown) => (broken = e as Error));
      // Retried only on a connection that is still sound.
      if (!broken && isRetryable(error)) throw error;
      throw new AbortError(mapError(error) as Error);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  async #lockOrganization(client: pg.PoolClient, organizationId: string): Promise<void> {
    const { rowCount } = await client.query('SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE', [organizationId]);
    if (rowCount === 0) throw rules.organizationNotFound(organizationId);
  }

  async #lockKey(client: pg.PoolClient, organizationId: string, keyId: string): Promise<KeyRecord> {
    const { rows } = await client.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM keys WHERE id = $1 AND organization_id = $2 FOR UPDATE`, [keyId, organizationId]);
    if (!rows[0]) throw rules.keyNotFound(keyId);
    return keyFromRow(rows[0]);
  }

  /** A custom role being given to a key cannot be deleted until this transaction ends (built-in roles have no row). */
  async #shareRole(client: pg.PoolClient, organizationId: string, roleId: string): Promise<void> {
    if (builtinRole(roleId)) return;
    await client.query('SELECT 1 FROM custom_roles WHERE organization_id = $1 AND id = $2 FOR SHARE', [organizationId, roleId]);
  }

  /** The key made with this one's idempotency key, if any. */
  async #madeWith(client: pg.PoolClient | pg.Pool, key: KeyRecord): Promise<KeyRecord | undefined> {
    if (!key.idempotencyKey) return undefined;
    const { rows } = await client.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM keys WHERE organization_id = $1 AND idempotency_key = $2`, [key.organizationId, key.idempotencyKey]);
    return rows[0] ? keyFromRow(rows[0]) : undefined;
  }

  async #activeCount(client: pg.PoolClient | pg.Pool, organizationId: string, now: number): Promise<number> {
    const { rows } = await client.query<{ n: number }>(ACTIVE_COUNT_SQL, [organizationId, new Date(now).toISOString()]);
    return rows[0]!.n;
  }

  /**
   * Throws LAST_ADMIN_KEY unless another working all-granting key of the organization remains. The caller holds the
   * organization's row lock, which every change that can take an admin key away takes first: two such changes never
   * both see the other's key as the one that remains.
   */
  async #keepAnAdmin(client: pg.PoolClient, key: KeyRecord, now: number, change: 'revoke' | 'demote', newRoleId?: string): Promise<void> {
    if (!rules.removesAnAdmin(key, now, newRoleId)) return;
    rules.refuse(rules.lastAdminRefusal(key, change, await this.#anotherAdminRemains(client, key, now)));
  }

  /** Whether the organization has an admin key besides `key` that rules.remainingAdmin takes: working, and working at least as long. */
  async #anotherAdminRemains(client: pg.PoolClient, key: KeyRecord, now: number): Promise<boolean> {
    const { rowCount } = await client.query(
      'SELECT 1 FROM keys WHERE organization_id = $1 AND id <> $2 AND role_id = ANY($3::text[]) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $4) ' +
        'AND (expires_at IS NULL OR expires_at >= $5::timestamptz) LIMIT 1',
      [key.organizationId, key.id, ALL_GRANTING_ROLE_IDS, new Date(now).toISOString(), key.expiresAt],
    );
    return rowCount !== 0;
  }

  async #insertAudit(client: pg.PoolClient, event: AuditEvent): Promise<void> {
    if (!isKeyFeedAction(event.action)) {
      await client.query(INSERT_AUDIT, auditParams(event));
      return;
    }
    // Feed positions in commit order: the lock (held until this transaction ends, taken after every row lock, so it
    // cannot deadlock) makes the next writer take its position only once this one has committed.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('keyward:feed'))`);
    await client.query(INSERT_KEY_AUDIT, auditParams(event));
    this.#feedWriters.add(client);
  }

  #wakeFeed(): void {
    for (const listener of this.#feedListeners) listener();
  }

  // ---- organizations ----

  async createOrganization(org: Organization, adminKey: KeyRecord, audit: Audit, options: { onlyIfNone?: boolean } = {}): Promise<boolean> {
    const created = await this.#transaction(async (client, changed) => {
      if (options.onlyIfNone) {
        // Serialize bootstraps across replicas; the lock ends with the transaction.
        await client.query(`SELECT pg_advisory_xact_lock(hashtext('keyward:bootstrap'))`);
        const { rows } = await client.query(`SELECT 1 FROM organizations LIMIT 1`);
        if (rows.length > 0) return false;
      }
      await client.query(`INSERT INTO organizations (${ORGANIZATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, organizationParams(org));
      await client.query(INSERT_KEY, keyParams(adminKey));
      await this.#insertAudit(client, audit);
      changed.o.push(org.id);
      changed.n.push(adminKey.id);
      return true;
    }, 3);
    if (!created) return false;
    this.cache.committedOrganization(org);
    this.cache.committedKey(adminKey);
    return true;
  }

  /**
   * One row read from the database, handed to `remember` with the cache epoch
   * taken before the read (the cache keeps it only if nothing was invalidated since).
   */
  async #readRow<R extends pg.QueryResultRow, T>(sql: string, params: unknown[], fromRow: (row: R) => T, remember: (value: T, epoch: number) => void, epoch = this.cache.epoch): Promise<T | undefined> {
    const { rows } = await this.#query<R>(sql, params);
    if (!rows[0]) return undefined;
    const value = fromRow(rows[0]);
    remember(value, epoch);
    return value;
  }

  /** An organization the cache does not hold (reads.organization), cached once read. */
  #readOrganization(id: string): Promise<Organization | undefined> {
    return this.#readRow(`SELECT ${ORGANIZATION_COLUMNS} FROM organizations WHERE id = $1`, [id], organizationFromRow, (org: Organization, epoch) => this.cache.rememberOrganization(org, epoch));
  }

  async listOrganizations(): Promise<Organization[]> {
    const { rows } = await this.#query<OrganizationRow>(`SELECT ${ORGANIZATION_COLUMNS} FROM organizations ORDER BY seq`);
    return rows.map(organizationFromRow);
  }

  async updateOrganization(id: string, patch: OrganizationPatch, audit: Audit): Promise<Organization> {
    const updated = await this.#transaction(async (client, changed) => {
      const { rows } = await client.query<OrganizationRow>(`SELECT ${ORGANIZATION_COLUMNS} FROM organizations WHERE id = $1 FOR UPDATE`, [id]);
      if (!rows[0]) throw rules.organizationNotFound(id);
      const current = organizationFromRow(rows[0]);
      const changes = changesOf(current, patch);
      const next = applyPatch(current, patch);
      const result = await client.query<OrganizationRow>(
        `UPDATE organizations SET name = $2, plan = $3, ip_allowlist = $4, rotation_days = $5, max_grace_period = $6, leak_policy = $7, changed_at = clock_timestamp() WHERE id = $1 RETURNING ${ORGANIZATION_COLUMNS}`,
        [id, next.name, next.plan, next.ipAllowlist, JSON.stringify(next.rotationDays), next.maxGracePeriod, next.leakPolicy],
      );
      await this.#insertAudit(client, { ...audit, changes });
      changed.o.push(id);
      return organizationFromRow(result.rows[0]!);
    }, 2);
    this.cache.committedOrganization(updated);
    return updated;
  }

  async countActiveKeys(organizationId: string, now: number): Promise<number> {
    try {
      return await this.#activeCount(this.pool, organizationId, now);
    } catch (error) {
      throw mapError(error);
    }
  }

  // ---- keys ----

  /**
   * A key the cache does not hold (reads.keyByHash), from the database.
   * Requests for the same key that arrive while its read is in flight share
   * that read (a cold replica under load would otherwise send one query per
   * request and queue them all), but only while nothing was invalidated since
   * it started: a request that arrives after a revocation never gets an
   * answer read before it.
   */
  async #sharedKeyRead(secretHash: string): Promise<KeyRecord | undefined> {
    const epoch = this.cache.epoch;
    const inFlight = this.#keyReads.get(secretHash);
    if (inFlight && inFlight.epoch === epoch) return inFlight.read;
    const read = this.#readKeyByHash(secretHash, epoch);
    this.#keyReads.set(secretHash, { epoch, read });
    try {
      return await read;
    } finally {
      if (this.#keyReads.get(secretHash)?.read === read) this.#keyReads.delete(secretHash);
    }
  }

  #readKeyByHash(secretHash: string, epoch: number): Promise<KeyRecord | undefined> {
    return this.#readRow(`SELECT ${KEY_COLUMNS} FROM keys WHERE secret_hash = $1`, [secretHash], keyFromRow, (key: KeyRecord, at) => this.cache.rememberKey(key, at), epoch);
  }

  /** Read from the database (management calls want last-used times other replicas flushed), refreshing the cache. */
  async findKeyById(keyId: string): Promise<KeyRecord | undefined> {
    const { rows } = await this.#query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM keys WHERE id = $1`, [keyId]);
    return rows[0] ? keyFromRow(rows[0]) : undefined;
  }

  /** A management read refreshes a copy the cache holds; it adds none (those are for keys being verified). */
  #refreshCachedKey(key: KeyRecord, epoch: number): void {
    if (this.cache.keyById(key.id)) this.cache.rememberKey(key, epoch);
  }

  /** As committed; a copy the cache holds is refreshed with it. */
  getKey(organizationId: string, keyId: string): Promise<KeyRecord | undefined> {
    return this.#readRow(`SELECT ${KEY_COLUMNS} FROM keys WHERE id = $1 AND organization_id = $2`, [keyId, organizationId], keyFromRow, (key: KeyRecord, epoch) => this.#refreshCachedKey(key, epoch));
  }

  /** As committed, like getKey: copies the cache holds are refreshed with them. */
  async getKeys(organizationId: string, keyIds: readonly string[]): Promise<KeyRecord[]> {
    const epoch = this.cache.epoch;
    const { rows } = await this.#query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM keys WHERE organization_id = $1 AND id = ANY($2::text[])`, [organizationId, [...keyIds]]);
    const keys = rows.map(keyFromRow);
    for (const key of keys) this.#refreshCachedKey(key, epoch);
    return keys;
  }

  async listKeys(organizationId: string, filter: KeyFilter): Promise<KeyPage> {
    const params: unknown[] = [organizationId];
    const where = ['organization_id = $1'];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.after) where.push(`(created_at, id) > (${param(filter.after.createdAt)}::timestamptz, ${param(filter.after.id)})`);
    const now = new Date(filter.now).toISOString();
    if (filter.status === 'active') where.push(`revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${param(now)})`);
    else if (filter.status === 'expired') where.push(`revoked_at IS NULL AND expires_at <= ${param(now)}`);
    else if (filter.status === 'revoked') where.push('revoked_at IS NOT NULL');
    if (filter.roleId !== undefined) where.push(`role_id = ${param(filter.roleId)}`);
    if (filter.environment !== undefined) where.push(`environment = ${param(filter.environment)}`);
    if (filter.unusedSince !== undefined) where.push(`coalesce(last_used_at, created_at) < ${param(filter.unusedSince)}`);
    if (filter.rotationDueBefore !== undefined) where.push(`rotation_due_at < ${param(filter.rotationDueBefore)}`);
    const { rows } = await this.#query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM keys WHERE ${where.join(' AND ')} ORDER BY created_at, id LIMIT ${param(filter.limit + 1)}`,
      params,
    );
    const items = rows.slice(0, filter.limit).map(keyFromRow);
    const last = items[items.length - 1];
    return { items, next: rows.length > filter.limit && last ? { createdAt: last.createdAt, id: last.id } : null };
  }

  async insertKey(key: KeyRecord, options: InsertKeyOptions, audit: Audit): Promise<void> {
    try {
      await this.#transaction(async (client, changed) => {
        // The plan limit needs the organization's row lock (count and insert as one step). Without a limit,
        // creates in one organization do not wait for each other: the unique constraint guards idempotency.
        if (options.activeLimit !== null) {
          await this.#lockOrganization(client, key.organizationId);
          rules.refuse(rules.idempotencyRefusal(await this.#madeWith(client, key), options.now));
          rules.refuse(rules.insertLimitRefusal(await this.#activeCount(client, key.organizationId, options.now), options.activeLimit));
        }
        await this.#shareRole(client, key.organizationId, key.roleId);
        await client.query(INSERT_KEY, keyParams(key));
        await this.#insertAudit(client, audit);
        changed.n.push(key.id);
      }, 2);
    } catch (error) {
      // Lost the race for an idempotency key (the unique constraint): the rule names the key that won.
      if (violates(error, 'keys_idempotency_unique')) rules.refuse(rules.idempotencyRefusal(await this.#madeWith(this.pool, key).catch(() => undefined), options.now));
      throw error;
    }
    this.cache.committedKey(key);
  }

  async updateKey(organizationId: string, keyId: string, patch: KeyPatch, now: number, audit: Audit): Promise<KeyRecord> {
    const updated = await this.#transaction(async (client, changed) => {
      // A role change may take away the last admin key: it takes the organization's lock first (as revocation does).
      if (patch.roleId !== undefined) await this.#lockOrganization(client, organizationId);
      const key = await this.#lockKey(client, organizationId, keyId);
      rules.refuse(rules.changeRefusal(key, now, 'edited'));
      if (patch.roleId !== undefined) await this.#keepAnAdmin(client, key, now, 'demote', patch.roleId);
      const changes = changesOf(key, patch);
      const next = applyPatch(key, patch);
      if (next.roleId !== key.roleId) await this.#shareRole(client, organizationId, next.roleId);
      const { rows } = await client.query<KeyRow>(
        `UPDATE keys SET name = $2, role_id = $3, ip_allowlist = $4, metadata = $5, changed_at = clock_timestamp() WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
        [keyId, next.name, next.roleId, next.ipAllowlist, JSON.stringify(next.metadata ?? {})],
      );
      await this.#insertAudit(client, { ...audit, changes });
      changed.k.push(keyId);
      return keyFromRow(rows[0]!);
    }, 2);
    this.cache.committedKey(updated);
    return updated;
  }

  async revokeKey(organizationId: string, keyId: string, at: string, audit: Audit): Promise<KeyRecord> {
    const revoked = await this.#transaction(async (client, changed) => {
      await this.#lockOrganization(client, organizationId);
      const key = await this.#lockKey(client, organizationId, keyId);
      rules.refuse(rules.revokeRefusal(key));
      await this.#keepAnAdmin(client, key, Date.parse(at), 'revoke');
      const { rows } = await client.query<KeyRow>(`UPDATE keys SET revoked_at = $2, changed_at = clock_timestamp() WHERE id = $1 RETURNING ${KEY_COLUMNS}`, [keyId, at]);
      await this.#insertAudit(client, audit);
      changed.k.push(keyId);
      return keyFromRow(rows[0]!);
    }, 2);
    this.cache.committedKey(revoked);
    return revoked;
  }

  async rotateKey(input: RotateKeyInput, audit: Audit): Promise<{ previous: KeyRecord; successor: KeyRecord }> {
    let successor: KeyRecord | undefined;
    let expiries: ReturnType<typeof rules.rotationExpiries>;
    const previous = await this.#transaction(async (client, changed) => {
      await this.#lockOrganization(client, input.organizationId);
      const old = await this.#lockKey(client, input.organizationId, input.keyId);
      rules.refuse(rules.changeRefusal(old, input.now, 'rotated'));
      // A retry first learns which successor its idempotency key made (before "already rotated").
      rules.refuse(rules.idempotencyRefusal(await this.#madeWith(client, input.successor), input.now));
      // Rotated before: allowed again only if that successor was revoked.
      let current: KeyRecord | undefined;
      if (old.rotatedToId !== null) {
        const { rows } = await client.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM keys WHERE id = $1 FOR SHARE`, [old.rotatedToId]);
        current = rows[0] ? keyFromRow(rows[0]) : undefined;
      }
      rules.refuse(rules.rotationRefusal(old, current));
      expiries = rules.rotationExpiries(old, current, input.previousExpiresAt);
      if (input.activeLimit !== null && old.rotatedFromId !== null) {
        // The successor takes the old key's place; only a predecessor still in its grace period adds to the count.
        const { rows } = await client.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM keys WHERE id = $1`, [old.rotatedFromId]);
        const predecessor = rows[0] ? keyFromRow(rows[0]) : undefined;
        if (rules.rotationAddsToCount(old, predecessor, input.now) > 0) {
          rules.refuse(rules.rotationLimitRefusal(old, predecessor!, await this.#activeCount(client, input.organizationId, input.now), input.activeLimit));
        }
      }
      successor = { ...input.successor, expiresAt: expiries.successorExpiresAt };
      await client.query(INSERT_KEY, keyParams(successor));
      const { rows } = await client.query<KeyRow>(
        `UPDATE keys SET rotated_to_id = $2, expires_at = $3, retirement = $4, changed_at = clock_timestamp() WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
        [old.id, successor.id, expiries.previousExpiresAt, JSON.stringify(input.retirement)],
      );
      await this.#insertAudit(client, rules.withRotationExpiries(audit, expiries));
      changed.k.push(old.id);
      changed.n.push(successor.id);
      return keyFromRow(rows[0]!);
    }, 3);
    this.cache.committedKey(previous);
    this.cache.committedKey(successor!);
    return { previous, successor: successor! };
  }

  async recordUsage(updates: UsageUpdate[], counts: UsageCount[], addresses: AddressUse[] = []): Promise<void> {
    if (updates.length === 0 && counts.length === 0 && addresses.length === 0) return;
    const byAddress = mergeAddressUses(addresses);
    // Merge duplicates and sort, so concurrent flushes from several replicas lock rows in one order.
    const merged = new Map<string, UsageCount>();
    for (const count of counts) {
      const id = `${count.keyId}\u0000${count.day}\u0000${count.outcome}`;
      const existing = merged.get(id);
      if (existing) existing.count += count.count;
      else merged.set(id, { ...count });
    }
    const rows = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
    const latest = new Map<string, UsageUpdate>();
    for (const update of updates) {
      const existing = latest.get(update.keyId);
      if (!existing || existing.lastUsedAt < update.lastUsedAt) latest.set(update.keyId, update);
    }
    const uses = [...latest.values()].sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
    await this.#transaction(async (client) => {
      if (rows.length > 0) {
        await client.query(
          `INSERT INTO usage_counts (organization_id, key_id, day, outcome, count)
           SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::bigint[])
           ON CONFLICT (key_id, day, outcome) DO UPDATE SET count = usage_counts.count + EXCLUDED.count`,
          [rows.map((r) => r.organizationId), rows.map((r) => r.keyId), rows.map((r) => r.day), rows.map((r) => r.outcome), rows.map((r) => r.count)],
        );
      }
      if (byAddress.length > 0) {
        // Rows already stored add up; a new one only within the bound of its key and day (the rows stored plus those before it here).
        await client.query(
          `WITH u AS (
             SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::timestamptz[], $9::timestamptz[])
               AS t(organization_id, key_id, day, ip, outcome, permission, count, first_seen, last_seen)
           ), marked AS (
             SELECT u.*, EXISTS (SELECT 1 FROM usage_by_address e
                                  WHERE e.key_id = u.key_id AND e.day = u.day AND e.ip = u.ip AND e.outcome = u.outcome AND e.permission = u.permission) AS present
               FROM u
           ), numbered AS (
             SELECT m.*, row_number() OVER (PARTITION BY m.key_id, m.day, m.present ORDER BY m.ip, m.outcome, m.permission) AS n FROM marked m
           )
           INSERT INTO usage_by_address (organization_id, key_id, day, ip, outcome, permission, count, first_seen, last_seen)
           SELECT organization_id, key_id, day, ip, outcome, permission, count, first_seen, last_seen FROM numbered x
            WHERE x.present OR x.n <= $10 - (SELECT count(*) FROM usage_by_address e WHERE e.key_id = x.key_id AND e.day = x.day)
           ON CONFLICT (key_id, day, ip, outcome, permission) DO UPDATE SET
             count = usage_by_address.count + EXCLUDED.count,
             first_seen = LEAST(usage_by_address.first_seen, EXCLUDED.first_seen),
             last_seen = GREATEST(usage_by_address.last_seen, EXCLUDED.last_seen)`,
          [
            byAddress.map((r) => r.organizationId),
            byAddress.map((r) => r.keyId),
            byAddress.map((r) => r.day),
            byAddress.map((r) => r.ip ?? ''),
            byAddress.map((r) => r.outcome),
            byAddress.map((r) => r.permission ?? ''),
            byAddress.map((r) => r.count),
            byAddress.map((r) => r.firstSeen),
            byAddress.map((r) => r.lastSeen),
            MAX_ADDRESS_ROWS_PER_KEY_DAY,
          ],
        );
      }
      if (uses.length > 0) {
        // The newer last use wins; the recent clients are merged as core/retirement.ts's mergeRecentClients does (newest per client, bounded).
        await client.query(
          `UPDATE keys AS k SET
             last_used_at = GREATEST(k.last_used_at, u.at),
             last_used_ip = CASE WHEN k.last_used_at IS NULL OR k.last_used_at < u.at THEN u.ip ELSE k.last_used_ip END,
             recent_clients = CASE WHEN jsonb_array_length(u.clients) = 0 THEN k.recent_clients ELSE (
               SELECT coalesce(jsonb_agg(kept.c ORDER BY kept.c->>'lastUsedAt' DESC), '[]'::jsonb) FROM (
                 SELECT latest.c FROM (
                   SELECT DISTINCT ON (c->>'ip', c->>'userAgent') c FROM jsonb_array_elements(k.recent_clients || u.clients) AS c
                   ORDER BY c->>'ip', c->>'userAgent', c->>'lastUsedAt' DESC
                 ) AS latest ORDER BY latest.c->>'lastUsedAt' DESC LIMIT $5
               ) AS kept
             ) END
           FROM (SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::jsonb[]) AS t(id, at, ip, clients) ORDER BY id) AS u
           WHERE k.id = u.id`,
          [uses.map((u) => u.keyId), uses.map((u) => u.lastUsedAt), uses.map((u) => u.lastUsedIp), uses.map((u) => JSON.stringify(u.clients)), MAX_RECENT_CLIENTS],
        );
      }
    }, rows.length + uses.length + byAddress.length);
    for (const use of uses) this.cache.touch(use.keyId, use.lastUsedAt, use.lastUsedIp);
  }

  async listOpenRetirements(limit: number): Promise<KeyRecord[]> {
    // The predicate of the keys_open_retirements index (migration 0005), as rules.hasOpenRetirement says.
    const { rows } = await this.#query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM keys
       WHERE retirement IS NOT NULL AND retirement->>'revokeOld' = 'whenUnused' AND retirement->>'endedAt' IS NULL AND revoked_at IS NULL
       ORDER BY id LIMIT $1`,
      [limit],
    );
    return rows.map(keyFromRow);
  }

  async endRetirement(input: EndRetirementInput, audit: Audit): Promise<KeyRecord | undefined> {
    const ended = await this.#transaction(async (client, changed) => {
      // A revocation takes the organization's lock first, as revokeKey does (the last admin key).
      if (input.endedBy === 'unused') await this.#lockOrganization(client, input.organizationId);
      const key = await this.#lockKey(client, input.organizationId, input.keyId);
      const now = Date.parse(input.endedAt);
      const next = rules.endedRetirement(key, input, rules.removesAnAdmin(key, now) ? await this.#anotherAdminRemains(client, key, now) : true);
      if (!next) return undefined;
      const { rows } = await client.query<KeyRow>(
        `UPDATE keys SET revoked_at = $2, retirement = $3, changed_at = clock_timestamp() WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
        [key.id, next.revokedAt, JSON.stringify(next.retirement)],
      );
      await this.#insertAudit(client, audit);
      changed.k.push(key.id);
      return keyFromRow(rows[0]!);
    }, 2);
    if (ended) this.cache.committedKey(ended);
    return ended;
  }

  async listUsage(organizationId: string, filter: UsageFilter): Promise<UsageCount[]> {
    const params: unknown[] = [organizationId, filter.from, filter.to];
    let sql = 'SELECT organization_id, key_id, day::text AS day, outcome, count FROM usage_counts WHERE organization_id = $1 AND day BETWEEN $2::date AND $3::date';
    if (filter.keyId !== undefined) {
      params.push(filter.keyId);
      sql += ' AND key_id = $4';
    }
    const { rows } = await this.#query<UsageRow>(`${sql} ORDER BY day, key_id, outcome`, params);
    return rows.map(usageFromRow);
  }

  async listAddressUses(organizationId: string, filter: UsageFilter): Promise<AddressUse[]> {
    const params: unknown[] = [organizationId, filter.from, filter.to];
    let sql = `SELECT ${ADDRESS_USE_COLUMNS} FROM usage_by_address WHERE organization_id = $1 AND day BETWEEN $2::date AND $3::date`;
    if (filter.keyId !== undefined) sql += ` AND key_id = $${params.push(filter.keyId)}`;
    const { rows } = await this.#query<AddressUseRow>(`${sql} ORDER BY day, key_id, ip, outcome, permission`, params);
    return rows.map(addressUseFromRow);
  }

  async addressesOfOtherKeys(organizationId: string, keyId: string, ips: readonly string[], filter: Pick<UsageFilter, 'from' | 'to'>): Promise<string[]> {
    if (ips.length === 0) return [];
    const { rows } = await this.#query<{ ip: string }>(
      'SELECT DISTINCT ip FROM usage_by_address WHERE organization_id = $1 AND ip = ANY($2::text[]) AND day BETWEEN $3::date AND $4::date AND key_id <> $5',
      [organizationId, [...ips], filter.from, filter.to, keyId],
    );
    return rows.map((row) => row.ip);
  }

  // ---- audit ----

  async appendAudit(event: AuditEvent): Promise<void> {
    await this.#transaction((client) => this.#insertAudit(client, event));
  }

  async listAudit(organizationId: string, filter: AuditFilter): Promise<{ items: AuditEvent[]; next: string | null }> {
    const params: unknown[] = [organizationId];
    const where = ['organization_id = $1'];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.before !== undefined) where.push(`id < ${param(filter.before)}`);
    if (filter.action !== undefined) where.push(`action = ${param(filter.action)}`);
    if (filter.actorKeyId !== undefined) where.push(`actor_key_id = ${param(filter.actorKeyId)}`);
    if (filter.targetId !== undefined) where.push(`target_id = ${param(filter.targetId)}`);
    if (filter.from !== undefined) where.push(`at >= ${param(filter.from)}`);
    if (filter.to !== undefined) where.push(`at <= ${param(filter.to)}`);
    const { rows } = await this.#query<AuditRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${param(filter.limit + 1)}`,
      params,
    );
    const items = rows.slice(0, filter.limit).map(auditFromRow);
    return { items, next: rows.length > filter.limit ? items[items.length - 1]!.id : null };
  }

  // ---- incidents ----

  async compromiseKey(input: CompromiseInput, audits: Audit[]): Promise<{ revoked: KeyRecord; replacement: KeyRecord | null; incident: Incident }> {
    const revoked = await this.#transaction(async (client, changed) => {
      await this.#lockOrganization(client, input.organizationId);
      const key = await this.#lockKey(client, input.organizationId, input.keyId);
      rules.refuse(rules.revokeRefusal(key));
      // A replacement of the same role keeps the organization's admin; without one the last admin key stays.
      if (input.replacement === null) await this.#keepAnAdmin(client, key, Date.parse(input.at), 'revoke');
      if (input.replacement) {
        await this.#shareRole(client, input.organizationId, input.replacement.roleId);
        await client.query(INSERT_KEY, keyParams(input.replacement));
        changed.n.push(input.replacement.id);
      }
      const { rows } = await client.query<KeyRow>(
        `UPDATE keys SET revoked_at = $2, rotated_to_id = COALESCE($3, rotated_to_id), changed_at = clock_timestamp() WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
        [key.id, input.at, input.replacement?.id ?? null],
      );
      await client.query(UPSERT_INCIDENT, incidentParams(input.incident));
      for (const audit of audits) await this.#insertAudit(client, audit);
      changed.k.push(key.id);
      return keyFromRow(rows[0]!);
    }, 3 + audits.length);
    this.cache.committedKey(revoked);
    if (input.replacement) this.cache.committedKey(input.replacement);
    return { revoked, replacement: input.replacement, incident: input.incident };
  }

  async insertIncidents(incidents: Incident[]): Promise<Incident[]> {
    if (incidents.length === 0) return [];
    const inserted = await this.#transaction(async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO incidents (id, organization_id, key_id, state, dedupe_key, record)
         SELECT x.id, x.organization_id, x.key_id, x.state, x.dedupe_key, x.record
           FROM jsonb_to_recordset($1::jsonb) AS x(id text, organization_id text, key_id text, state text, dedupe_key text, record jsonb)
         ON CONFLICT DO NOTHING RETURNING id`,
        [JSON.stringify(incidents.map((i) => ({ id: i.id, organization_id: i.organizationId, key_id: i.keyId, state: i.state, dedupe_key: i.dedupeKey, record: i })))],
      );
      return new Set(rows.map((row) => row.id));
    }, incidents.length);
    return incidents.filter((incident) => inserted.has(incident.id));
  }

  async updateIncident(organizationId: string, incidentId: string, update: IncidentUpdate, audit?: Audit): Promise<Incident> {
    return this.#transaction(async (client) => {
      const { rows } = await client.query<{ record: Incident }>('SELECT record FROM incidents WHERE id = $1 AND organization_id = $2 FOR UPDATE', [incidentId, organizationId]);
      if (!rows[0]) throw rules.incidentNotFound(incidentId);
      const next = rules.updatedIncident(rows[0].record, update);
      await client.query(UPSERT_INCIDENT, incidentParams(next));
      if (audit) await this.#insertAudit(client, audit);
      return next;
    }, audit ? 2 : 1);
  }

  async getIncident(organizationId: string, incidentId: string): Promise<Incident | undefined> {
    const { rows } = await this.#query<{ record: Incident }>('SELECT record FROM incidents WHERE id = $1 AND organization_id = $2', [incidentId, organizationId]);
    return rows[0]?.record;
  }

  async listIncidents(organizationId: string, filter: IncidentFilter): Promise<{ items: Incident[]; next: string | null }> {
    const params: unknown[] = [organizationId, filter.limit + 1];
    const where = ['organization_id = $1'];
    if (filter.before !== undefined) where.push(`id < $${params.push(filter.before)}`);
    if (filter.keyId !== undefined) where.push(`key_id = $${params.push(filter.keyId)}`);
    const { rows } = await this.#query<{ record: Incident }>(`SELECT record FROM incidents WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $2`, params);
    const items = rows.slice(0, filter.limit).map((row) => row.record);
    return { items, next: rows.length > filter.limit ? items[items.length - 1]!.id : null };
  }

  async pendingIncidents(limit: number): Promise<Incident[]> {
    const { rows } = await this.#query<{ record: Incident }>(`SELECT record FROM incidents WHERE state = 'pending' ORDER BY id LIMIT $1`, [limit]);
    return rows.map((row) => row.record);
  }

  // ---- the change feed ----

  async listKeyEvents(organizationId: string, filter: KeyEventFilter): Promise<KeyEvent[]> {
    const managed = filter.operatorManaged ? `AND k.metadata::jsonb ? '${OPERATOR_METADATA.uid}'` : '';
    const { rows } = await this.#query<AuditRow & { feed_seq: string; metadata: KeyRecord['metadata'] | null }>(
      `SELECT ${AUDIT_COLUMNS.split(', ').map((c) => `a.${c}`).join(', ')}, a.feed_seq, k.metadata
         FROM audit_events a LEFT JOIN keys k ON k.id = a.target_id
        WHERE a.organization_id = $1 AND a.feed_seq > $2 ${managed}
        ORDER BY a.feed_seq LIMIT $3`,
      [organizationId, filter.after, filter.limit],
    );
    return rows.map((row) => ({ seq: Number(row.feed_seq), event: auditFromRow(row), metadata: row.metadata ?? {} }));
  }

  async latestKeyEvent(organizationId: string): Promise<number> {
    const { rows } = await this.#query<{ n: string }>('SELECT coalesce(max(feed_seq), 0) AS n FROM audit_events WHERE organization_id = $1 AND feed_seq IS NOT NULL', [organizationId]);
    return Number(rows[0]!.n);
  }

  onKeyEvents(listener: () => void): () => void {
    this.#feedListeners.add(listener);
    return () => this.#feedListeners.delete(listener);
  }

  // ---- roles and permissions ----

  async listCustomRoles(organizationId: string): Promise<CustomRole[]> {
    const { rows } = await this.#query<RoleRow>(`SELECT ${ROLE_COLUMNS} FROM custom_roles WHERE organization_id = $1 ORDER BY seq`, [organizationId]);
    return rows.map(roleFromRow);
  }

  /** As committed; a copy the cache holds is refreshed with it. */
  getCustomRole(organizationId: string, roleId: string): Promise<CustomRole | undefined> {
    return this.#readRow(ROLE_BY_ID, [organizationId, roleId], roleFromRow, (role: CustomRole, epoch) => {
      if (this.cache.role(organizationId, roleId)) this.cache.rememberRole(role, epoch);
    });
  }

  /** A custom role the cache does not hold (reads.customRole), cached once read. */
  #readRole(organizationId: string, roleId: string): Promise<CustomRole | undefined> {
    return this.#readRow(ROLE_BY_ID, [organizationId, roleId], roleFromRow, (role: CustomRole, epoch) => this.cache.rememberRole(role, epoch));
  }

  async insertCustomRole(role: CustomRole, audit: Audit): Promise<void> {
    await this.#transaction(async (client) => {
      const { rowCount } = await client.query(
        `INSERT INTO custom_roles (${ROLE_COLUMNS}, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp()) ON CONFLICT (organization_id, id) DO NOTHING`,
        roleParams(role),
      );
      if (rowCount === 0) throw rules.roleExists(role.id);
      await this.#insertAudit(client, audit);
    }, 2);
    this.cache.committedRole(role);
  }

  async updateCustomRole(organizationId: string, roleId: string, patch: RolePatch, now: string, audit: Audit): Promise<CustomRole> {
    const updated = await this.#transaction(async (client, changed) => {
      const { rows } = await client.query<RoleRow>(`SELECT ${ROLE_COLUMNS} FROM custom_roles WHERE organization_id = $1 AND id = $2 FOR UPDATE`, [organizationId, roleId]);
      if (!rows[0]) throw rules.roleNotFound(roleId);
      const role = roleFromRow(rows[0]);
      const changes = changesOf(role, patch);
      const next = applyPatch(role, patch);
      const result = await client.query<RoleRow>(
        `UPDATE custom_roles SET name = $3, description = $4, permissions = $5, updated_at = $6, changed_at = clock_timestamp() WHERE organization_id = $1 AND id = $2 RETURNING ${ROLE_COLUMNS}`,
        [organizationId, roleId, next.name, next.description, next.permissions, now],
      );
      await this.#insertAudit(client, { ...audit, changes });
      changed.r.push([organizationId, roleId]);
      return roleFromRow(result.rows[0]!);
    }, 2);
    this.cache.committedRole(updated);
    return updated;
  }

  async deleteCustomRole(organizationId: string, roleId: string, audit: Audit): Promise<void> {
    await this.#transaction(async (client, changed) => {
      const { rowCount } = await client.query('SELECT 1 FROM custom_roles WHERE organization_id = $1 AND id = $2 FOR UPDATE', [organizationId, roleId]);
      if (rowCount === 0) throw rules.roleNotFound(roleId);
      // The keys rules.holdsRole counts, the first ones by creation.
      const holders = await client.query<{ id: string; total: number }>(
        `SELECT id, count(*) OVER ()::int AS total FROM keys WHERE organization_id = $1 AND role_id = $2 AND revoked_at IS NULL ORDER BY created_at, id LIMIT $3`,
        [organizationId, roleId, rules.ROLE_HOLDERS_NAMED],
      );
      rules.refuse(rules.roleDeleteRefusal(roleId, { count: holders.rows[0]?.total ?? 0, keyIds: holders.rows.map((row) => row.id) }));
      const members = await client.query<{ id: string }>('SELECT id FROM members WHERE organization_id = $1 AND role_id = $2 ORDER BY created_at, id LIMIT $3', [
        organizationId,
        roleId,
        rules.ROLE_HOLDERS_NAMED,
      ]);
      if (members.rows.length > 0) throw memberRoleInUse(roleId, members.rows.map((row) => row.id));
      const invitations = await client.query<{ id: string }>(
        'SELECT id FROM invitations WHERE organization_id = $1 AND role_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3 ORDER BY created_at, id LIMIT $4',
        [organizationId, roleId, audit.at, rules.ROLE_HOLDERS_NAMED],
      );
      if (invitations.rows.length > 0) throw invitationRoleInUse(roleId, invitations.rows.map((row) => row.id));
      await client.query('DELETE FROM custom_roles WHERE organization_id = $1 AND id = $2', [organizationId, roleId]);
      await this.#insertAudit(client, audit);
      changed.r.push([organizationId, roleId]);
    }, 2);
    this.cache.invalidateRoles([roleKey(organizationId, roleId)]);
  }

  async listCustomPermissions(organizationId: string): Promise<CustomPermission[]> {
    const { rows } = await this.#query<PermissionRow>(
      'SELECT organization_id, name, description, created_at FROM custom_permissions WHERE organization_id = $1 ORDER BY seq',
      [organizationId],
    );
    return rows.map(permissionFromRow);
  }

  async insertCustomPermission(permission: CustomPermission, audit: Audit): Promise<void> {
    await this.#transaction(async (client) => {
      const { rowCount } = await client.query(
        'INSERT INTO custom_permissions (organization_id, name, description, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (organization_id, name) DO NOTHING',
        [permission.organizationId, permission.name, permission.description, permission.createdAt],
      );
      if (rowCount === 0) throw rules.permissionExists(permission.name);
      await this.#insertAudit(client, audit);
    }, 2);
  }
}
