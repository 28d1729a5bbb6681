/**
 * Typed client for the keyward /v1 API (fetch-based). Used by the CLI, the
 * tests, the operator and the rotation Lambda. Errors arrive as
 * KeywardApiError carrying the service's code and hint.
 */
import type { z } from 'zod';
import type * as schemas from '../core/schemas.ts';

type Out<T extends z.ZodType> = z.output<T>;
export type KeyView = Out<typeof schemas.KeyView>;
export type CreatedKey = Out<typeof schemas.CreatedKey>;
export type RotatedKey = Out<typeof schemas.RotatedKey>;
export type KeyList = Out<typeof schemas.KeyList>;
export type Role = Out<typeof schemas.Role>;
export type Permission = Out<typeof schemas.Permission>;
export type VerifyResult = Out<typeof schemas.VerifyResult>;
export type WhoAmI = Out<typeof schemas.WhoAmI>;
export type OrganizationView = Out<typeof schemas.OrganizationView>;
export type IpAllowlistView = Out<typeof schemas.IpAllowlistView>;
export type UsageView = Out<typeof schemas.UsageView>;
export type AuditEvent = Out<typeof schemas.AuditEventView>;
export type AuditPage = Out<typeof schemas.AuditPage>;
export type {
  AuditQuery,
  CreateKeyBody,
  CreatePermissionBody,
  CreateRoleBody,
  ListKeysQuery,
  PutIpAllowlistBody,
  RotateKeyBody,
  UpdateKeyBody,
  UpdateOrganizationBody,
  UpdateRoleBody,
  UsageQuery,
  VerifyBody,
} from '../core/schemas.ts';
import type {
  AuditQuery,
  CreateKeyBody,
  CreatePermissionBody,
  CreateRoleBody,
  ListKeysQuery,
  PutIpAllowlistBody,
  RotateKeyBody,
  UpdateKeyBody,
  UpdateOrganizationBody,
  UpdateRoleBody,
  UsageQuery,
  VerifyBody,
} from '../core/schemas.ts';

const queryString = (query: object): string => {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  return params.size > 0 ? `?${params}` : '';
};

export class KeywardApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, hint: string, details?: unknown) {
    super(message);
    this.name = 'KeywardApiError';
    this.status = status;
    this.code = code;
    this.hint = hint;
    this.details = details;
  }
}

/** The service could not be reached at all (refused, DNS, timeout). */
export class KeywardUnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`cannot reach the keyward service at ${url}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'KeywardUnreachableError';
  }
}

export interface ClientOptions {
  url: string;
  apiKey: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class KeywardClient {
  readonly url: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    // HTTP trims spaces around header values, which would hide a key copied with a stray newline: say so here.
    if (/\s/.test(options.apiKey)) {
      throw new KeywardApiError(0, 'KEY_HAS_WHITESPACE', 'The API key contains spaces, tabs or line breaks.', 'Remove the whitespace picked up when copying the key (check KEYWARD_API_KEY).');
    }
    this.url = options.url.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#fetch = options.fetch ?? fetch;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await this.#fetch(this.url + path, {
        method,
        headers: {
          authorization: `Bearer ${this.#apiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new KeywardUnreachableError(this.url, error);
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      throw new KeywardApiError(response.status, 'UNEXPECTED_RESPONSE', `${method} ${path}: the response is not JSON (HTTP ${response.status})`, 'Check the service URL.');
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string; hint?: string; details?: unknown } })?.error;
      throw new KeywardApiError(
        response.status,
        error?.code ?? 'UNEXPECTED_RESPONSE',
        error?.message ?? `HTTP ${response.status}`,
        error?.hint ?? 'Check the service URL.',
        error?.details,
      );
    }
    return parsed as T;
  }

  whoami(): Promise<WhoAmI> {
    return this.request('GET', '/v1/whoami');
  }

  createKey(body: CreateKeyBody): Promise<CreatedKey> {
    return this.request('POST', '/v1/keys', body);
  }

  listKeys(query: ListKeysQuery = {}): Promise<KeyList> {
    return this.request('GET', `/v1/keys${queryString(query)}`);
  }

  /** Follows cursors to the end. */
  async *allKeys(query: Omit<ListKeysQuery, 'cursor'> = {}): AsyncGenerator<KeyView> {
    let cursor: string | undefined;
    do {
      const page = await this.listKeys({ ...query, ...(cursor ? { cursor } : {}) });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  getKey(id: string): Promise<KeyView> {
    return this.request('GET', `/v1/keys/${encodeURIComponent(id)}`);
  }

  updateKey(id: string, body: UpdateKeyBody): Promise<KeyView> {
    return this.request('PATCH', `/v1/keys/${encodeURIComponent(id)}`, body);
  }

  revokeKey(id: string): Promise<KeyView> {
    return this.request('DELETE', `/v1/keys/${encodeURIComponent(id)}`);
  }

  rotateKey(id: string, body: RotateKeyBody = {}): Promise<RotatedKey> {
    return this.request('POST', `/v1/keys/${encodeURIComponent(id)}/rotate`, body);
  }

  verify(body: VerifyBody): Promise<VerifyResult> {
    return this.request('POST', '/v1/verify', body);
  }

  listRoles(): Promise<{ items: Role[] }> {
    return this.request('GET', '/v1/roles');
  }

  createRole(body: CreateRoleBody): Promise<Role> {
    return this.request('POST', '/v1/roles', body);
  }

  updateRole(id: string, body: UpdateRoleBody): Promise<Role> {
    return this.request('PATCH', `/v1/roles/${encodeURIComponent(id)}`, body);
  }

  deleteRole(id: string): Promise<void> {
    return this.request('DELETE', `/v1/roles/${encodeURIComponent(id)}`);
  }

  listPermissions(): Promise<{ items: Permission[] }> {
    return this.request('GET', '/v1/permissions');
  }

  createPermission(body: CreatePermissionBody): Promise<Permission> {
    return this.request('POST', '/v1/permissions', body);
  }

  getOrganization(): Promise<OrganizationView> {
    return this.request('GET', '/v1/organization');
  }

  updateOrganization(body: UpdateOrganizationBody): Promise<OrganizationView> {
    return this.request('PATCH', '/v1/organization', body);
  }

  getIpAllowlist(): Promise<IpAllowlistView> {
    return this.request('GET', '/v1/ip-allowlist');
  }

  putIpAllowlist(body: PutIpAllowlistBody): Promise<IpAllowlistView> {
    return this.request('PUT', '/v1/ip-allowlist', body);
  }

  usage(query: UsageQuery = {}): Promise<UsageView> {
    return this.request('GET', `/v1/usage${queryString(query)}`);
  }

  auditLog(query: AuditQuery = {}): Promise<AuditPage> {
    return this.request('GET', `/v1/audit-log${queryString(query)}`);
  }

  /** The whole audit log (newest first), following cursors. */
  async *allAuditEvents(query: Omit<AuditQuery, 'cursor'> = {}): AsyncGenerator<AuditEvent> {
    let cursor: string | undefined;
    do {
      const page = await this.auditLog({ limit: 1000, ...query, ...(cursor ? { cursor } : {}) });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
}
