/**
 * What the API does, independent of HTTP. Each part takes the caller
 * (principal) and validated input, checks the rules that need the target
 * (escalation, the last admin key; the route's permission was checked by the
 * executor from the route table), and calls one atomic store operation that
 * also records the audit event.
 */
import { KeywardError } from '../core/errors.ts';
import { issueKey, newOrganization } from '../core/issue.ts';
import { Name } from '../core/schemas.ts';
import type { KeyRecord, KeyView, Organization } from '../core/model.ts';
import type { Store } from '../store/store.ts';
import { allowlistError, findKeyForSecret, lookupPresentedKeyNow, secretFromAuthorization, type Principal } from './auth.ts';
import { ServiceContext, type ServiceOptions } from './context.ts';
import { KeysService } from './keys-service.ts';
import { OperatorSettings } from './operator-settings.ts';
import { OrganizationService } from './organization-service.ts';
import { RolesService } from './roles-service.ts';
import type { RoleResolver } from './roles.ts';

export type { ServiceOptions, UsageSink, Plans } from './context.ts';
export type { VerifyResult } from './keys-service.ts';

export class KeyService {
  readonly context: ServiceContext;
  readonly keys: KeysService;
  readonly roleAdmin: RolesService;
  readonly organization: OrganizationService;
  /** The service operator's settings (no caller): `keyward org …`. */
  readonly operator: OperatorSettings;

  constructor(store: Store, options: ServiceOptions) {
    this.context = new ServiceContext(store, options);
    this.keys = new KeysService(this.context);
    this.roleAdmin = new RolesService(this.context);
    this.organization = new OrganizationService(this.context);
    this.operator = new OperatorSettings(this.context);
  }

  get store(): Store {
    return this.context.store;
  }

  get roles(): RoleResolver {
    return this.context.roles;
  }

  now(): Date {
    return this.context.clock();
  }

  view(key: KeyRecord): KeyView {
    return this.context.view(key);
  }

  /** Who is calling: the key behind an Authorization header, its organization and permissions. */
  async authenticate(authorization: string | undefined, ip: string | null): Promise<Principal> {
    const ctx = this.context;
    const key = await findKeyForSecret(ctx.store, secretFromAuthorization(authorization), ctx.nowMs(), ctx.tokenPrefix);
    const organization = await ctx.store.getOrganization(key.organizationId);
    const principal = this.#principal(key, organization, await ctx.roles.permissionsOf(key.organizationId, key.roleId), ip);
    this.countUse(principal);
    return principal;
  }

  /**
   * The same without awaiting, from the store's in-memory reads (the verify
   * fast path); undefined when the store has none. It throws NOT_IN_MEMORY,
   * before any side effect, when a cache lacks something. It does not count
   * the accepted use: call countUse once the request was answered from memory.
   */
  authenticateNow(authorization: string | undefined, ip: string | null): Principal | undefined {
    const ctx = this.context;
    const memory = ctx.store.memory;
    if (!memory) return undefined;
    const found = lookupPresentedKeyNow(memory, secretFromAuthorization(authorization), ctx.nowMs(), ctx.tokenPrefix);
    if (!found.ok) throw found.error;
    const { key } = found;
    const organization = memory.organization(key.organizationId);
    return this.#principal(key, organization, ctx.roles.permissionsNow(memory, key.organizationId, key.roleId), ip);
  }

  /** Counts an accepted use of the caller's key (after authenticateNow). */
  countUse(principal: Principal): void {
    this.context.usage.seen(principal.key, principal.ip);
  }

  /** The caller, unless its organization is gone or an allowlist refuses it (a refusal is counted; an accepted use is the caller's to count). */
  #principal(key: KeyRecord, organization: Organization | undefined, permissions: readonly string[], ip: string | null): Principal {
    const ctx = this.context;
    if (!organization) throw new KeywardError('UNKNOWN_KEY', 'The organization of this key no longer exists.');
    const refused = allowlistError(organization, key, ip);
    if (refused) {
      ctx.usage.seen(key, ip, refused.code);
      throw refused;
    }
    return { key, organization, permissions, ip };
  }

  /**
   * Creates an organization and its first admin key (bootstrap; no caller).
   * With `onlyIfEmpty`, only in an empty store (undefined when it was not).
   */
  async bootstrapOrganization(name: string): Promise<{ organizationId: string; keyId: string; secret: string }>;
  async bootstrapOrganization(name: string, options: { onlyIfEmpty: true }): Promise<{ organizationId: string; keyId: string; secret: string } | undefined>;
  async bootstrapOrganization(name: string, options: { onlyIfEmpty?: boolean } = {}): Promise<{ organizationId: string; keyId: string; secret: string } | undefined> {
    const ctx = this.context;
    // The same rules as any name (no control, bidi or invisible characters): it is shown in the dashboard and the audit log.
    const named = Name.safeParse(name);
    if (!named.success) {
      const message = `organization name: ${named.error.issues[0]!.message}`;
      throw new KeywardError('VALIDATION_FAILED', message, { details: [{ path: 'name', message }] });
    }
    const now = ctx.clock();
    const org = newOrganization(named.data, now, ctx.defaultPlan);
    const { record, secret } = issueKey({
      organizationId: org.id,
      name: `${org.name} admin`,
      roleId: 'admin',
      environment: 'production',
      createdBy: null,
      tokenPrefix: ctx.tokenPrefix,
      rotationDays: org.rotationDays,
      now,
    });
    const audit = ctx.audit(null, org.id, 'organization.created', 'organization', org.id, { after: { name: org.name, plan: org.plan, adminKeyId: record.id } });
    const created = await ctx.store.createOrganization(org, record, audit, { onlyIfNone: options.onlyIfEmpty ?? false });
    return created ? { organizationId: org.id, keyId: record.id, secret } : undefined;
  }

  whoami(principal: Principal) {
    return {
      key: this.view(principal.key),
      organization: { id: principal.organization.id, name: principal.organization.name, plan: principal.organization.plan },
      permissions: [...principal.permissions],
    };
  }
}
