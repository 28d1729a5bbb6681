/**
 * The people half of the PostgreSQL store. Each change is one transaction of
 * the store's (its retries and error mapping); the rules that span rows (the
 * last admin member, one member per email) are checked under the
 * organization's row lock, which every such change takes first. Sessions are
 * read from the database on every request: none is cached, so a removed
 * member's session fails on its next request on every replica.
 */
import type pg from 'pg';
import { ALL_GRANTING_ROLE_IDS } from '../../core/permissions.ts';
import type { AuditEvent } from '../../core/model.ts';
import { BUILTIN_ROLE_IDS } from '../../core/permissions.ts';
import type { CeremonyRecord, InvitationRecord, MemberRecord, OidcProviderRecord, PasskeyRecord, SessionRecord } from '../../core/people.ts';
import type { AcceptInvitationInput, MemberPatch, PeopleStore, SignInPatch } from '../people-store.ts';
import {
  invitationNotFound,
  invitationRoleDeleted,
  invitationUnusable,
  lastAdminMemberError,
  lastPasskeyError,
  memberExists,
  memberNotFound,
  oidcNotConfigured,
  passkeyNotFound,
  removesAdminMember,
} from '../people-rules.ts';
import { organizationNotFound } from '../rules.ts';
import { applyPatch, changesOf, type Audit } from '../store.ts';
import { INSERT_AUDIT, auditParams } from './rows.ts';

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

interface MemberRow {
  id: string;
  organization_id: string;
  email: string;
  display_name: string;
  role_id: string;
  status: MemberRecord['status'];
  oidc_subject: string | null;
  created_at: Date;
  updated_at: Date;
  last_sign_in_at: Date | null;
}
export const MEMBER_COLUMNS = 'id, organization_id, email, display_name, role_id, status, oidc_subject, created_at, updated_at, last_sign_in_at';
const memberFromRow = (r: MemberRow): MemberRecord => ({
  id: r.id,
  organizationId: r.organization_id,
  email: r.email,
  displayName: r.display_name,
  roleId: r.role_id,
  status: r.status,
  oidcSubject: r.oidc_subject,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
  lastSignInAt: iso(r.last_sign_in_at),
});
export const memberParams = (m: MemberRecord): unknown[] => [m.id, m.organizationId, m.email, m.displayName, m.roleId, m.status, m.oidcSubject, m.createdAt, m.updatedAt, m.lastSignInAt];
const UPSERT_MEMBER = `INSERT INTO members (${MEMBER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
  ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, role_id = EXCLUDED.role_id, status = EXCLUDED.status,
    oidc_subject = EXCLUDED.oidc_subject, updated_at = EXCLUDED.updated_at, last_sign_in_at = EXCLUDED.last_sign_in_at`;

interface InvitationRow {
  id: string;
  organization_id: string;
  email: string;
  role_id: string;
  token_hash: string;
  created_at: Date;
  expires_at: Date;
  invited_by: string | null;
  accepted_at: Date | null;
  revoked_at: Date | null;
  member_id: string | null;
}
export const INVITATION_COLUMNS = 'id, organization_id, email, role_id, token_hash, created_at, expires_at, invited_by, accepted_at, revoked_at, member_id';
const invitationFromRow = (r: InvitationRow): InvitationRecord => ({
  id: r.id,
  organizationId: r.organization_id,
  email: r.email,
  roleId: r.role_id,
  tokenHash: r.token_hash,
  createdAt: r.created_at.toISOString(),
  expiresAt: r.expires_at.toISOString(),
  invitedBy: r.invited_by,
  acceptedAt: iso(r.accepted_at),
  revokedAt: iso(r.revoked_at),
  memberId: r.member_id,
});

export const invitationParams = (i: InvitationRecord): unknown[] => [
  i.id,
  i.organizationId,
  i.email,
  i.roleId,
  i.tokenHash,
  i.createdAt,
  i.expiresAt,
  i.invitedBy,
  i.acceptedAt,
  i.revokedAt,
  i.memberId,
];

interface SessionRow {
  id: string;
  organization_id: string;
  member_id: string;
  token_hash: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  method: SessionRecord['method'];
  ip: string | null;
  user_agent: string | null;
}
const SESSION_COLUMNS = 'id, organization_id, member_id, token_hash, created_at, last_seen_at, expires_at, method, ip, user_agent';
const sessionFromRow = (r: SessionRow): SessionRecord => ({
  id: r.id,
  organizationId: r.organization_id,
  memberId: r.member_id,
  tokenHash: r.token_hash,
  createdAt: r.created_at.toISOString(),
  lastSeenAt: r.last_seen_at.toISOString(),
  expiresAt: r.expires_at.toISOString(),
  method: r.method,
  ip: r.ip,
  userAgent: r.user_agent,
});
const INSERT_SESSION = `INSERT INTO sessions (${SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;
const sessionParams = (s: SessionRecord): unknown[] => [s.id, s.organizationId, s.memberId, s.tokenHash, s.createdAt, s.lastSeenAt, s.expiresAt, s.method, s.ip, s.userAgent];

interface PasskeyRow {
  id: string;
  organization_id: string;
  member_id: string;
  name: string;
  public_key: string;
  counter: string | number;
  transports: string[];
  created_at: Date;
  last_used_at: Date | null;
}
export const PASSKEY_COLUMNS = 'id, organization_id, member_id, name, public_key, counter, transports, created_at, last_used_at';
const passkeyFromRow = (r: PasskeyRow): PasskeyRecord => ({
  id: r.id,
  organizationId: r.organization_id,
  memberId: r.member_id,
  name: r.name,
  publicKey: r.public_key,
  counter: Number(r.counter),
  transports: r.transports,
  createdAt: r.created_at.toISOString(),
  lastUsedAt: iso(r.last_used_at),
});
const INSERT_PASSKEY = `INSERT INTO passkeys (${PASSKEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;
export const passkeyParams = (p: PasskeyRecord): unknown[] => [p.id, p.organizationId, p.memberId, p.name, p.publicKey, p.counter, p.transports, p.createdAt, p.lastUsedAt];

interface OidcProviderRow {
  organization_id: string;
  issuer: string;
  client_id: string;
  client_secret: string;
  name: string;
  allowed_domains: string[];
  updated_at: Date;
}
export const OIDC_PROVIDER_COLUMNS = 'organization_id, issuer, client_id, client_secret, name, allowed_domains, updated_at';
const oidcProviderFromRow = (r: OidcProviderRow): OidcProviderRecord => ({
  organizationId: r.organization_id,
  issuer: r.issuer,
  clientId: r.client_id,
  clientSecret: r.client_secret,
  name: r.name,
  allowedDomains: r.allowed_domains,
  updatedAt: r.updated_at.toISOString(),
});
export const oidcProviderParams = (p: OidcProviderRecord): unknown[] => [p.organizationId, p.issuer, p.clientId, p.clientSecret, p.name, p.allowedDomains, p.updatedAt];

/** What the store lends: its transaction (retries, error mapping, write metrics) and its pool for reads. */
export interface PostgresPlumbing {
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  query<R extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

const insertAudit = (client: pg.PoolClient, event: AuditEvent) => client.query(INSERT_AUDIT, auditParams(event));

async function lockOrganization(client: pg.PoolClient, organizationId: string): Promise<void> {
  const { rowCount } = await client.query('SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE', [organizationId]);
  if (rowCount === 0) throw organizationNotFound(organizationId);
}

export class PostgresPeople implements PeopleStore {
  readonly #db: PostgresPlumbing;

  constructor(db: PostgresPlumbing) {
    this.#db = db;
  }

  async #memberIn(client: pg.PoolClient, organizationId: string, memberId: string): Promise<MemberRecord> {
    const { rows } = await client.query<MemberRow>(`SELECT ${MEMBER_COLUMNS} FROM members WHERE id = $1 AND organization_id = $2 FOR UPDATE`, [memberId, organizationId]);
    if (!rows[0]) throw memberNotFound(memberId);
    return memberFromRow(rows[0]);
  }

  /** Under the organization's row lock: another active all-granting member must remain. */
  async #keepAnAdmin(client: pg.PoolClient, member: MemberRecord, patch: MemberPatch | undefined): Promise<void> {
    if (!removesAdminMember(member, patch)) return;
    const { rowCount } = await client.query(
      "SELECT 1 FROM members WHERE organization_id = $1 AND id <> $2 AND status = 'active' AND role_id = ANY($3::text[]) LIMIT 1",
      [member.organizationId, member.id, ALL_GRANTING_ROLE_IDS],
    );
    if (rowCount === 0) throw lastAdminMemberError(member, patch ? 'update' : 'remove');
  }

  async listMembers(organizationId: string): Promise<MemberRecord[]> {
    const { rows } = await this.#db.query<MemberRow>(`SELECT ${MEMBER_COLUMNS} FROM members WHERE organization_id = $1 ORDER BY created_at, id`, [organizationId]);
    return rows.map(memberFromRow);
  }

  async getMember(organizationId: string, memberId: string): Promise<MemberRecord | undefined> {
    const { rows } = await this.#db.query<MemberRow>(`SELECT ${MEMBER_COLUMNS} FROM members WHERE id = $1 AND organization_id = $2`, [memberId, organizationId]);
    return rows[0] ? memberFromRow(rows[0]) : undefined;
  }

  async findMemberByEmail(organizationId: string, email: string): Promise<MemberRecord | undefined> {
    const { rows } = await this.#db.query<MemberRow>(`SELECT ${MEMBER_COLUMNS} FROM members WHERE organization_id = $1 AND email = $2`, [organizationId, email]);
    return rows[0] ? memberFromRow(rows[0]) : undefined;
  }

  async updateMember(organizationId: string, memberId: string, patch: MemberPatch, now: string, endSessions: boolean, audit: Audit): Promise<MemberRecord> {
    return this.#db.transaction(async (client) => {
      await lockOrganization(client, organizationId);
      const member = await this.#memberIn(client, organizationId, memberId);
      await this.#keepAnAdmin(client, member, patch);
      // The custom role being given cannot be deleted until this transaction ends (built-in roles have no row).
      if (patch.roleId !== undefined) await client.query('SELECT 1 FROM custom_roles WHERE organization_id = $1 AND id = $2 FOR SHARE', [organizationId, patch.roleId]);
      await client.query(UPSERT_MEMBER, memberParams({ ...applyPatch(member, patch), updatedAt: now }));
      if (endSessions) await client.query('DELETE FROM sessions WHERE member_id = $1', [memberId]);
      await insertAudit(client, { ...audit, changes: changesOf(member, patch) });
      return member;
    });
  }

  async removeMember(organizationId: string, memberId: string, audit: Audit): Promise<MemberRecord> {
    return this.#db.transaction(async (client) => {
      await lockOrganization(client, organizationId);
      const member = await this.#memberIn(client, organizationId, memberId);
      await this.#keepAnAdmin(client, member, undefined);
      // Sessions and passkeys go with it (ON DELETE CASCADE).
      await client.query('DELETE FROM members WHERE id = $1', [memberId]);
      await insertAudit(client, audit);
      return member;
    });
  }

  async insertMember(member: MemberRecord, audit: Audit): Promise<void> {
    await this.#db.transaction(async (client) => {
      await lockOrganization(client, member.organizationId);
      const { rowCount } = await client.query('SELECT 1 FROM members WHERE organization_id = $1 AND email = $2', [member.organizationId, member.email]);
      if (rowCount) throw memberExists(member.email);
      // The custom role given cannot be deleted until this transaction ends (as in updateMember).
      await client.query('SELECT 1 FROM custom_roles WHERE organization_id = $1 AND id = $2 FOR SHARE', [member.organizationId, member.roleId]);
      await client.query(UPSERT_MEMBER, memberParams(member));
      await insertAudit(client, audit);
    });
  }

  async insertInvitation(invitation: InvitationRecord, audit: Audit): Promise<void> {
    await this.#db.transaction(async (client) => {
      await lockOrganization(client, invitation.organizationId);
      const { rowCount } = await client.query('SELECT 1 FROM members WHERE organization_id = $1 AND email = $2', [invitation.organizationId, invitation.email]);
      if (rowCount) throw memberExists(invitation.email);
      await client.query(`INSERT INTO invitations (${INVITATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, invitationParams(invitation));
      await insertAudit(client, audit);
    });
  }

  async listInvitations(organizationId: string): Promise<InvitationRecord[]> {
    const { rows } = await this.#db.query<InvitationRow>(`SELECT ${INVITATION_COLUMNS} FROM invitations WHERE organization_id = $1 ORDER BY created_at, id`, [organizationId]);
    return rows.map(invitationFromRow);
  }

  async findInvitationByHash(tokenHash: string): Promise<InvitationRecord | undefined> {
    const { rows } = await this.#db.query<InvitationRow>(`SELECT ${INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1`, [tokenHash]);
    return rows[0] ? invitationFromRow(rows[0]) : undefined;
  }

  async revokeInvitation(organizationId: string, invitationId: string, at: string, audit: Audit): Promise<InvitationRecord> {
    return this.#db.transaction(async (client) => {
      const { rows } = await client.query<InvitationRow>(`SELECT ${INVITATION_COLUMNS} FROM invitations WHERE id = $1 AND organization_id = $2 FOR UPDATE`, [
        invitationId,
        organizationId,
      ]);
      if (!rows[0]) throw invitationNotFound();
      const invitation = invitationFromRow(rows[0]);
      const unusable = invitationUnusable(invitation, Date.parse(at));
      if (unusable && unusable.code !== 'INVITATION_EXPIRED') throw unusable;
      await client.query('UPDATE invitations SET revoked_at = $2 WHERE id = $1', [invitationId, at]);
      await insertAudit(client, audit);
      return { ...invitation, revokedAt: at };
    });
  }

  async acceptInvitation(input: AcceptInvitationInput, audit: Audit): Promise<InvitationRecord> {
    return this.#db.transaction(async (client) => {
      const { rows } = await client.query<InvitationRow>(`SELECT ${INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1 FOR UPDATE`, [input.tokenHash]);
      const invitation = rows[0] ? invitationFromRow(rows[0]) : undefined;
      const unusable = invitationUnusable(invitation, input.now);
      if (unusable) throw unusable;
      await lockOrganization(client, invitation!.organizationId);
      const { rowCount } = await client.query('SELECT 1 FROM members WHERE organization_id = $1 AND email = $2', [invitation!.organizationId, input.member.email]);
      if (rowCount) throw memberExists(input.member.email);
      // Its custom role must still be there, and stays until this commits (a deletion waits, then sees the member).
      if (!BUILTIN_ROLE_IDS.includes(invitation!.roleId)) {
        const role = await client.query('SELECT 1 FROM custom_roles WHERE organization_id = $1 AND id = $2 FOR SHARE', [invitation!.organizationId, invitation!.roleId]);
        if (role.rowCount === 0) throw invitationRoleDeleted(invitation!);
      }
      const acceptedAt = new Date(input.now).toISOString();
      await client.query('UPDATE invitations SET accepted_at = $2, member_id = $3 WHERE id = $1', [invitation!.id, acceptedAt, input.member.id]);
      await client.query(UPSERT_MEMBER, memberParams(input.member));
      if (input.passkey) await client.query(INSERT_PASSKEY, passkeyParams(input.passkey));
      await client.query(INSERT_SESSION, sessionParams(input.session));
      await insertAudit(client, audit);
      return { ...invitation!, acceptedAt, memberId: input.member.id };
    });
  }

  async insertSession(session: SessionRecord, member: SignInPatch, audit: Audit): Promise<void> {
    await this.#db.transaction(async (client) => {
      const current = await this.#memberIn(client, session.organizationId, session.memberId);
      await client.query(UPSERT_MEMBER, memberParams({ ...current, ...member }));
      await client.query(INSERT_SESSION, sessionParams(session));
      await insertAudit(client, audit);
    });
  }

  async findSessionByHash(tokenHash: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.#db.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE token_hash = $1`, [tokenHash]);
    return rows[0] ? sessionFromRow(rows[0]) : undefined;
  }

  async touchSession(sessionId: string, at: string): Promise<void> {
    await this.#db.query('UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id = $1', [sessionId, at]);
  }

  async deleteSession(sessionId: string, audit: Audit | null): Promise<void> {
    await this.#db.transaction(async (client) => {
      const { rowCount } = await client.query('DELETE FROM sessions WHERE id = $1', [sessionId]);
      if (rowCount && audit) await insertAudit(client, audit);
    });
  }

  async deleteMemberSessions(organizationId: string, memberId: string, audit: Audit): Promise<number> {
    return this.#db.transaction(async (client) => {
      const { rowCount } = await client.query('DELETE FROM sessions WHERE organization_id = $1 AND member_id = $2', [organizationId, memberId]);
      await insertAudit(client, { ...audit, changes: { after: { sessionsEnded: rowCount ?? 0 } } });
      return rowCount ?? 0;
    });
  }

  async listMemberSessions(organizationId: string, memberId: string): Promise<SessionRecord[]> {
    const { rows } = await this.#db.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE organization_id = $1 AND member_id = $2 ORDER BY created_at`, [
      organizationId,
      memberId,
    ]);
    return rows.map(sessionFromRow);
  }

  async listPasskeys(organizationId: string, memberId: string): Promise<PasskeyRecord[]> {
    const { rows } = await this.#db.query<PasskeyRow>(`SELECT ${PASSKEY_COLUMNS} FROM passkeys WHERE organization_id = $1 AND member_id = $2 ORDER BY created_at`, [
      organizationId,
      memberId,
    ]);
    return rows.map(passkeyFromRow);
  }

  async findPasskey(credentialId: string): Promise<PasskeyRecord | undefined> {
    const { rows } = await this.#db.query<PasskeyRow>(`SELECT ${PASSKEY_COLUMNS} FROM passkeys WHERE id = $1`, [credentialId]);
    return rows[0] ? passkeyFromRow(rows[0]) : undefined;
  }

  async insertPasskey(passkey: PasskeyRecord, audit: Audit): Promise<void> {
    await this.#db.transaction(async (client) => {
      await this.#memberIn(client, passkey.organizationId, passkey.memberId);
      await client.query(INSERT_PASSKEY, passkeyParams(passkey));
      await insertAudit(client, audit);
    });
  }

  async recordPasskeyUse(credentialId: string, counter: number, at: string): Promise<void> {
    await this.#db.query('UPDATE passkeys SET counter = $2, last_used_at = $3 WHERE id = $1', [credentialId, counter, at]);
  }

  async deletePasskey(organizationId: string, memberId: string, credentialId: string, audit: Audit): Promise<void> {
    await this.#db.transaction(async (client) => {
      const member = await this.#memberIn(client, organizationId, memberId);
      const { rows } = await client.query<{ id: string }>('SELECT id FROM passkeys WHERE member_id = $1 FOR UPDATE', [memberId]);
      if (!rows.some((r) => r.id === credentialId)) throw passkeyNotFound();
      if (rows.length === 1 && member.oidcSubject === null) throw lastPasskeyError();
      await client.query('DELETE FROM passkeys WHERE id = $1', [credentialId]);
      await insertAudit(client, audit);
    });
  }

  async getOidcProvider(organizationId: string): Promise<OidcProviderRecord | undefined> {
    const { rows } = await this.#db.query<OidcProviderRow>(`SELECT ${OIDC_PROVIDER_COLUMNS} FROM oidc_providers WHERE organization_id = $1`, [organizationId]);
    return rows[0] ? oidcProviderFromRow(rows[0]) : undefined;
  }

  async putOidcProvider(provider: OidcProviderRecord, audit: Audit): Promise<OidcProviderRecord | undefined> {
    return this.#db.transaction(async (client) => {
      await lockOrganization(client, provider.organizationId);
      const { rows } = await client.query<OidcProviderRow>(`SELECT ${OIDC_PROVIDER_COLUMNS} FROM oidc_providers WHERE organization_id = $1`, [provider.organizationId]);
      await client.query(
        `INSERT INTO oidc_providers (${OIDC_PROVIDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
          ON CONFLICT (organization_id) DO UPDATE SET issuer = EXCLUDED.issuer, client_id = EXCLUDED.client_id, client_secret = EXCLUDED.client_secret,
            name = EXCLUDED.name, allowed_domains = EXCLUDED.allowed_domains, updated_at = EXCLUDED.updated_at`,
        oidcProviderParams(provider),
      );
      await insertAudit(client, audit);
      return rows[0] ? oidcProviderFromRow(rows[0]) : undefined;
    });
  }

  async deleteOidcProvider(organizationId: string, audit: Audit): Promise<OidcProviderRecord> {
    return this.#db.transaction(async (client) => {
      const { rows } = await client.query<OidcProviderRow>(`DELETE FROM oidc_providers WHERE organization_id = $1 RETURNING ${OIDC_PROVIDER_COLUMNS}`, [organizationId]);
      if (!rows[0]) throw oidcNotConfigured();
      await insertAudit(client, audit);
      return oidcProviderFromRow(rows[0]);
    });
  }

  async oidcProviderOrganizations(query: { domain?: string; limit: number }): Promise<string[]> {
    // @> on the array is what the GIN index of migration 0010 serves.
    const { rows } =
      query.domain === undefined
        ? await this.#db.query<{ organization_id: string }>('SELECT organization_id FROM oidc_providers LIMIT $1', [query.limit])
        : await this.#db.query<{ organization_id: string }>('SELECT organization_id FROM oidc_providers WHERE allowed_domains @> ARRAY[$1::text] LIMIT $2', [query.domain, query.limit]);
    return rows.map((r) => r.organization_id);
  }

  async putCeremony(ceremony: CeremonyRecord): Promise<void> {
    await this.#db.transaction(async (client) => {
      // Expired ceremonies nobody finished are dropped as new ones start.
      await client.query('DELETE FROM ceremonies WHERE expires_at <= now()');
      await client.query('INSERT INTO ceremonies (id_hash, kind, expires_at, data) VALUES ($1, $2, $3, $4)', [
        ceremony.idHash,
        ceremony.kind,
        ceremony.expiresAt,
        JSON.stringify(ceremony.data),
      ]);
    });
  }

  async takeCeremony(idHash: string, now: number): Promise<CeremonyRecord | undefined> {
    // DELETE … RETURNING: of two concurrent takes, one gets the row.
    const { rows } = await this.#db.query<{ id_hash: string; kind: CeremonyRecord['kind']; expires_at: Date; data: Record<string, string> }>(
      'DELETE FROM ceremonies WHERE id_hash = $1 RETURNING id_hash, kind, expires_at, data',
      [idHash],
    );
    const row = rows[0];
    if (!row || row.expires_at.getTime() <= now) return undefined;
    return { idHash: row.id_hash, kind: row.kind, expiresAt: row.expires_at.toISOString(), data: row.data };
  }
}
