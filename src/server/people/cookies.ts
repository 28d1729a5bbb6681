/**
 * The cookies of people's sign-in, and the checks on requests that carry
 * them. Pure: the executor hands in what the request carried and gets back
 * the cookies to set. Every cookie is httpOnly and Secure (browsers accept
 * Secure cookies from http://localhost too); the session's is SameSite=Strict,
 * the ceremony's Lax (it must survive the identity provider's redirect).
 */
import { timingSafeEqual } from 'node:crypto';
import { parse, serialize } from 'cookie';
import { KeywardError } from '../../core/errors.ts';
import { csrfTokenFor } from '../../core/people.ts';

export const SESSION_COOKIE = 'keyward_session';
export const CEREMONY_COOKIE = 'keyward_ceremony';
/** How long a sign-in step (a WebAuthn challenge, an OIDC round trip) may take. */
export const CEREMONY_TTL_MS = 10 * 60_000;

export const parseCookies = (header: string | undefined): Record<string, string> => {
  if (!header) return {};
  const parsed = parse(header);
  return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => entry[1] !== undefined));
};

/** Collects the Set-Cookie headers of one response. */
export class CookieJar {
  readonly #incoming: Record<string, string>;
  readonly #setCookies: string[] | undefined;

  constructor(incoming: Record<string, string>, closed = false) {
    this.#incoming = incoming;
    this.#setCookies = closed ? undefined : [];
  }

  /** A jar with no cookies that refuses to set any (shared by every key-authenticated request). */
  static closed(): CookieJar {
    return new CookieJar({}, true);
  }

  /** The Set-Cookie headers of this answer. */
  get setCookies(): readonly string[] {
    return this.#setCookies ?? [];
  }

  #set(header: string): void {
    if (!this.#setCookies) throw new Error('a key-authenticated request cannot set cookies');
    this.#setCookies.push(header);
  }

  get(name: string): string | undefined {
    return this.#incoming[name];
  }

  setSession(token: string, maxAgeSeconds: number): void {
    this.#set(serialize(SESSION_COOKIE, token, { httpOnly: true, secure: true, sameSite: 'strict', path: '/', maxAge: maxAgeSeconds }));
  }

  clearSession(): void {
    this.#set(serialize(SESSION_COOKIE, '', { httpOnly: true, secure: true, sameSite: 'strict', path: '/', maxAge: 0 }));
  }

  setCeremony(token: string): void {
    this.#set(serialize(CEREMONY_COOKIE, token, { httpOnly: true, secure: true, sameSite: 'lax', path: '/v1/', maxAge: CEREMONY_TTL_MS / 1000 }));
  }

  clearCeremony(): void {
    this.#set(serialize(CEREMONY_COOKIE, '', { httpOnly: true, secure: true, sameSite: 'lax', path: '/v1/', maxAge: 0 }));
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const isSafeMethod = (method: string): boolean => SAFE_METHODS.has(method.toUpperCase());

/** Pure: a cookie-authenticated (or sign-in) request must come from the service's own origin; an Origin header from elsewhere is refused. */
export function originError(origin: string | undefined, selfOrigin: string, required: boolean): KeywardError | undefined {
  if (origin === undefined) {
    return required ? new KeywardError('FOREIGN_ORIGIN', 'A change made with the session cookie must carry an Origin header.') : undefined;
  }
  if (origin === selfOrigin) return undefined;
  // Never echo the whole header back: it is the caller's, and a name is enough.
  return new KeywardError('FOREIGN_ORIGIN', `Requests from another origin are refused (expected ${selfOrigin}).`);
}

/** Pure: the X-CSRF-Token a cookie-authenticated change must send, compared in constant time. */
export function csrfError(sent: string | undefined, sessionToken: string): KeywardError | undefined {
  if (sent === undefined || sent.length === 0) {
    return new KeywardError('CSRF_TOKEN_MISSING', 'This change was made with the session cookie but without the X-CSRF-Token header.');
  }
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(sent);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return new KeywardError('CSRF_TOKEN_MISSING', 'The X-CSRF-Token header does not belong to this session.');
  }
  return undefined;
}
