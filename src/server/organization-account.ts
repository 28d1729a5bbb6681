/** The organization: plan, IP allowlist, usage and the audit log. */
import type { z } from 'zod';
import { KeywardError } from '../core/errors.ts';
import { addressAllowed, normalizeAddress } from '../core/ip.ts';
import type { Organization } from '../core/model.ts';
import type * as schemas from '../core/schemas.ts';
import type { Principal } from './auth.ts';
import type { ServiceContext } from './context.ts';

type Parsed<T extends z.ZodType> = z.output<T>;

const DAY_MS = 86_400_000;
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export class OrganizationAccount {
  readonly #ctx: ServiceContext;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
  }

  async get(principal: Principal) {
    return this.#ctx.organizationView(principal.organization);
  }

  /** Name, rotation intervals and the leak policy; the plan and maxGracePeriod are the service operator's (OperatorSettings). */
  async update(principal: Principal, body: Parsed<typeof schemas.UpdateOrganizationBody>) {
    const ctx = this.#ctx;
    const patch: Partial<Pick<Organization, 'name' | 'rotationDays' | 'leakPolicy'>> = {};
    if (body.name !== undefined) patch.name = body.name;
    if (body.leakPolicy !== undefined) patch.leakPolicy = body.leakPolicy;
    if (body.rotationDays !== undefined) patch.rotationDays = { ...principal.organization.rotationDays, ...body.rotationDays };
    const audit = ctx.audit(principal, principal.organization.id, 'organization.updated', 'organization', principal.organization.id);
    return ctx.organizationView(await ctx.store.updateOrganization(principal.organization.id, patch, audit));
  }

  getAllowlist(principal: Principal) {
    return { entries: principal.organization.ipAllowlist, callerIp: principal.ip === null ? null : normalizeAddress(principal.ip) };
  }

  async putAllowlist(principal: Principal, body: Parsed<typeof schemas.PutIpAllowlistBody>) {
    const ctx = this.#ctx;
    const callerIp = principal.ip === null ? null : normalizeAddress(principal.ip);
    if (!body.force && body.entries.length > 0 && (callerIp === null || !addressAllowed(callerIp, body.entries))) {
      throw new KeywardError('SELF_LOCKOUT', `This list does not include your address ${callerIp ?? '(unknown)'}: saving it would lock you out.`, {
        details: { callerIp },
      });
    }
    const audit = ctx.audit(principal, principal.organization.id, 'ip-allowlist.updated', 'organization', principal.organization.id);
    const organization = await ctx.store.updateOrganization(principal.organization.id, { ipAllowlist: body.entries }, audit);
    return { entries: organization.ipAllowlist, callerIp };
  }

  async usage(principal: Principal, query: Parsed<typeof schemas.UsageQuery>) {
    const ctx = this.#ctx;
    const now = ctx.nowMs();
    const to = query.to ?? day(now);
    const from = query.from ?? day(Date.parse(`${to}T00:00:00Z`) - 29 * DAY_MS);
    if (from > to) {
      throw new KeywardError('VALIDATION_FAILED', 'from: must not be after to', { details: [{ path: 'from', message: 'must not be after to' }] });
    }
    await ctx.usage.flush();
    const items = await ctx.store.listUsage(principal.organization.id, { keyId: query.keyId, from, to });
    return {
      from,
      to,
      items: items
        .map(({ keyId, day: d, outcome, count }) => ({ keyId, day: d, outcome, count }))
        .sort((a, b) => a.day.localeCompare(b.day) || a.keyId.localeCompare(b.keyId) || a.outcome.localeCompare(b.outcome)),
    };
  }

  async auditLog(principal: Principal, query: Parsed<typeof schemas.AuditQuery>) {
    const page = await this.#ctx.store.listAudit(principal.organization.id, {
      action: query.action,
      actorKeyId: query.actorKeyId,
      targetId: query.targetId,
      from: query.from ? new Date(query.from).toISOString() : undefined,
      to: query.to ? new Date(query.to).toISOString() : undefined,
      limit: query.limit,
      before: query.cursor,
    });
    // Records written before actors were named carry only actorKeyId: null says "not named" the same on both stores.
    return { items: page.items.map((event) => ({ ...event, actor: event.actor ?? null })), nextCursor: page.next };
  }
}
