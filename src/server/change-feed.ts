/**
 * GET /v1/events: the change feed of keys, as a long poll. Positions come
 * from the store (commit order, the same on every replica); a follower
 * passes the last cursor it got and never misses a change, across restarts
 * of either side. Waiting calls wake when the store says the feed moved
 * (here, or on PostgreSQL another replica's NOTIFY), and look again every
 * second in case a notice was lost.
 */
import type { z } from 'zod';
import { parseDuration } from '../core/duration.ts';
import type * as schemas from '../core/schemas.ts';
import type { Principal } from './auth.ts';
import type { ServiceContext } from './context.ts';

type Parsed<T extends z.ZodType> = z.output<T>;

const FALLBACK_POLL_MS = 1_000;

export class ChangeFeed {
  readonly #ctx: ServiceContext;
  readonly #waiters = new Set<() => void>();
  #closed = false;
  readonly #unsubscribe: () => void;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
    this.#unsubscribe = ctx.store.onKeyEvents(() => this.#wakeAll());
  }

  async events(principal: Principal, query: Parsed<typeof schemas.EventsQuery>) {
    const store = this.#ctx.store;
    const organizationId = principal.organization.id;
    if (query.after === undefined) return { items: [], cursor: String(await store.latestKeyEvent(organizationId)) };
    const after = Number(query.after);
    const deadline = Date.now() + parseDuration(query.wait);
    for (;;) {
      const found = await store.listKeyEvents(organizationId, { after, limit: query.limit, operatorManaged: query.managed === 'operator' });
      const remaining = deadline - Date.now();
      if (found.length > 0 || remaining <= 0 || this.#closed) {
        return {
          items: found.map(({ seq, event, metadata }) => ({
            cursor: String(seq),
            at: event.at,
            action: event.action,
            keyId: event.targetId,
            metadata,
            ...(event.changes ? { changes: event.changes } : {}),
          })),
          cursor: String(found.length > 0 ? found[found.length - 1]!.seq : after),
        };
      }
      await this.#wait(Math.min(remaining, FALLBACK_POLL_MS));
    }
  }

  /** Calls waiting for a change right now. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Ends every waiting call (they answer with what they have): at shutdown, so closing does not wait for long polls. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    this.#wakeAll();
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  #wakeAll(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
