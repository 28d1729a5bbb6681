/** What every part of the service shares: the store, the role resolver, clock, plans, usage and audit helpers. */
import { KeywardError } from '../core/errors.ts';
import { newAuditEvent } from '../core/issue.ts';
import { toKeyView, type AuditAction, type AuditEvent, type KeyRecord, type KeyView, type Organization } from '../core/model.ts';
import { mergeRecentClients } from '../core/retirement.ts';
import type { Store, UsageUpdate } from '../store/store.ts';
import { actorOf, isMember, type Principal } from './auth.ts';
import type { Notifier } from './alerts.ts';
import { RoleResolver } from './role-resolver.ts';
import { DEFAULT_PLAN, DEFAULT_PLANS } from './config.ts';

/** Plan name -> most active keys (null = unlimited). */
export type Plans = Readonly<Record<string, number | null>>;

export interface UsageSink {
  /**
   * A key was presented and accepted (or refused with `outcome`), at `at`
   * (epoch ms; now if not given), from `ip`, asking for `permission` (a
   * verify call's; null: none). Hot path: memory only.
   */
  seen(key: KeyRecord, ip: string | null, outcome?: string, at?: number, userAgent?: string | null, permission?: string | null): void;
  /** Usage not flushed yet, so views (and the end of a transition) are current. */
  pending(keyId: string): UsageUpdate | undefined;
  flush(): Promise<void>;
  /**
   * A store read that `pending()` after it completes: read again when a flush
   * ended meanwhile (the read may predate its commit, and pending no longer
   * holds its uses, so the two together would miss them).
   */
  readSettled<T>(read: () => Promise<T>): Promise<T>;
}

const noUsage: UsageSink = { seen: () => {}, pending: () => undefined, flush: async () => {}, readSettled: (read) => read() };

export interface ServiceOptions {
  tokenPrefix: string;
  clock?: () => Date;
  usage?: UsageSink;
  plans?: Plans;
  defaultPlan?: string;
  /** Where incident notifications go (the alert webhook). */
  notifier?: Notifier;
  /** Failures of background work (acting on leak reports, recording deliveries). */
  onBackgroundError?: (error: unknown, what: string) => void;
}

export class ServiceContext {
  readonly store: Store;
  /** Role ids to definitions (built-in and the organization's own), for the rules that compare roles. */
  readonly roleResolver: RoleResolver;
  readonly tokenPrefix: string;
  readonly clock: () => Date;
  /** The clock in epoch milliseconds, without allocating a Date (read once per request on the verify path; the principal carries it). */
  readonly nowMs: () => number;
  readonly usage: UsageSink;
  readonly plans: Plans;
  readonly defaultPlan: string;

  constructor(store: Store, options: ServiceOptions) {
    this.store = store;
    this.roleResolver = new RoleResolver(store);
    this.tokenPrefix = options.tokenPrefix;
    const clock = options.clock;
    this.clock = clock ?? (() => new Date());
    this.nowMs = clock ? () => clock().getTime() : Date.now;
    this.usage = options.usage ?? noUsage;
    this.plans = options.plans ?? DEFAULT_PLANS;
    this.defaultPlan = options.defaultPlan ?? DEFAULT_PLAN;
    if (!Object.hasOwn(this.plans, this.defaultPlan)) throw new Error(`default plan "${this.defaultPlan}" is not among the plans`);
  }

  /** What the API shows of an organization, with its active keys counted now. */
  async organizationView(organization: Organization) {
    return {
      id: organization.id,
      name: organization.name,
      plan: organization.plan,
      activeKeyLimit: this.activeKeyLimit(organization),
      activeKeys: await this.store.countActiveKeys(organization.id, this.nowMs()),
      ipAllowlist: organization.ipAllowlist,
      rotationDays: organization.rotationDays,
      maxGracePeriod: organization.maxGracePeriod,
      leakPolicy: organization.leakPolicy,
      createdAt: organization.createdAt,
    };
  }

  /** Most active keys the organization's plan allows; a plan no longer configured is not limited. */
  activeKeyLimit(organization: Organization): number | null {
    return Object.hasOwn(this.plans, organization.plan) ? (this.plans[organization.plan] ?? null) : null;
  }

  /** The public view, with usage seen since the last flush already applied. */
  view(key: KeyRecord): KeyView {
    return toKeyView(this.withPending(key), this.nowMs());
  }

  /** The record with the usage seen since the last flush applied (a newer last use, the clients merged). */
  withPending(key: KeyRecord): KeyRecord {
    const pending = this.usage.pending(key.id);
    if (!pending) return key;
    const newer = key.lastUsedAt === null || key.lastUsedAt < pending.lastUsedAt;
    return {
      ...key,
      ...(newer ? { lastUsedAt: pending.lastUsedAt, lastUsedIp: pending.lastUsedIp } : {}),
      recentClients: mergeRecentClients(key.recentClients, pending.clients),
    };
  }

  audit(principal: Principal | null, organizationId: string, action: AuditAction, targetType: AuditEvent['targetType'], targetId: string, changes?: AuditEvent['changes']): AuditEvent {
    return newAuditEvent(
      {
        organizationId,
        action,
        actorKeyId: principal && !isMember(principal) ? principal.key.id : null,
        actor: principal ? actorOf(principal) : null,
        ip: principal?.ip ?? null,
        targetType,
        targetId,
        ...(changes ? { changes } : {}),
      },
      this.clock(),
    );
  }

  async requireKey(principal: Principal, keyId: string): Promise<KeyRecord> {
    const key = await this.usage.readSettled(() => this.store.getKey(principal.organization.id, keyId));
    if (!key) throw new KeywardError('KEY_NOT_FOUND', `No key ${keyId} in this organization.`);
    return key;
  }
}
