/**
 * What only whoever runs the service changes, never an organization itself:
 * its plan (the key limit) and the longest grace period its rotations may give
 * (an overlap key is free for that long). `keyward org …` calls these straight
 * on the store, as `keyward bootstrap` does; the API refuses both fields
 * (SET_BY_OPERATOR). Audited with no actor key.
 */
import { isDuration } from '../core/duration.ts';
import { KeywardError } from '../core/errors.ts';
import type { Organization } from '../core/model.ts';
import type { OrganizationPatch } from '../store/store.ts';
import type { ServiceContext } from './context.ts';

export class OperatorSettings {
  readonly #ctx: ServiceContext;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
  }

  async list() {
    const organizations = await this.#ctx.store.listOrganizations();
    return Promise.all(organizations.map((organization) => this.#ctx.organizationView(organization)));
  }

  async setPlan(organizationId: string, plan: string) {
    const { plans } = this.#ctx;
    if (!Object.hasOwn(plans, plan)) {
      throw new KeywardError('UNKNOWN_PLAN', `There is no plan "${plan}"; plans: ${Object.keys(plans).join(', ')}.`);
    }
    return this.#update(organizationId, { plan });
  }

  async setMaxGracePeriod(organizationId: string, maxGracePeriod: string) {
    if (!isDuration(maxGracePeriod)) {
      throw new KeywardError('VALIDATION_FAILED', `maxGracePeriod: "${maxGracePeriod}" is not a duration like 24h, 7d or 30d (at most ten years)`, {
        details: [{ path: 'maxGracePeriod', message: 'not a duration' }],
      });
    }
    return this.#update(organizationId, { maxGracePeriod });
  }

  async #update(organizationId: string, patch: OrganizationPatch) {
    const ctx = this.#ctx;
    const audit = ctx.audit(null, organizationId, 'organization.updated', 'organization', organizationId);
    const updated: Organization = await ctx.store.updateOrganization(organizationId, patch, audit);
    return ctx.organizationView(updated);
  }
}
