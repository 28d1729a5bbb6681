/**
 * The dashboard's view of the /v1 API: the shared typed client, plus the
 * organization, allowlist, usage and audit endpoints. The API key lives in
 * sessionStorage only (never localStorage, never a URL).
 */
import { KeywardApiError, KeywardClient, KeywardUnreachableError, type KeyView, type Permission, type Role, type WhoAmI } from '../client/index.ts';

export { KeywardApiError };
export type { KeyView, Permission, Role, WhoAmI };

export interface Organization {
  id: string;
  name: string;
  plan: string;
  activeKeyLimit: number | null;
  activeKeys: number;
  ipAllowlist: string[];
}

export interface Allowlist {
  entries: string[];
  callerIp: string;
}

export interface UsageItem {
  keyId: string | null;
  day: string;
  outcome: string;
  count: number;
}

export interface AuditEvent {
  id: string;
  at: string;
  action: string;
  actorKeyId: string | null;
  ip: string | null;
  targetType: string;
  targetId: string;
  changes?: { before?: Record<string, unknown>; after?: Record<string, unknown> };
}

export interface KeyFilters {
  unusedFor?: string;
  rotationDue?: boolean;
}

const SESSION_ITEM = 'keyward.apiKey';

export const session = {
  load: (): string | null => {
    try {
      return sessionStorage.getItem(SESSION_ITEM);
    } catch {
      return null;
    }
  },
  save: (secret: string): void => sessionStorage.setItem(SESSION_ITEM, secret),
  clear: (): void => sessionStorage.removeItem(SESSION_ITEM),
};

/** A 404 ROUTE_NOT_FOUND: this service predates the endpoint. */
export const isNotAvailable = (error: unknown): boolean =>
  error instanceof KeywardApiError && error.status === 404 && error.code === 'ROUTE_NOT_FOUND';

/** The error as {code, message, hint}, whatever was thrown. */
export function describeError(error: unknown): { code: string; message: string; hint: string; details?: unknown } {
  if (error instanceof KeywardApiError) return { code: error.code, message: error.message, hint: error.hint, details: error.details };
  if (error instanceof KeywardUnreachableError) {
    return { code: 'UNREACHABLE', message: 'The key service could not be reached.', hint: 'Check your network connection and that the service is running, then try again.' };
  }
  return { code: 'ERROR', message: (error as Error)?.message ?? String(error), hint: 'Reload the page and try again.' };
}

const AUTH_FAILURES = new Set(['KEY_REVOKED', 'KEY_EXPIRED', 'UNKNOWN_KEY']);

export class Api {
  readonly client: KeywardClient;
  readonly #onSignedOut: (error: unknown) => void;

  constructor(secret: string, onSignedOut: (error: unknown) => void = () => {}) {
    this.client = new KeywardClient({
      url: location.origin,
      apiKey: secret,
      // Bound to the window: the client calls it as a method.
      fetch: (input, init) => globalThis.fetch(input, { ...init, credentials: 'omit', cache: 'no-store' }),
    });
    this.#onSignedOut = onSignedOut;
  }

  async #call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      // The key itself stopped working (revoked or expired while signed in): back to sign-in.
      if (error instanceof KeywardApiError && error.status === 401 && AUTH_FAILURES.has(error.code)) this.#onSignedOut(error);
      throw error;
    }
  }

  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#call(() => this.client.request<T>(method, path, body));
  }

  whoami = (): Promise<WhoAmI> => this.request('GET', '/v1/whoami');

  /** Active keys (all pages), optionally with the server-side attention filters. */
  async listKeys(filters: KeyFilters = {}, status: 'active' | 'all' = 'active'): Promise<KeyView[]> {
    const keys: KeyView[] = [];
    let cursor: string | null = null;
    do {
      const params = new URLSearchParams({ status, limit: '500' });
      if (filters.unusedFor) params.set('unusedFor', filters.unusedFor);
      if (filters.rotationDue) params.set('rotationDue', 'true');
      if (cursor) params.set('cursor', cursor);
      const page: { items: KeyView[]; nextCursor: string | null } = await this.request('GET', `/v1/keys?${params}`);
      keys.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor && keys.length < 10_000);
    return keys;
  }

  getKey = (id: string): Promise<KeyView> => this.request('GET', `/v1/keys/${encodeURIComponent(id)}`);
  createKey = (body: { name: string; role: string; environment: string }): Promise<{ key: KeyView; secret: string }> =>
    this.request('POST', '/v1/keys', body);
  updateKey = (id: string, body: { name?: string; role?: string }): Promise<KeyView> =>
    this.request('PATCH', `/v1/keys/${encodeURIComponent(id)}`, body);
  revokeKey = (id: string): Promise<KeyView> => this.request('DELETE', `/v1/keys/${encodeURIComponent(id)}`);
  rotateKey = (id: string, body: { gracePeriod: string; name?: string }): Promise<{ key: KeyView; secret: string; previous: KeyView }> =>
    this.request('POST', `/v1/keys/${encodeURIComponent(id)}/rotate`, body);

  listRoles = async (): Promise<Role[]> => (await this.request<{ items: Role[] }>('GET', '/v1/roles')).items;
  createRole = (body: { id: string; name: string; description: string; permissions: string[] }): Promise<Role> =>
    this.request('POST', '/v1/roles', body);
  updateRole = (id: string, body: { name: string; description: string; permissions: string[] }): Promise<Role> =>
    this.request('PATCH', `/v1/roles/${encodeURIComponent(id)}`, body);
  deleteRole = (id: string): Promise<void> => this.request('DELETE', `/v1/roles/${encodeURIComponent(id)}`);
  listPermissions = async (): Promise<Permission[]> => (await this.request<{ items: Permission[] }>('GET', '/v1/permissions')).items;
  createPermission = (body: { name: string; description: string }): Promise<Permission> => this.request('POST', '/v1/permissions', body);

  organization = (): Promise<Organization> => this.request('GET', '/v1/organization');
  allowlist = (): Promise<Allowlist> => this.request('GET', '/v1/ip-allowlist');
  saveAllowlist = (entries: string[], force = false): Promise<Allowlist> =>
    this.request('PUT', '/v1/ip-allowlist', force ? { entries, force: true } : { entries });

  async usage(query: { keyId?: string; from: string; to: string }): Promise<UsageItem[]> {
    const params = new URLSearchParams({ from: query.from, to: query.to });
    if (query.keyId) params.set('keyId', query.keyId);
    return (await this.request<{ items: UsageItem[] }>('GET', `/v1/usage?${params}`)).items;
  }

  auditLog(query: { limit?: number; cursor?: string | null } = {}): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
    const params = new URLSearchParams({ limit: String(query.limit ?? 50) });
    if (query.cursor) params.set('cursor', query.cursor);
    return this.request('GET', `/v1/audit-log?${params}`);
  }
}

/** Whether a permission list (from whoami) grants a permission. */
export const grants = (permissions: readonly string[], permission: string): boolean =>
  permissions.includes('*') || permissions.includes(permission);
