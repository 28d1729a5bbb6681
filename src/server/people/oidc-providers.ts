/**
 * Which identity provider an organization's people sign in with: its own
 * (PUT /v1/organization/oidc, kept in the store), else the service-wide one
 * (KEYWARD_OIDC_*) when that serves it. Also the settings' API and each
 * provider's discovered metadata, cached per provider configuration.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type * as OpenIdClient from 'openid-client';
import type { z } from 'zod';
import { KeywardError } from '../../core/errors.ts';
import { ADMIN_ROLE_ID, builtinRole, requireCanGrant } from '../../core/permissions.ts';
import { toOidcProviderView, type OidcProviderRecord, type OidcProviderSource } from '../../core/people.ts';
import type * as schemas from '../../core/schemas.ts';
import { oidcNotConfigured } from '../../store/people-rules.ts';
import type { Principal } from '../auth.ts';
import type { ServiceContext } from '../context.ts';
import type { OidcSettings } from './settings.ts';

/** openid-client, loaded when someone signs in through a provider (or sets one). */
let library: Promise<typeof OpenIdClient> | undefined;
export const openid = () => (library ??= import('openid-client'));

/** A provider as sign-in uses it, wherever it is set. */
export interface ResolvedProvider {
  source: OidcProviderSource;
  issuer: string;
  clientId: string;
  clientSecret: string;
  name: string;
  /** Empty: any domain (the service-wide provider only; an organization's names at least one). */
  allowedDomains: readonly string[];
  updatedAt: string | null;
}

/** Pure: the organization's own provider, else the service-wide one if it serves this organization (KEYWARD_OIDC_ORGANIZATION unset: every one). */
export function pickProvider(organizationId: string, own: OidcProviderRecord | undefined, serviceWide: OidcSettings | undefined): ResolvedProvider | undefined {
  if (own) return { source: 'organization', ...own };
  if (!serviceWide || (serviceWide.organizationId !== undefined && serviceWide.organizationId !== organizationId)) return undefined;
  return { source: 'service', ...serviceWide, updatedAt: null };
}

/** How long the only organization is remembered as the default (ms). */
const SOLE_ORGANIZATION_TTL_MS = 30_000;

/** How long discovering a provider may take (seconds). */
const DISCOVERY_TIMEOUT_S = 10;

/** Plain http only for a provider on this machine (tests, local development). */
const isLoopback = (issuer: URL): boolean => issuer.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);

/** The cache key of a provider's configuration: the secret goes in hashed, so no key of the cache holds it. */
const configurationKey = (p: Pick<ResolvedProvider, 'issuer' | 'clientId' | 'clientSecret'>): string =>
  createHash('sha256').update(`${p.issuer}\u0000${p.clientId}\u0000${p.clientSecret}`).digest('base64url');

type Parsed<S extends z.ZodType> = z.output<S>;

/** The role whose every permission setting the provider takes (it signs in admins too). */
const ADMIN_ROLE = builtinRole(ADMIN_ROLE_ID)!;

export class OidcProviders {
  readonly #ctx: ServiceContext;
  readonly #serviceWide: OidcSettings | undefined;
  /** Discovered metadata per provider configuration (a changed secret or issuer is discovered again). */
  readonly #configurations = new LRUCache<string, Promise<OpenIdClient.Configuration>>({ max: 1000 });
  /**
   * The only organization, when there is one, remembered for a while: the
   * sign-in page asks at every load, unauthenticated, and listing every
   * organization each time would be a cost anyone could cause. A second
   * organization is seen within SOLE_ORGANIZATION_TTL_MS.
   */
  readonly #soleOrganization = new LRUCache<'sole', { id: string | undefined }>({ max: 1, ttl: SOLE_ORGANIZATION_TTL_MS });

  constructor(ctx: ServiceContext, serviceWide: OidcSettings | undefined) {
    this.#ctx = ctx;
    this.#serviceWide = serviceWide;
  }

  async forOrganization(organizationId: string): Promise<ResolvedProvider | undefined> {
    return pickProvider(organizationId, await this.#ctx.store.people.getOidcProvider(organizationId), this.#serviceWide);
  }

  async require(organizationId: string): Promise<ResolvedProvider> {
    const provider = await this.forOrganization(organizationId);
    if (!provider) throw new KeywardError('OIDC_NOT_CONFIGURED', 'This organization signs in with no identity provider (neither its own nor the service\'s).');
    return provider;
  }

  /**
   * The organization a sign-in is for: the one the browser names (its id,
   * as invitation previews and sessions name it), else the service's
   * default: KEYWARD_OIDC_ORGANIZATION, or the only organization there is.
   */
  async organizationFor(named: string | undefined): Promise<string | undefined> {
    if (named !== undefined) {
      if (!(await this.#ctx.store.reads.organization(named))) throw new KeywardError('ORGANIZATION_NOT_FOUND', `No organization ${named}.`);
      return named;
    }
    if (this.#serviceWide?.organizationId) return this.#serviceWide.organizationId;
    let sole = this.#soleOrganization.get('sole');
    if (!sole) {
      const organizations = await this.#ctx.store.listOrganizations();
      sole = { id: organizations.length === 1 ? organizations[0]!.id : undefined };
      this.#soleOrganization.set('sole', sole);
    }
    return sole.id;
  }

  /** The provider's metadata, discovered once per configuration (again after a failure): an unreachable provider is a 502, never a 500. */
  configuration(provider: Pick<ResolvedProvider, 'issuer' | 'clientId' | 'clientSecret'>): Promise<OpenIdClient.Configuration> {
    const key = configurationKey(provider);
    let configuration = this.#configurations.get(key);
    if (!configuration) {
      configuration = (async () => {
        const client = await openid();
        const issuer = new URL(provider.issuer);
        // A provider that does not answer is given up on after DISCOVERY_TIMEOUT_S (openid-client's default is 30 s).
        return client.discovery(issuer, provider.clientId, provider.clientSecret, undefined, {
          timeout: DISCOVERY_TIMEOUT_S,
          ...(isLoopback(issuer) ? { execute: [client.allowInsecureRequests] } : {}),
        });
      })().catch((error: unknown) => {
        this.#configurations.delete(key);
        throw new KeywardError('OIDC_PROVIDER_UNAVAILABLE', `The identity provider ${provider.issuer} could not be discovered: ${(error as Error).message}`);
      });
      this.#configurations.set(key, configuration);
    }
    return configuration;
  }

  // ---- the settings' API (GET/PUT/DELETE /v1/organization/oidc) ----

  async get(principal: Principal) {
    const provider = await this.require(principal.organization.id);
    return toOidcProviderView(provider, provider.source);
  }

  /**
   * Whoever sets the provider decides who can sign in as any member, admins
   * included: only a caller holding every permission may (the no-escalation
   * rule, at its strictest). The provider is discovered before anything is
   * stored, so a wrong issuer changes nothing.
   */
  async put(principal: Principal, body: Parsed<typeof schemas.PutOidcProviderBody>) {
    const ctx = this.#ctx;
    requireCanGrant(principal.permissions, ADMIN_ROLE);
    const organizationId = principal.organization.id;
    const current = await ctx.store.people.getOidcProvider(organizationId);
    const clientSecret = body.clientSecret ?? current?.clientSecret;
    if (clientSecret === undefined) {
      throw new KeywardError('VALIDATION_FAILED', 'clientSecret: required when the organization has no identity provider yet', {
        details: [{ path: 'clientSecret', message: 'required the first time' }],
      });
    }
    const provider: OidcProviderRecord = {
      organizationId,
      issuer: body.issuer,
      clientId: body.clientId,
      clientSecret,
      name: body.name,
      allowedDomains: [...new Set(body.allowedDomains)],
      updatedAt: ctx.clock().toISOString(),
    };
    await this.configuration(provider);
    const shown = (p: OidcProviderRecord) => ({ issuer: p.issuer, clientId: p.clientId, name: p.name, allowedDomains: p.allowedDomains });
    // The secret itself never goes into the audit record: only whether it changed.
    const audit = ctx.audit(principal, organizationId, 'organization.oidc-updated', 'organization', organizationId, {
      ...(current ? { before: shown(current) } : {}),
      after: { ...shown(provider), clientSecretChanged: current?.clientSecret !== clientSecret },
    });
    await ctx.store.people.putOidcProvider(provider, audit);
    return toOidcProviderView(provider, 'organization');
  }

  async remove(principal: Principal): Promise<void> {
    const ctx = this.#ctx;
    requireCanGrant(principal.permissions, ADMIN_ROLE);
    const organizationId = principal.organization.id;
    const current = await ctx.store.people.getOidcProvider(organizationId);
    if (!current) throw oidcNotConfigured();
    const audit = ctx.audit(principal, organizationId, 'organization.oidc-removed', 'organization', organizationId, {
      before: { issuer: current.issuer, clientId: current.clientId, name: current.name, allowedDomains: current.allowedDomains },
    });
    await ctx.store.people.deleteOidcProvider(organizationId, audit);
  }
}
