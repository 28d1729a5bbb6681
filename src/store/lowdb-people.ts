/**
 * The people half of the lowdb store: records held in memory, indexed here,
 * and journaled through the store's commit as whole-record puts and deletes
 * (ops of type 'row' and 'row-'), so replay is the same code as a change.
 */
import type { AuditEvent } from '../core/model.ts';
import { invitationStatus, type CeremonyRecord, type InvitationRecord, type MemberRecord, type OidcProviderRecord, type PasskeyRecord, type SessionRecord } from '../core/people.ts';
import type { AcceptInvitationInput, MemberPatch, PeopleStore, SignInPatch } from './people-store.ts';
import {
  invitationNotFound,
  invitationRoleDeleted,
  invitationUnusable,
  isActiveAdminMember,
  lastAdminMemberError,
  lastPasskeyError,
  memberExists,
  memberNotFound,
  oidcNotConfigured,
  passkeyNotFound,
  removesAdminMember,
} from './people-rules.ts';
import { applyPatch, changesOf, type Audit } from './store.ts';

export interface PeopleTables {
  members: MemberRecord[];
  invitations: InvitationRecord[];
  sessions: SessionRecord[];
  passkeys: PasskeyRecord[];
  ceremonies: CeremonyRecord[];
  /** One per organization that set its own (keyed by organization id). */
  oidcProviders: OidcProviderRecord[];
}
export type PeopleTable = keyof PeopleTables;

export const emptyPeopleTables = (): PeopleTables => ({ members: [], invitations: [], sessions: [], passkeys: [], ceremonies: [], oidcProviders: [] });

/** A journal record of the people tables. */
export type PeopleOp = { t: 'row'; table: PeopleTable; v: PeopleTables[PeopleTable][number] } | { t: 'row-'; table: PeopleTable; id: string };

const idOf = (table: PeopleTable, row: PeopleTables[PeopleTable][number]): string => {
  if (table === 'ceremonies') return (row as CeremonyRecord).idHash;
  if (table === 'oidcProviders') return (row as OidcProviderRecord).organizationId;
  return (row as { id: string }).id;
};

type Change = (...ops: ({ t: 'audit'; v: AuditEvent } | PeopleOp)[]) => Promise<void>;
/** Whether a role exists (built-in or the organization's custom one), synchronously: a check and its change in one tick. */
type RoleExists = (organizationId: string, roleId: string) => boolean;

export class LowdbPeople implements PeopleStore {
  readonly #data: PeopleTables;
  readonly #change: Change;
  readonly #roleExists: RoleExists;
  readonly #byId: { [T in PeopleTable]: Map<string, PeopleTables[T][number]> } = {
    members: new Map(),
    invitations: new Map(),
    sessions: new Map(),
    passkeys: new Map(),
    ceremonies: new Map(),
    oidcProviders: new Map(),
  };
  readonly #invitationsByHash = new Map<string, InvitationRecord>();
  readonly #sessionsByHash = new Map<string, SessionRecord>();

  constructor(data: PeopleTables, change: Change, roleExists: RoleExists) {
    this.#data = data;
    this.#change = change;
    this.#roleExists = roleExists;
    for (const table of Object.keys(this.#byId) as PeopleTable[]) for (const row of data[table]) this.#index(table, row);
  }

  #index(table: PeopleTable, row: PeopleTables[PeopleTable][number]): void {
    this.#byId[table].set(idOf(table, row), row as never);
    if (table === 'invitations') this.#invitationsByHash.set((row as InvitationRecord).tokenHash, row as InvitationRecord);
    if (table === 'sessions') this.#sessionsByHash.set((row as SessionRecord).tokenHash, row as SessionRecord);
  }

  /** Replays one op (the store's #apply calls this for 'row' and 'row-'). */
  apply(op: PeopleOp): void {
    const list = this.#data[op.table] as PeopleTables[PeopleTable][number][];
    const index = this.#byId[op.table] as Map<string, PeopleTables[PeopleTable][number]>;
    if (op.t === 'row') {
      const existing = index.get(idOf(op.table, op.v));
      if (existing) Object.assign(existing, op.v);
      else {
        list.push(op.v);
        this.#index(op.table, op.v);
      }
      return;
    }
    const existing = index.get(op.id);
    if (!existing) return;
    list.splice(list.indexOf(existing), 1);
    index.delete(op.id);
    if (op.table === 'invitations') this.#invitationsByHash.delete((existing as InvitationRecord).tokenHash);
    if (op.table === 'sessions') this.#sessionsByHash.delete((existing as SessionRecord).tokenHash);
  }

  #members(organizationId: string): MemberRecord[] {
    return this.#data.members.filter((m) => m.organizationId === organizationId);
  }

  #member(organizationId: string, memberId: string): MemberRecord {
    const member = this.#byId.members.get(memberId);
    if (!member || member.organizationId !== organizationId) throw memberNotFound(memberId);
    return member;
  }

  #keepAnAdmin(member: MemberRecord, patch: MemberPatch | undefined): void {
    if (!removesAdminMember(member, patch)) return;
    const another = this.#members(member.organizationId).some((other) => other.id !== member.id && isActiveAdminMember(other));
    if (!another) throw lastAdminMemberError(member, patch ? 'update' : 'remove');
  }

  #sessionsOf(memberId: string): SessionRecord[] {
    return this.#data.sessions.filter((s) => s.memberId === memberId);
  }

  #endSessions(memberId: string): PeopleOp[] {
    return this.#sessionsOf(memberId).map((s) => ({ t: 'row-', table: 'sessions', id: s.id }));
  }

  /** Members holding a role (synchronous: the store's role deletion checks it in the same tick as the delete). */
  holdersOf(organizationId: string, roleId: string): MemberRecord[] {
    return this.#members(organizationId).filter((m) => m.roleId === roleId);
  }

  /** Pending invitations giving a role (synchronous, as holdersOf): they hold it until accepted, revoked or expired. */
  pendingInvitationsFor(organizationId: string, roleId: string, now: number): InvitationRecord[] {
    return this.#data.invitations.filter((i) => i.organizationId === organizationId && i.roleId === roleId && invitationStatus(i, now) === 'pending');
  }

  async listMembers(organizationId: string): Promise<MemberRecord[]> {
    return this.#members(organizationId);
  }

  async getMember(organizationId: string, memberId: string): Promise<MemberRecord | undefined> {
    const member = this.#byId.members.get(memberId);
    return member?.organizationId === organizationId ? member : undefined;
  }

  async findMemberByEmail(organizationId: string, email: string): Promise<MemberRecord | undefined> {
    return this.#byEmail(organizationId, email);
  }

  /** Synchronous, so a check and the change it guards happen in one tick (nothing interleaves). */
  #byEmail(organizationId: string, email: string): MemberRecord | undefined {
    return this.#data.members.find((m) => m.organizationId === organizationId && m.email === email);
  }

  async updateMember(organizationId: string, memberId: string, patch: MemberPatch, now: string, endSessions: boolean, audit: Audit): Promise<MemberRecord> {
    const member = this.#member(organizationId, memberId);
    this.#keepAnAdmin(member, patch);
    const changes = changesOf(member, patch);
    const previous = { ...member };
    await this.#change(
      { t: 'row', table: 'members', v: { ...applyPatch(member, patch), updatedAt: now } },
      ...(endSessions ? this.#endSessions(memberId) : []),
      { t: 'audit', v: { ...audit, changes } },
    );
    return previous;
  }

  async removeMember(organizationId: string, memberId: string, audit: Audit): Promise<MemberRecord> {
    const member = this.#member(organizationId, memberId);
    this.#keepAnAdmin(member, undefined);
    const passkeys = this.#data.passkeys.filter((p) => p.memberId === memberId);
    await this.#change(
      ...this.#endSessions(memberId),
      ...passkeys.map((p): PeopleOp => ({ t: 'row-', table: 'passkeys', id: p.id })),
      { t: 'row-', table: 'members', id: memberId },
      { t: 'audit', v: audit },
    );
    return member;
  }

  async insertMember(member: MemberRecord, audit: Audit): Promise<void> {
    if (this.#byEmail(member.organizationId, member.email)) throw memberExists(member.email);
    await this.#change({ t: 'row', table: 'members', v: member }, { t: 'audit', v: audit });
  }

  async insertInvitation(invitation: InvitationRecord, audit: Audit): Promise<void> {
    if (this.#byEmail(invitation.organizationId, invitation.email)) throw memberExists(invitation.email);
    await this.#change({ t: 'row', table: 'invitations', v: invitation }, { t: 'audit', v: audit });
  }

  async listInvitations(organizationId: string): Promise<InvitationRecord[]> {
    return this.#data.invitations.filter((i) => i.organizationId === organizationId);
  }

  async findInvitationByHash(tokenHash: string): Promise<InvitationRecord | undefined> {
    return this.#invitationsByHash.get(tokenHash);
  }

  async revokeInvitation(organizationId: string, invitationId: string, at: string, audit: Audit): Promise<InvitationRecord> {
    const invitation = this.#byId.invitations.get(invitationId);
    if (!invitation || invitation.organizationId !== organizationId) throw invitationNotFound();
    const unusable = invitationUnusable(invitation, Date.parse(at));
    // An expired invitation may still be revoked (it leaves the pending list either way).
    if (unusable && unusable.code !== 'INVITATION_EXPIRED') throw unusable;
    const revoked = { ...invitation, revokedAt: at };
    await this.#change({ t: 'row', table: 'invitations', v: revoked }, { t: 'audit', v: audit });
    return revoked;
  }

  async acceptInvitation(input: AcceptInvitationInput, audit: Audit): Promise<InvitationRecord> {
    const invitation = this.#invitationsByHash.get(input.tokenHash);
    const unusable = invitationUnusable(invitation, input.now);
    if (unusable) throw unusable;
    if (this.#byEmail(invitation!.organizationId, input.member.email)) throw memberExists(input.member.email);
    if (!this.#roleExists(invitation!.organizationId, invitation!.roleId)) throw invitationRoleDeleted(invitation!);
    const accepted: InvitationRecord = { ...invitation!, acceptedAt: new Date(input.now).toISOString(), memberId: input.member.id };
    await this.#change(
      { t: 'row', table: 'invitations', v: accepted },
      { t: 'row', table: 'members', v: input.member },
      ...(input.passkey ? [{ t: 'row', table: 'passkeys', v: input.passkey } as PeopleOp] : []),
      { t: 'row', table: 'sessions', v: input.session },
      { t: 'audit', v: audit },
    );
    return accepted;
  }

  async insertSession(session: SessionRecord, member: SignInPatch, audit: Audit): Promise<void> {
    const current = this.#member(session.organizationId, session.memberId);
    await this.#change({ t: 'row', table: 'members', v: { ...current, ...member } }, { t: 'row', table: 'sessions', v: session }, { t: 'audit', v: audit });
  }

  async findSessionByHash(tokenHash: string): Promise<SessionRecord | undefined> {
    return this.#sessionsByHash.get(tokenHash);
  }

  async touchSession(sessionId: string, at: string): Promise<void> {
    const session = this.#byId.sessions.get(sessionId);
    if (session) await this.#change({ t: 'row', table: 'sessions', v: { ...session, lastSeenAt: at } });
  }

  async deleteSession(sessionId: string, audit: Audit | null): Promise<void> {
    if (!this.#byId.sessions.has(sessionId)) return;
    await this.#change({ t: 'row-', table: 'sessions', id: sessionId }, ...(audit ? [{ t: 'audit', v: audit } as const] : []));
  }

  async deleteMemberSessions(organizationId: string, memberId: string, audit: Audit): Promise<number> {
    const ops = this.#endSessions(memberId).filter((op) => op.t === 'row-' && this.#byId.sessions.get(op.id)?.organizationId === organizationId);
    await this.#change(...ops, { t: 'audit', v: { ...audit, changes: { after: { sessionsEnded: ops.length } } } });
    return ops.length;
  }

  async listMemberSessions(organizationId: string, memberId: string): Promise<SessionRecord[]> {
    return this.#sessionsOf(memberId).filter((s) => s.organizationId === organizationId);
  }

  async listPasskeys(organizationId: string, memberId: string): Promise<PasskeyRecord[]> {
    return this.#data.passkeys.filter((p) => p.organizationId === organizationId && p.memberId === memberId);
  }

  async findPasskey(credentialId: string): Promise<PasskeyRecord | undefined> {
    return this.#byId.passkeys.get(credentialId);
  }

  async insertPasskey(passkey: PasskeyRecord, audit: Audit): Promise<void> {
    this.#member(passkey.organizationId, passkey.memberId);
    await this.#change({ t: 'row', table: 'passkeys', v: passkey }, { t: 'audit', v: audit });
  }

  async recordPasskeyUse(credentialId: string, counter: number, at: string): Promise<void> {
    const passkey = this.#byId.passkeys.get(credentialId);
    if (passkey) await this.#change({ t: 'row', table: 'passkeys', v: { ...passkey, counter, lastUsedAt: at } });
  }

  async deletePasskey(organizationId: string, memberId: string, credentialId: string, audit: Audit): Promise<void> {
    const passkey = this.#byId.passkeys.get(credentialId);
    if (!passkey || passkey.organizationId !== organizationId || passkey.memberId !== memberId) throw passkeyNotFound();
    const member = this.#member(organizationId, memberId);
    const others = this.#data.passkeys.filter((p) => p.memberId === memberId && p.id !== credentialId).length;
    if (others === 0 && member.oidcSubject === null) throw lastPasskeyError();
    await this.#change({ t: 'row-', table: 'passkeys', id: credentialId }, { t: 'audit', v: audit });
  }

  async getOidcProvider(organizationId: string): Promise<OidcProviderRecord | undefined> {
    return this.#byId.oidcProviders.get(organizationId);
  }

  async putOidcProvider(provider: OidcProviderRecord, audit: Audit): Promise<OidcProviderRecord | undefined> {
    const previous = this.#byId.oidcProviders.get(provider.organizationId);
    const before = previous ? { ...previous } : undefined;
    await this.#change({ t: 'row', table: 'oidcProviders', v: provider }, { t: 'audit', v: audit });
    return before;
  }

  async deleteOidcProvider(organizationId: string, audit: Audit): Promise<OidcProviderRecord> {
    const provider = this.#byId.oidcProviders.get(organizationId);
    if (!provider) throw oidcNotConfigured();
    await this.#change({ t: 'row-', table: 'oidcProviders', id: organizationId }, { t: 'audit', v: audit });
    return provider;
  }

  async oidcProviderOrganizations(query: { domain?: string; limit: number }): Promise<string[]> {
    const found: string[] = [];
    for (const provider of this.#byId.oidcProviders.values()) {
      if (found.length >= query.limit) break;
      if (query.domain === undefined || provider.allowedDomains.includes(query.domain)) found.push(provider.organizationId);
    }
    return found;
  }

  async putCeremony(ceremony: CeremonyRecord): Promise<void> {
    // Expired ceremonies nobody finished are dropped as new ones start.
    const now = Date.now();
    const stale = this.#data.ceremonies.filter((c) => Date.parse(c.expiresAt) <= now).map((c): PeopleOp => ({ t: 'row-', table: 'ceremonies', id: c.idHash }));
    await this.#change(...stale, { t: 'row', table: 'ceremonies', v: ceremony });
  }

  async takeCeremony(idHash: string, now: number): Promise<CeremonyRecord | undefined> {
    const ceremony = this.#byId.ceremonies.get(idHash);
    if (!ceremony) return undefined;
    // Removed from memory before the write is awaited: a second take in the meantime finds nothing.
    this.apply({ t: 'row-', table: 'ceremonies', id: idHash });
    await this.#change({ t: 'row-', table: 'ceremonies', id: idHash });
    return Date.parse(ceremony.expiresAt) > now ? ceremony : undefined;
  }
}
