/**
 * The dashboard's view of the /v1 API: the shared typed client (its methods,
 * arguments and results come from the route table), bound to this origin,
 * with sign-out when the key or session stops working. People sign in with
 * a session (an httpOnly cookie the browser sends, and the CSRF token from
 * GET /v1/session on every change); the break-glass API key, where the
 * service allows it, lives in sessionStorage only (never localStorage, never
 * a URL).
 */
import { KeywardApiError, KeywardClient, KeywardUnreachableError, type ListKeysQuery, type KeyView, type Result } from '../client/index.ts';
import { PAGE_LIMITS } from '../core/api-defaults.ts';
import { API, type OperationId } from '../core/api.ts';
import { holds, type Permission } from '../core/permissions.ts';

export { KeywardApiError };
export type { AuditEvent, Incident, KeyView, PermissionView, Role, WhoAmI } from '../client/index.ts';
export type SessionView = Result<'getSession'>;
export type AuditPage = Result<'listAuditLog'>;
export type SignInMethods = Result<'signInMethods'>;
export type Member = Result<'getMember'>;
export type InvitationPreview = Result<'previewInvitation'>;

/** Who is signed in, whether a member (session) or a key (break-glass): what every tab reads. */
export interface Me {
  organization: { id: string; name: string; plan: string };
  permissions: string[];
  /** The signed-in key (key sign-in), else null. */
  key: KeyView | null;
  /** The signed-in member (session), else null. */
  member: Member | null;
}

export const meOfKey = (whoami: Result<'whoami'>): Me => ({ organization: whoami.organization, permissions: whoami.permissions, key: whoami.key, member: null });
export const meOfSession = (session: SessionView): Me => ({ organization: session.organization, permissions: session.permissions, key: null, member: session.member });

/** How the dashboard authenticates: a pasted key, or the session cookie with its CSRF token (none before sign-in). */
export type Credentials = { secret: string } | { csrfToken?: string };
export type IncidentSummary = Result<'listIncidents'>['items'][number];
export type Organization = Result<'getOrganization'>;
export type UsageItem = Result<'getUsage'>['items'][number];

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

const AUTH_FAILURES = new Set(['KEY_REVOKED', 'KEY_EXPIRED', 'UNKNOWN_KEY', 'UNKNOWN_SESSION', 'SESSION_EXPIRED']);

/** The client the dashboard calls: this origin, no caching, cookies only for a session; back to sign-in when the key or session stops working. */
export class Api extends KeywardClient {
  constructor(credentials: Credentials = {}, onSignedOut: (error: unknown) => void = () => {}) {
    const withKey = 'secret' in credentials;
    super({
      url: location.origin,
      ...(withKey ? { apiKey: credentials.secret } : { csrfToken: credentials.csrfToken }),
      // Bound to the window: the client calls it as a method. A key never travels with the cookie.
      fetch: (input, init) => globalThis.fetch(input, { ...init, credentials: withKey ? 'omit' : 'same-origin', cache: 'no-store' }),
      // The key was revoked or expired, or the session ended, while signed in.
      onApiError: (error) => void (error.status === 401 && AUTH_FAILURES.has(error.code) && onSignedOut(error)),
    });
  }

  /** Every key the query selects (all pages, up to 10,000). */
  async keysUpTo(query: Omit<ListKeysQuery, 'cursor' | 'limit'> = {}, most = 10_000): Promise<KeyView[]> {
    const keys: KeyView[] = [];
    for await (const key of this.allKeys({ ...query, limit: PAGE_LIMITS.keys })) {
      keys.push(key);
      if (keys.length >= most) break;
    }
    return keys;
  }
}

/**
 * Whether a permission list (from whoami) may call an operation: the
 * permission is the one the route table declares for it, so a button and
 * the service's check cannot disagree.
 */
export const mayCall = (permissions: readonly string[], operation: OperationId): boolean => {
  const permission: Permission | null = API[operation].permission;
  return permission === null || holds(permissions, permission);
};
