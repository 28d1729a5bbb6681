/**
 * What the API does, independent of HTTP. Each part takes the caller
 * (principal) and validated input, checks the rules that need the target
 * (escalation, the last admin key; the route's permission was checked by the
 * executor from the route table), and calls one atomic store operation that
 * also records the audit event.
 */
import { KeywardError } from '../core/errors.ts';
import { issueKey, newOrganization } from '../core/issue.ts';
import type { MaybePromise } from '../core/maybe.ts';
import { Name } from '../core/schemas.ts';
import type { KeyRecord, KeyView } from '../core/model.ts';
import { ADMIN_ROLE_ID } from '../core/permissions.ts';
import { DEFAULT_ENVIRONMENT } from '../core/rotation.ts';
import type { Store } from '../store/store.ts';
import { authenticationVerdict, gatherKey, secretFromAuthorization, type KeyFacts, type KeyPrincipal } from './auth.ts';
import { ServiceContext, type ServiceOptions } from './context.ts';
import { KeyLifecycle } from './key-lifecycle.ts';
import type { Logger } from './logger.ts';
import { People, type PeopleSettings } from './people/index.ts';
import { ChangeFeed } from './change-feed.ts';
import { IncidentResponse } from './incident-response.ts';
import { OperatorSettings } from './operator-settings.ts';
import { OrganizationAccount } from './organization-account.ts';
import { RoleCatalog } from './role-catalog.ts';

export type { ServiceOptions, UsageSink, Plans } from './context.ts';
export type { VerifyResult } from './auth.ts';

/**
 * The key service's API as one object (what the handlers in routes.ts call):
 * authentication here, and one part per resource. Only this facade is a
 * "service"; its parts are named for what they manage.
 */
export class KeyService {
  readonly context: ServiceContext;
  /** Keys: issue, list, edit, rotate, revoke, and verify a presented key. */
  readonly keys: KeyLifecycle;
  /** Custom roles and the organization's own permissions. */
  readonly roles: RoleCatalog;
  /** The organization: its settings, IP allowlist, usage and audit log. */
  readonly organization: OrganizationAccount;
  /** Compromise response and incidents (also for GitHub's leak reports). */
  readonly incidents: IncidentResponse;
  /** The change feed of keys (GET /v1/events). */
  readonly feed: ChangeFeed;
  /** The service operator's settings (no caller): `keyward org …`. */
  readonly operator: OperatorSettings;
  /** Members, invitations, sessions, passkeys, the identity provider. */
  readonly people: People;

  constructor(store: Store, options: ServiceOptions & { people?: Partial<PeopleSettings>; logger?: Logger }) {
    this.context = new ServiceContext(store, options);
    this.keys = new KeyLifecycle(this.context);
    this.roles = new RoleCatalog(this.context);
    this.organization = new OrganizationAccount(this.context);
    this.incidents = new IncidentResponse(this.context, options.notifier, options.onBackgroundError ?? (() => {}));
    this.feed = new ChangeFeed(this.context);
    this.operator = new OperatorSettings(this.context);
    this.people = new People(this.context, options.people, options.logger);
  }

  get store(): Store {
    return this.context.store;
  }

  now(): Date {
    return this.context.clock();
  }

  view(key: KeyRecord): KeyView {
    return this.context.view(key);
  }

  /**
   * Who is calling: the key behind an Authorization header, its organization
   * and permissions, or the error that refuses it. Gathers (now when the
   * store has the records in memory), decides, and counts the use: accepted,
   * or refused by an allowlist (a valid key from the wrong network).
   */
  authenticate(authorization: string | undefined, ip: string | null, userAgent: string | null = null): MaybePromise<KeyPrincipal | KeywardError> {
    const ctx = this.context;
    const now = ctx.nowMs();
    const facts = gatherKey(ctx.store.reads, secretFromAuthorization(authorization, ctx.tokenPrefix), now);
    return facts instanceof Promise ? facts.then((gathered) => this.#decide(gathered, ip, userAgent, now)) : this.#decide(facts, ip, userAgent, now);
  }

  #decide(facts: KeyFacts, ip: string | null, userAgent: string | null, now: number): KeyPrincipal | KeywardError {
    const verdict = authenticationVerdict(facts, ip, now);
    if (!(verdict instanceof KeywardError)) this.context.usage.seen(verdict.key, ip, 'VALID', now, userAgent);
    else if (verdict.code === 'IP_NOT_ALLOWED') this.context.usage.seen(facts.key!, ip, verdict.code, now);
    return verdict;
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
      roleId: ADMIN_ROLE_ID,
      environment: DEFAULT_ENVIRONMENT,
      createdBy: null,
      tokenPrefix: ctx.tokenPrefix,
      rotationDays: org.rotationDays,
      now,
    });
    const audit = ctx.audit(null, org.id, 'organization.created', 'organization', org.id, { after: { name: org.name, plan: org.plan, adminKeyId: record.id } });
    const created = await ctx.store.createOrganization(org, record, audit, { onlyIfNone: options.onlyIfEmpty ?? false });
    return created ? { organizationId: org.id, keyId: record.id, secret } : undefined;
  }

  whoami(principal: KeyPrincipal) {
    return {
      key: this.view(principal.key),
      organization: { id: principal.organization.id, name: principal.organization.name, plan: principal.organization.plan },
      permissions: [...principal.permissions],
    };
  }
}
