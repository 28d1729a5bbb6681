/**
 * "Sign in with SSO": the person types their work email and the service
 * finds the one organization whose identity provider allows its domain (its
 * own provider, or the service-wide one serving the default organization).
 * The caller is nobody, so the lookup tells as little as it can: the
 * browser is sent straight to that provider (POST /v1/auth/oidc/start
 * answers only the authorization URL, never the organization's id or name),
 * and a domain no organization allows is answered exactly as one several
 * organizations allow (SSO_NOT_FOUND), so nobody learns how many share it.
 * Lookups that find nothing count per address, as failed authentications
 * do; an address that guesses too many domains is refused every lookup for
 * a while (RATE_LIMITED).
 */
import { LRUCache } from 'lru-cache';
import { KeywardError } from '../../core/errors.ts';
import { emailDomain, emailDomainAllowed } from '../../core/people.ts';
import type { PeopleStore } from '../../store/people-store.ts';
import { FailedAuthMonitor, type FailedAuthPolicy } from '../failed-auth.ts';
import type { OidcProviders } from './oidc-providers.ts';

/** Pure: the organization an email signs in to, when exactly one is found (one organization may be found twice). */
export function soleOrganization(found: readonly (string | undefined)[]): string | undefined {
  const distinct = new Set(found.filter((id): id is string => id !== undefined));
  return distinct.size === 1 ? [...distinct][0] : undefined;
}

/** How long whether to offer the email form is remembered (ms): the sign-in page asks at every load, unauthenticated. */
const OFFERED_TTL_MS = 30_000;

export class SsoLookup {
  readonly #store: PeopleStore;
  readonly #offered = new LRUCache<string, { offered: boolean }>({ max: 100, ttl: OFFERED_TTL_MS });
  readonly #providers: OidcProviders;
  readonly #misses: FailedAuthMonitor;

  constructor(store: PeopleStore, providers: OidcProviders, policy: FailedAuthPolicy, clock: () => number) {
    this.#store = store;
    this.#providers = providers;
    // Its own count: guessing domains and guessing keys are throttled apart (no alert: nothing was tried against an account).
    this.#misses = new FailedAuthMonitor(policy, () => {}, clock);
  }

  /** The organization whose provider signs in `email`, or SSO_NOT_FOUND; RATE_LIMITED while `ip` is throttled. */
  async organizationFor(email: string, ip: string | null): Promise<string> {
    const retryAfter = this.#misses.retryAfterSeconds(ip);
    if (retryAfter > 0) throw new KeywardError('RATE_LIMITED', `Too many sign-in lookups that found nothing from this address; retry in ${retryAfter} s.`, { details: { retryAfter } });
    const domain = emailDomain(email);
    const own = await this.#store.oidcProviderOrganizations({ domain, limit: 2 });
    // The default organization (KEYWARD_OIDC_ORGANIZATION, or the only one) signs in through the service-wide provider when it has none of its own.
    const fallback = await this.#providers.organizationFor(undefined);
    const provider = fallback === undefined ? undefined : await this.#providers.forOrganization(fallback);
    const viaService = provider?.source === 'service' && emailDomainAllowed(email, provider.allowedDomains) ? fallback : undefined;
    const organizationId = soleOrganization([...own, viaService]);
    if (organizationId !== undefined) return organizationId;
    this.#misses.failure(ip, 'SSO_NOT_FOUND', null);
    throw new KeywardError('SSO_NOT_FOUND', `No organization here signs in addresses of ${domain} through its identity provider alone.`);
  }

  /** Whether an email can find an organization besides `shown` (the one whose button the page already has): the page then offers the email form. */
  async offered(shown: string | undefined): Promise<boolean> {
    const key = shown ?? '';
    let known = this.#offered.get(key);
    if (!known) {
      const organizations = await this.#store.oidcProviderOrganizations({ limit: 2 });
      known = { offered: organizations.some((id) => id !== shown) };
      this.#offered.set(key, known);
    }
    return known.offered;
  }
}
