/**
 * Copies everything a store holds (organizations, custom roles and
 * permissions, keys with their hashes only, usage counts (daily and by
 * client address), the audit log (with the change feed's positions),
 * members, invitations, passkeys and identity providers; not sessions, people
 * sign in again) into
 * a PostgreSQL database, in one transaction, and verifies that every source
 * row is there afterwards. Safe to re-run: rows already present are left as
 * they are (ON CONFLICT DO NOTHING), so a second run copies only what is new.
 */
import type pg from 'pg';
import type { InvitationRecord, MemberRecord, OidcProviderRecord, PasskeyRecord } from '../../core/people.ts';
import type { AddressUse, AuditEvent, Incident, KeyRecord, UsageCount } from '../../core/model.ts';
import type { KeyCursor, Store } from '../store.ts';
import { migrate } from './migrate.ts';
import { INVITATION_COLUMNS, invitationParams, MEMBER_COLUMNS, memberParams, OIDC_PROVIDER_COLUMNS, oidcProviderParams, PASSKEY_COLUMNS, passkeyParams } from './people.ts';
import { AUDIT_COLUMNS, auditParams, KEY_COLUMNS, keyParams, organizationParams, roleParams } from './rows.ts';

export interface TableCount {
  table: string;
  source: number;
  /** Source rows found in the target after the copy (must equal `source`). */
  verified: number;
  /** Rows this run inserted (0 on a re-run). */
  inserted: number;
}

export interface CopyResult {
  tables: TableCount[];
  ok: boolean;
}

const BATCH = 1_000;

const chunks = <T>(items: readonly T[], size = BATCH): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

const KEY_NAMES = KEY_COLUMNS.split(', ');
const ORG_NAMES = ['id', 'name', 'plan', 'ip_allowlist', 'rotation_days', 'max_grace_period', 'created_at', 'leak_policy'];
const ROLE_NAMES = ['organization_id', 'id', 'name', 'description', 'permissions', 'created_at', 'updated_at'];
const AUDIT_NAMES = AUDIT_COLUMNS.split(', ');
const MEMBER_NAMES = MEMBER_COLUMNS.split(', ');
const INVITATION_NAMES = INVITATION_COLUMNS.split(', ');
const PASSKEY_NAMES = PASSKEY_COLUMNS.split(', ');
const OIDC_PROVIDER_NAMES = OIDC_PROVIDER_COLUMNS.split(', ');
const JSON_COLUMNS = new Set(['metadata', 'rotation_days', 'changes', 'actor', 'recent_clients', 'retirement']);

function rowObject(names: string[], values: unknown[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  names.forEach((name, i) => {
    const value = values[i];
    row[name] = JSON_COLUMNS.has(name) && typeof value === 'string' ? JSON.parse(value) : value;
  });
  return row;
}

async function insertRows(client: pg.ClientBase, table: string, names: string[], rows: Record<string, unknown>[]): Promise<number> {
  let inserted = 0;
  const columns = names.join(', ');
  for (const batch of chunks(rows)) {
    const result = await client.query(
      `INSERT INTO ${table} (${columns}) SELECT ${columns} FROM json_populate_recordset(null::${table}, $1::json) ON CONFLICT DO NOTHING`,
      [JSON.stringify(batch)],
    );
    inserted += result.rowCount ?? 0;
  }
  return inserted;
}

/** How many of `rows` are in `table`, matched on `match` (columns that must be equal). */
async function countPresent(client: pg.ClientBase, table: string, match: string[], rows: Record<string, unknown>[]): Promise<number> {
  let present = 0;
  const on = match.map((column) => `t.${column} = s.${column}`).join(' AND ');
  for (const batch of chunks(rows, 10_000)) {
    const result = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} t JOIN json_populate_recordset(null::${table}, $1::json) s ON ${on}`,
      [JSON.stringify(batch)],
    );
    present += result.rows[0]!.n;
  }
  return present;
}

async function allKeys(source: Store, organizationId: string): Promise<KeyRecord[]> {
  const keys: KeyRecord[] = [];
  let after: KeyCursor | undefined;
  for (;;) {
    const page = await source.listKeys(organizationId, { status: 'all', limit: 10_000, after, now: Date.now() });
    keys.push(...page.items);
    if (!page.next) return keys;
    after = page.next;
  }
}

async function allAudit(source: Store, organizationId: string): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await source.listAudit(organizationId, { limit: 10_000, before });
    events.push(...page.items);
    if (!page.next) return events;
    before = page.next;
  }
}

/** The change-feed position of each key event, by audit event id (a follower's cursor from the source stays good on the copy). */
async function feedPositions(source: Store, organizationId: string, into: Map<string, number>): Promise<void> {
  let after = 0;
  for (;;) {
    const page = await source.listKeyEvents(organizationId, { after, limit: 10_000, operatorManaged: false });
    for (const entry of page) into.set(entry.event.id, entry.seq);
    if (page.length < 10_000) return;
    after = page[page.length - 1]!.seq;
  }
}

async function allIncidents(source: Store, organizationId: string): Promise<Incident[]> {
  const incidents: Incident[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await source.listIncidents(organizationId, { limit: 500, before });
    incidents.push(...page.items);
    if (!page.next) return incidents;
    before = page.next;
  }
}

export async function copyStoreToPostgres(source: Store, client: pg.ClientBase): Promise<CopyResult> {
  await migrate(client);
  const organizations = await source.listOrganizations();
  const keys: KeyRecord[] = [];
  const roles = [];
  const permissions = [];
  const audit: AuditEvent[] = [];
  const usage: UsageCount[] = [];
  const addressUses: AddressUse[] = [];
  const members: MemberRecord[] = [];
  const invitations: InvitationRecord[] = [];
  const passkeys: PasskeyRecord[] = [];
  const oidcProviders: OidcProviderRecord[] = [];
  const incidents: Incident[] = [];
  const positions = new Map<string, number>();
  /** The source's newest cursor (lowdb counts every audit record, key change or not): the copy's feed goes on after it. */
  let feedTop = 0;
  for (const org of organizations) {
    await feedPositions(source, org.id, positions);
    feedTop = Math.max(feedTop, await source.latestKeyEvent(org.id));
    const orgMembers = await source.people.listMembers(org.id);
    members.push(...orgMembers);
    invitations.push(...(await source.people.listInvitations(org.id)));
    for (const member of orgMembers) passkeys.push(...(await source.people.listPasskeys(org.id, member.id)));
    const oidcProvider = await source.people.getOidcProvider(org.id);
    if (oidcProvider) oidcProviders.push(oidcProvider);
    incidents.push(...(await allIncidents(source, org.id)));
    keys.push(...(await allKeys(source, org.id)));
    roles.push(...(await source.listCustomRoles(org.id)));
    permissions.push(...(await source.listCustomPermissions(org.id)));
    audit.push(...(await allAudit(source, org.id)));
    usage.push(...(await source.listUsage(org.id, { from: '0000-01-01', to: '9999-12-31' })));
    addressUses.push(...(await source.listAddressUses(org.id, { from: '0000-01-01', to: '9999-12-31' })));
  }
  // Oldest first, so identity columns (listing order) follow the source's order.
  audit.reverse();

  const orgRows = organizations.map((org) => rowObject(ORG_NAMES, organizationParams(org)));
  const roleRows = roles.map((role) => rowObject(ROLE_NAMES, roleParams(role)));
  const permissionRows = permissions.map((p) => ({ organization_id: p.organizationId, name: p.name, description: p.description, created_at: p.createdAt }));
  const keyRows = keys.map((key) => rowObject(KEY_NAMES, keyParams(key)));
  const usageRows = usage.map((u) => ({ organization_id: u.organizationId, key_id: u.keyId, day: u.day, outcome: u.outcome, count: u.count }));
  // No address, no permission: '' in usage_by_address (migration 0007).
  const addressRows = addressUses.map((u) => ({
    organization_id: u.organizationId,
    key_id: u.keyId,
    day: u.day,
    ip: u.ip ?? '',
    outcome: u.outcome,
    permission: u.permission ?? '',
    count: u.count,
    first_seen: u.firstSeen,
    last_seen: u.lastSeen,
  }));
  const auditRows = audit.map((event) => ({ ...rowObject(AUDIT_NAMES, auditParams(event)), feed_seq: positions.get(event.id) ?? null }));
  const memberRows = members.map((member) => rowObject(MEMBER_NAMES, memberParams(member)));
  const invitationRows = invitations.map((invitation) => rowObject(INVITATION_NAMES, invitationParams(invitation)));
  const passkeyRows = passkeys.map((passkey) => rowObject(PASSKEY_NAMES, passkeyParams(passkey)));
  const oidcProviderRows = oidcProviders.map((provider) => rowObject(OIDC_PROVIDER_NAMES, oidcProviderParams(provider)));
  const incidentRows = incidents.map((i) => ({ id: i.id, organization_id: i.organizationId, key_id: i.keyId, state: i.state, dedupe_key: i.dedupeKey, record: i }));

  await client.query('BEGIN');
  try {
    const tables: TableCount[] = [];
    const copy = async (table: string, names: string[], match: string[], rows: Record<string, unknown>[], label = table) => {
      const inserted = await insertRows(client, table, names, rows);
      const verified = await countPresent(client, table, match, rows);
      tables.push({ table: label, source: rows.length, verified, inserted });
    };
    await copy('organizations', ORG_NAMES, ['id'], orgRows);
    await copy('custom_roles', ROLE_NAMES, ['organization_id', 'id'], roleRows, 'roles');
    await copy('custom_permissions', ['organization_id', 'name', 'description', 'created_at'], ['organization_id', 'name'], permissionRows, 'permissions');
    // A key is the same key only in the same organization with the same secret hash.
    await copy('keys', KEY_NAMES, ['id', 'organization_id', 'secret_hash'], keyRows);
    await copy('usage_counts', ['organization_id', 'key_id', 'day', 'outcome', 'count'], ['key_id', 'day', 'outcome'], usageRows, 'usage');
    await copy(
      'usage_by_address',
      ['organization_id', 'key_id', 'day', 'ip', 'outcome', 'permission', 'count', 'first_seen', 'last_seen'],
      ['key_id', 'day', 'ip', 'outcome', 'permission'],
      addressRows,
      'usage-by-address',
    );
    // Key events keep their change-feed positions, and the feed goes on after any cursor the source gave out: a
    // follower (the operator) pointed at the copy resumes from the cursor it holds, missing nothing.
    await copy('audit_events', [...AUDIT_NAMES, 'feed_seq'], ['id'], auditRows, 'audit');
    await client.query(
      `SELECT setval('key_feed_seq', top) FROM (SELECT GREATEST($1::bigint, max(feed_seq)) AS top FROM audit_events) AS m
        WHERE top > (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM key_feed_seq)`,
      [feedTop],
    );
    await copy('members', MEMBER_NAMES, ['id', 'organization_id', 'email'], memberRows);
    // An invitation is the same one only with the same token hash.
    await copy('invitations', INVITATION_NAMES, ['id', 'token_hash'], invitationRows);
    await copy('passkeys', PASSKEY_NAMES, ['id', 'member_id', 'public_key'], passkeyRows);
    await copy('oidc_providers', OIDC_PROVIDER_NAMES, ['organization_id', 'issuer', 'client_id'], oidcProviderRows);
    await copy('incidents', ['id', 'organization_id', 'key_id', 'state', 'dedupe_key', 'record'], ['id'], incidentRows);
    const ok = tables.every((t) => t.verified === t.source);
    if (!ok) {
      await client.query('ROLLBACK');
      return { tables, ok };
    }
    await client.query('COMMIT');
    return { tables, ok };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
