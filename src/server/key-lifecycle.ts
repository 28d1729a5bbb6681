/** Keys: create, list, get, edit, revoke, rotate, and verify for downstream APIs. */
import type { z } from 'zod';
import { parseDuration } from '../core/duration.ts';
import { KeywardError } from '../core/errors.ts';
import { issueKey } from '../core/issue.ts';
import type { MaybePromise } from '../core/maybe.ts';
import type { KeyView } from '../core/model.ts';
import { requireCanGrant } from '../core/permissions.ts';
import { DEFAULT_QUIET_PERIOD, type Retirement } from '../core/retirement.ts';
import { successorName } from '../core/rotation.ts';
import { KEY_ID_PATTERN } from '../core/token.ts';
import type * as schemas from '../core/schemas.ts';
import type { KeyCursor, KeyPatch } from '../store/store.ts';
import { actorId, checkedSecret, gatherKey, verifyVerdict, type KeyFacts, type Principal, type VerifyResult } from './auth.ts';
import type { ServiceContext } from './context.ts';

type Parsed<T extends z.ZodType> = z.output<T>;

const encodeCursor = (cursor: KeyCursor): string => Buffer.from(`${cursor.createdAt}|${cursor.id}`).toString('base64url');

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A cursor this API returned: a creation time as the stores write it, and a key id. Anything else is the client's mistake. */
function decodeCursor(text: string): KeyCursor {
  const [createdAt, id, ...rest] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || rest.length > 0 || !CURSOR_TIME.test(createdAt) || Number.isNaN(Date.parse(createdAt)) || !KEY_ID_PATTERN.test(id)) {
    throw new KeywardError('VALIDATION_FAILED', 'cursor: not a cursor returned by this API', {
      details: [{ path: 'cursor', message: 'not a cursor returned by this API' }],
    });
  }
  return { createdAt, id };
}

export class KeyLifecycle {
  readonly #ctx: ServiceContext;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
  }

  async create(principal: Principal, body: Parsed<typeof schemas.CreateKeyBody>) {
    const ctx = this.#ctx;
    const role = await ctx.roleResolver.require(principal.organization.id, body.role);
    requireCanGrant(principal.permissions, role);
    const now = ctx.clock();
    const { record, secret } = issueKey({
      organizationId: principal.organization.id,
      name: body.name,
      roleId: role.id,
      environment: body.environment,
      metadata: body.metadata,
      ipAllowlist: body.ipAllowlist,
      expiresAt: body.expiresAt ? new Date(body.expiresAt).toISOString() : null,
      createdBy: actorId(principal),
      idempotencyKey: body.idempotencyKey ?? null,
      tokenPrefix: ctx.tokenPrefix,
      rotationDays: principal.organization.rotationDays,
      now,
    });
    const audit = ctx.audit(principal, record.organizationId, 'key.created', 'key', record.id, {
      after: { name: record.name, role: record.roleId, environment: record.environment, ipAllowlist: record.ipAllowlist },
    });
    await ctx.store.insertKey(record, { activeLimit: ctx.activeKeyLimit(principal.organization), now: now.getTime() }, audit);
    return { key: ctx.view(record), secret };
  }

  async list(principal: Principal, query: Parsed<typeof schemas.ListKeysQuery>) {
    const ctx = this.#ctx;
    const now = ctx.nowMs();
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    // Usage filters read lastUsedAt from the store: bring it up to date first (once the request is known to be valid).
    if (query.unusedFor !== undefined) await ctx.usage.flush();
    const page = await ctx.store.listKeys(principal.organization.id, {
      status: query.status,
      roleId: query.role,
      environment: query.environment,
      limit: query.limit,
      after,
      now,
      unusedSince: query.unusedFor !== undefined ? new Date(now - parseDuration(query.unusedFor)).toISOString() : undefined,
      rotationDueBefore: query.rotationDue === 'true' ? new Date(now).toISOString() : undefined,
    });
    return { items: page.items.map((key) => ctx.view(key)), nextCursor: page.next ? encodeCursor(page.next) : null };
  }

  async get(principal: Principal, keyId: string): Promise<KeyView> {
    return this.#ctx.view(await this.#ctx.requireKey(principal, keyId));
  }

  /** Many keys by id, in one store read; ids of other organizations' keys are as missing as ids of none. */
  async batchGet(principal: Principal, body: Parsed<typeof schemas.BatchGetKeysBody>) {
    const ids = [...new Set(body.ids)];
    const found = await this.#ctx.store.getKeys(principal.organization.id, ids);
    const byId = new Map(found.map((key) => [key.id, key]));
    return {
      items: ids.filter((id) => byId.has(id)).map((id) => this.#ctx.view(byId.get(id)!)),
      missing: ids.filter((id) => !byId.has(id)),
    };
  }

  async update(principal: Principal, keyId: string, body: Parsed<typeof schemas.UpdateKeyBody>): Promise<KeyView> {
    const ctx = this.#ctx;
    const key = await ctx.requireKey(principal, keyId);
    // Editing a key that holds more than the caller would let the caller act on it.
    const current = await ctx.roleResolver.find(principal.organization.id, key.roleId);
    if (current) requireCanGrant(principal.permissions, current);
    if (body.role !== undefined && body.role !== key.roleId) {
      requireCanGrant(principal.permissions, await ctx.roleResolver.require(principal.organization.id, body.role));
    }
    const patch: KeyPatch = {};
    if (body.name !== undefined) patch.name = body.name;
    if (body.role !== undefined) patch.roleId = body.role;
    if (body.ipAllowlist !== undefined) patch.ipAllowlist = body.ipAllowlist;
    if (body.metadata !== undefined) patch.metadata = body.metadata;
    const audit = ctx.audit(principal, key.organizationId, 'key.updated', 'key', key.id);
    return ctx.view(await ctx.store.updateKey(principal.organization.id, keyId, patch, ctx.nowMs(), audit));
  }

  /** Revokes a key; `reason` (the caller's words, e.g. the operator's why) goes into the audit record's `after`. */
  async revoke(principal: Principal, keyId: string, reason?: string): Promise<KeyView> {
    const ctx = this.#ctx;
    const key = await ctx.requireKey(principal, keyId);
    // As for edit and rotate: revoking a key that holds more than the caller would let it act above its rights.
    const role = await ctx.roleResolver.find(principal.organization.id, key.roleId);
    if (role) requireCanGrant(principal.permissions, role);
    const audit = ctx.audit(principal, key.organizationId, 'key.revoked', 'key', key.id, {
      before: { status: 'active', name: key.name },
      ...(reason !== undefined ? { after: { status: 'revoked', reason } } : {}),
    });
    return ctx.view(await ctx.store.revokeKey(principal.organization.id, keyId, ctx.clock().toISOString(), audit));
  }

  async rotate(principal: Principal, keyId: string, body: Parsed<typeof schemas.RotateKeyBody>) {
    const ctx = this.#ctx;
    const old = await ctx.requireKey(principal, keyId);
    requireCanGrant(principal.permissions, await ctx.roleResolver.require(principal.organization.id, old.roleId));
    const graceMs = parseDuration(body.gracePeriod);
    const bound = principal.organization.maxGracePeriod;
    if (graceMs > parseDuration(bound)) {
      const message = `must be at most ${bound} (this organization's maxGracePeriod, set by whoever runs the service)`;
      throw new KeywardError('VALIDATION_FAILED', `gracePeriod: ${message}`, { details: [{ path: 'gracePeriod', message }] });
    }
    const now = ctx.clock();
    const previousExpiresAt = new Date(now.getTime() + graceMs).toISOString();
    const { record, secret } = issueKey({
      organizationId: old.organizationId,
      name: body.name ?? successorName(old.name),
      roleId: old.roleId,
      environment: old.environment,
      metadata: old.metadata,
      ipAllowlist: old.ipAllowlist,
      // The store sets it: the deadline of the key it replaces (a rotation never extends a key's life).
      expiresAt: null,
      createdBy: actorId(principal),
      idempotencyKey: body.idempotencyKey ?? null,
      rotatedFromId: old.id,
      tokenPrefix: ctx.tokenPrefix,
      rotationDays: principal.organization.rotationDays,
      now,
    });
    const retirement: Retirement = {
      revokeOld: body.revokeOld,
      quietPeriod: body.revokeOld === 'whenUnused' ? (body.quietPeriod ?? DEFAULT_QUIET_PERIOD) : null,
      rotatedAt: now.toISOString(),
      endedAt: null,
      endedBy: null,
    };
    const audit = ctx.audit(principal, old.organizationId, 'key.rotated', 'key', old.id, {
      after: {
        successorId: record.id,
        successorName: record.name,
        gracePeriod: body.gracePeriod,
        previousExpiresAt,
        revokeOld: retirement.revokeOld,
        ...(retirement.quietPeriod !== null ? { quietPeriod: retirement.quietPeriod } : {}),
      },
    });
    const { previous, successor } = await ctx.store.rotateKey(
      {
        organizationId: old.organizationId,
        keyId: old.id,
        successor: record,
        previousExpiresAt,
        activeLimit: ctx.activeKeyLimit(principal.organization),
        now: now.getTime(),
        retirement,
      },
      audit,
    );
    return { key: ctx.view(successor), secret, previous: ctx.view(previous) };
  }

  /**
   * For downstream APIs: is this key valid (and does it hold `permission`)?
   * Gathers the presented key's facts in the caller's organization (now when
   * the store has them in memory), decides, and counts the use of a key of
   * that organization with its outcome. Never throws for the presented key.
   */
  verify(principal: Principal, body: Parsed<typeof schemas.VerifyBody>): MaybePromise<VerifyResult> {
    // The request's clock reading, taken when it was authenticated: one per request.
    const now = principal.at;
    const facts = gatherKey(this.#ctx.store.reads, checkedSecret(body.key, this.#ctx.tokenPrefix), now, principal.organization);
    return facts instanceof Promise ? facts.then((gathered) => this.#decide(principal, body, gathered, now)) : this.#decide(principal, body, facts, now);
  }

  #decide(principal: Principal, body: Parsed<typeof schemas.VerifyBody>, facts: KeyFacts, now: number): VerifyResult {
    const result = verifyVerdict(principal, facts, body, now);
    if (facts.key?.organizationId === principal.organization.id) this.#ctx.usage.seen(facts.key, body.ip ?? null, result.code, now, body.userAgent ?? null, body.permission ?? null);
    return result;
  }
}
