/**
 * The service ends whenUnused transitions by itself (core/retirement.ts):
 * every interval it gathers the keys whose transition is open and their
 * successors (with the usage not flushed yet), decides with
 * retirementDecision, and acts through one atomic store call that also writes
 * the audit record of why: `key.revoked` (reason unused: no accepted use for
 * the quiet period, the successor in use) or `key.expired` (reason deadline,
 * naming who still used it). Every replica may sweep: the store applies an end
 * only while the transition is open and the key unused since the decision.
 * Nothing lives in memory between sweeps, so a restart changes nothing.
 */
import type { AuditEvent, KeyRecord } from '../core/model.ts';
import { retirementDecision, stragglers, type RetirementEnd } from '../core/retirement.ts';
import type { ServiceContext } from './context.ts';
import type { Logger } from './logger.ts';

/** Keys looked at per sweep (the rest wait for the next). */
const SWEEP_LIMIT = 500;

export interface SweepResult {
  revoked: string[];
  deadline: string[];
}

export class RetirementSweeper {
  readonly #ctx: ServiceContext;
  readonly #logger: Logger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<SweepResult> | undefined;

  constructor(ctx: ServiceContext, logger?: Logger) {
    this.#ctx = ctx;
    this.#logger = logger;
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.#logger?.error({ err: error }, 'retirement sweep failed'));
    }, intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping?.catch(() => {});
  }

  /** One sweep (concurrent callers share it). */
  sweep(): Promise<SweepResult> {
    this.#sweeping ??= this.#sweep().finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  async #sweep(): Promise<SweepResult> {
    const ctx = this.#ctx;
    const result: SweepResult = { revoked: [], deadline: [] };
    // Gather: the open transitions and their successors in one settled read, so the usage pending after it covers
    // every use the records lack; decide for all of them before any write (a flush during the writes cannot skew them).
    const gathered = await ctx.usage.readSettled(async () => {
      const open = await ctx.store.listOpenRetirements(SWEEP_LIMIT);
      return Promise.all(open.map(async (stored) => ({ stored, successor: stored.rotatedToId === null ? undefined : await ctx.store.findKeyById(stored.rotatedToId) })));
    });
    const now = ctx.nowMs();
    const ends = gathered.flatMap(({ stored, successor: successorRecord }) => {
      const old = ctx.withPending(stored);
      const successor = successorRecord && ctx.withPending(successorRecord);
      const decision = retirementDecision(old, successor, now);
      if (decision?.do !== 'revoke' && decision?.do !== 'record-deadline') return [];
      const endedBy: RetirementEnd = decision.do === 'revoke' ? 'unused' : 'deadline';
      return [{ stored, old, endedBy, audit: this.#audit(old, successor?.lastUsedAt ?? null, endedBy, now) }];
    });
    // Act: the store applies each end only while the transition is open and the key unused since the decision.
    for (const { stored, old, endedBy, audit } of ends) {
      const endedAt = new Date(endedBy === 'deadline' ? Date.parse(old.expiresAt!) : now).toISOString();
      const ended = await ctx.store.endRetirement(
        { organizationId: old.organizationId, keyId: old.id, endedAt, endedBy, lastUsedAt: endedBy === 'unused' ? stored.lastUsedAt : null },
        audit,
      );
      if (!ended) continue;
      result[endedBy === 'unused' ? 'revoked' : 'deadline'].push(old.id);
      this.#logger?.info({ keyId: old.id, successorId: old.rotatedToId, endedBy }, endedBy === 'unused' ? 'revoked a rotated key nothing uses any more' : 'a rotated key reached its deadline still in use');
    }
    return result;
  }

  #audit(old: KeyRecord, successorUsedAt: string | null, endedBy: RetirementEnd, now: number): AuditEvent {
    const retirement = old.retirement!;
    const common = { successorId: old.rotatedToId, quietPeriod: retirement.quietPeriod, rotatedAt: retirement.rotatedAt, lastUsedAt: old.lastUsedAt };
    return endedBy === 'unused'
      ? this.#ctx.audit(null, old.organizationId, 'key.revoked', 'key', old.id, {
          before: { status: 'active', name: old.name },
          after: { reason: 'unused', ...common, successorUsedAt },
        })
      : this.#ctx.audit(null, old.organizationId, 'key.expired', 'key', old.id, {
          after: { reason: 'deadline', ...common, deadline: old.expiresAt, stillUsedBy: stragglers(old, now) },
        });
  }
}
