/**
 * Typed client for the keyward /v1 API (fetch-based), derived from the route
 * table (src/core/api.ts) in the manner of Hono's `hc<typeof app>`: one
 * method per operation, named by its operationId, taking the path parameters
 * in path order and then the body (or the query), and resolving to the
 * operation's response. Nothing here spells a path or a body: a change in the
 * table changes these signatures, and every caller that no longer fits fails
 * to compile.
 *
 *   await client.getKey(id);                       // GET /v1/keys/:id
 *   await client.rotateKey(id, { gracePeriod: '1h' });
 *   await client.listKeys({ status: 'all' });
 *
 * Used by the CLI, the dashboard, the operator, the rotation Lambda and the
 * tests. Errors arrive as KeywardApiError carrying the service's code and
 * hint. The table is free of zod at run time, so this module bundles small.
 */
import { API, OPERATION_IDS, pathParamNames, type Api, type BodyInput, type OperationId, type PathParamNames, type QueryInput, type Result } from '../core/api.ts';

export type { BodyInput, OperationId, QueryInput, Result } from '../core/api.ts';

export type KeyView = Result<'getKey'>;
export type CreatedKey = Result<'createKey'>;
export type RotatedKey = Result<'rotateKey'>;
export type KeyList = Result<'listKeys'>;
export type Role = Result<'getRole'>;
export type PermissionView = Result<'createPermission'>;
export type VerifyResult = Result<'verifyKey'>;
export type WhoAmI = Result<'whoami'>;
export type OrganizationView = Result<'getOrganization'>;
export type IpAllowlistView = Result<'getIpAllowlist'>;
export type UsageView = Result<'getUsage'>;
export type AuditPage = Result<'listAuditLog'>;
export type AuditEvent = AuditPage['items'][number];
export type EventList = Result<'listEvents'>;
export type KeyEvent = EventList['items'][number];
export type Incident = Result<'getIncident'>;
export type CompromisedKey = Result<'compromiseKey'>;
export type CreateKeyBody = BodyInput<'createKey'>;
export type VerifyBody = BodyInput<'verifyKey'>;
export type ListKeysQuery = NonNullable<QueryInput<'listKeys'>>;
export type AuditQuery = NonNullable<QueryInput<'listAuditLog'>>;

/** An argument that may be left out when an empty object would do. */
type Input<T> = [T] extends [undefined] ? [] : {} extends T ? [input?: T] : [input: T];
type Strings<Names extends readonly string[]> = { [I in keyof Names]: string };
/** The arguments of an operation: its path parameters (strings, in path order), then its body, then its query. */
export type OperationArgs<K extends OperationId> = [
  ...Strings<PathParamNames<Api[K]['path']>>,
  ...Input<BodyInput<K>>,
  ...Input<QueryInput<K>>,
];
/** The operations a client can call: every one but those authenticated by a signature over the body (GitHub's reports), which a key or session cannot make. */
export type ClientOperationId = { [K in OperationId]: Api[K] extends { auth: 'signature' } ? never : K }[OperationId];
/** One method per operation of the route table a client can call. */
export type Operations = { [K in ClientOperationId]: (...args: OperationArgs<K>) => Promise<Result<K>> };

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
  /** A key (Authorization: Bearer). Left out in the dashboard signed in as a member: the browser sends the session cookie. */
  apiKey?: string;
  /** With the session cookie: the X-CSRF-Token (from GET /v1/session) every change must send. */
  csrfToken?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Sees every refusal before the call rejects with it (the dashboard signs out when its key stops working). */
  onApiError?: (error: KeywardApiError) => void;
}

// The methods are added to the prototype from the route table (below).
export interface KeywardClient extends Operations {}

export class KeywardClient {
  readonly url: string;
  readonly #apiKey: string | undefined;
  readonly #csrfToken: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #onApiError: ((error: KeywardApiError) => void) | undefined;

  constructor(options: ClientOptions) {
    // HTTP trims spaces around header values, which would hide a key copied with a stray newline: say so here.
    if (options.apiKey !== undefined && /\s/.test(options.apiKey)) {
      throw new KeywardApiError(0, 'KEY_HAS_WHITESPACE', 'The API key contains spaces, tabs or line breaks.', 'Remove the whitespace picked up when copying the key (check KEYWARD_API_KEY).');
    }
    this.url = options.url.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#csrfToken = options.csrfToken;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#fetch = options.fetch ?? fetch;
    this.#onApiError = options.onApiError;
  }

  static {
    for (const operationId of OPERATION_IDS) {
      const route = API[operationId];
      if ('auth' in route && route.auth === 'signature') continue;
      const names = pathParamNames(route.path);
      const takesBody = 'body' in route;
      const takesQuery = 'query' in route;
      Object.defineProperty(KeywardClient.prototype, operationId, {
        value(this: KeywardClient, ...args: unknown[]) {
          let path: string = route.path;
          for (const [i, name] of names.entries()) path = path.replace(`:${name}`, encodeURIComponent(String(args[i])));
          const rest = args.slice(names.length);
          const body = takesBody ? (rest.shift() ?? {}) : undefined;
          const query = takesQuery ? rest.shift() : undefined;
          return this.#request(route.method, path + queryString(query ?? {}), body);
        },
      });
    }
  }

  async #request(method: string, path: string, body: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await this.#fetch(this.url + path, {
        method,
        headers: {
          ...(this.#apiKey === undefined ? {} : { authorization: `Bearer ${this.#apiKey}` }),
          ...(this.#csrfToken === undefined || method === 'GET' ? {} : { 'x-csrf-token': this.#csrfToken }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new KeywardUnreachableError(this.url, error);
    }
    if (response.status === 204) return undefined;
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      throw this.#refused(new KeywardApiError(response.status, 'UNEXPECTED_RESPONSE', `${method} ${path}: the response is not JSON (HTTP ${response.status})`, 'Check the service URL.'));
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string; hint?: string; details?: unknown } })?.error;
      throw this.#refused(
        new KeywardApiError(
          response.status,
          error?.code ?? 'UNEXPECTED_RESPONSE',
          error?.message ?? `HTTP ${response.status}`,
          error?.hint ?? 'Check the service URL.',
          error?.details,
        ),
      );
    }
    return parsed;
  }

  #refused(error: KeywardApiError): KeywardApiError {
    this.#onApiError?.(error);
    return error;
  }

  /** Every key the query selects, following cursors to the end. */
  async *allKeys(query: Omit<ListKeysQuery, 'cursor'> = {}): AsyncGenerator<KeyView> {
    let cursor: string | undefined;
    do {
      const page = await this.listKeys({ ...query, ...(cursor ? { cursor } : {}) });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /** The whole audit log (newest first), following cursors. */
  async *allAuditEvents(query: Omit<AuditQuery, 'cursor'> = {}): AsyncGenerator<AuditEvent> {
    let cursor: string | undefined;
    do {
      const page = await this.listAuditLog({ limit: 1000, ...query, ...(cursor ? { cursor } : {}) });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
}
