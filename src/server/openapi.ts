/**
 * The OpenAPI 3.1 document, generated from the route table (src/core/api.ts)
 * and the zod schemas that validate requests: operations grouped by tag;
 * request bodies as components named by their export; response schemas as
 * shared components under the names a client generator makes types of (Key,
 * Role, Organization, Error, ErrorCode …, RESPONSE_COMPONENTS), referenced
 * wherever they appear; every error the service can answer an operation with
 * (its own, and those of the request pipeline: authentication, throttling,
 * body parsing, an unavailable store) by status, each with its codes and an
 * example; an example request and response per operation
 * (openapi-examples.ts). `redocly lint` keeps it clean
 * (test/api-reference/openapi.test.ts, ruleset in redocly.yaml).
 */
import { z } from 'zod';
import { API, OPERATION_IDS, pathParamNames, TAGS, type RouteSpec, type SchemaName } from '../core/api.ts';
import { AUTHENTICATION_ERRORS, ERROR_CATALOG, type ErrorCode } from '../core/errors.ts';
import * as schemas from '../core/schemas.ts';
import { DEFAULT_KEY_SERVICE_URL } from '../core/settings.ts';
import { BODY_LIMIT_BYTES, formatLimit } from './body.ts';
import { EXAMPLES } from './openapi-examples.ts';
import { SESSION_COOKIE } from './people/cookies.ts';

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });

const toOpenApiPath = (path: string): string => path.replace(/:([A-Za-z]+)/g, '{$1}');
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Response schemas (and what they share) under the component names client generators make types of; one not listed keeps its export name. */
export const RESPONSE_COMPONENTS = {
  KeyView: 'Key',
  CreatedKey: 'CreatedKey',
  RotatedKey: 'RotatedKey',
  KeyList: 'KeyList',
  KeyBatch: 'KeyBatch',
  Role: 'Role',
  RoleList: 'RoleList',
  PermissionView: 'Permission',
  PermissionList: 'PermissionList',
  VerifyResult: 'VerifyResult',
  WhoAmI: 'WhoAmI',
  OrganizationView: 'Organization',
  IpAllowlistView: 'IpAllowlistView',
  UsageView: 'Usage',
  AuditEventView: 'AuditEvent',
  AuditPage: 'AuditPage',
  Environment: 'Environment',
  Metadata: 'Metadata',
  ErrorResponse: 'Error',
  ErrorCode: 'ErrorCode',
} as const satisfies Partial<Record<SchemaName, string>>;

const componentName = (name: SchemaName): string => (RESPONSE_COMPONENTS as Partial<Record<SchemaName, string>>)[name] ?? name;

/** The shared response components, cross-referenced (Key inside CreatedKey is a $ref to Key). */
function responseComponents(): Record<string, object> {
  const registry = z.registry<{ id: string }>();
  for (const [name, id] of Object.entries(RESPONSE_COMPONENTS)) registry.add(schemas[name as SchemaName], { id });
  // A response schema not listed keeps its export name.
  for (const operationId of OPERATION_IDS) {
    const schema: SchemaName | undefined = (API[operationId] as RouteSpec).success.schema;
    if (schema && !registry.has(schemas[schema])) registry.add(schemas[schema], { id: schema });
  }
  const { schemas: out } = z.toJSONSchema(registry, { io: 'output', unrepresentable: 'any', target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(Object.entries(out).map(([id, { $schema: _schema, $id: _id, ...schema }]) => [id, schema]));
}

function queryParameters(schema: z.ZodType, example: Record<string, unknown> | undefined) {
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, { description?: string }>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    description: property.description ?? `Filter: ${name}`,
    schema: property,
    ...(example?.[name] === undefined ? {} : { example: example[name] }),
  }));
}

/**
 * Every error code an operation can answer with: its own (the route table's
 * `errors`) and the request pipeline's. Every operation refuses a secret in
 * the URL (KEY_IN_URL), reads any body sent (even to a GET: a wrong content
 * type, malformed JSON, an oversized body), and answers SERVICE_UNAVAILABLE
 * when the store cannot be reached and INTERNAL on a bug. Who may call
 * (`auth`) adds the rest: a key's or a session's refusals and RATE_LIMITED
 * once an address failed too often; for a session, a change from another
 * Origin or without the CSRF token; a sign-in step (public) only checks the
 * Origin. One with a permission refuses a caller without it; one with a body,
 * query or path parameter validates it.
 */
export function errorCodesOf(route: RouteSpec): ErrorCode[] {
  const codes: ErrorCode[] = ['KEY_IN_URL', 'UNSUPPORTED_MEDIA_TYPE', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'SERVICE_UNAVAILABLE', 'INTERNAL'];
  const change = route.method !== 'GET';
  if (route.auth === 'public') codes.push('FOREIGN_ORIGIN');
  else if (route.auth === 'signature') codes.push('SIGNATURE_INVALID');
  else if (route.auth === 'session') codes.push('SESSION_REQUIRED', 'UNKNOWN_SESSION', 'SESSION_EXPIRED', 'RATE_LIMITED', ...(change ? (['FOREIGN_ORIGIN', 'CSRF_TOKEN_MISSING'] as const) : []));
  else codes.push(...AUTHENTICATION_ERRORS, 'RATE_LIMITED', ...(route.auth === undefined && change ? (['FOREIGN_ORIGIN', 'CSRF_TOKEN_MISSING'] as const) : []));
  if (route.permission !== null && route.auth !== 'public' && route.auth !== 'signature') codes.push('INSUFFICIENT_PERMISSIONS');
  if (route.body || route.query || route.path.includes(':')) codes.push('VALIDATION_FAILED');
  if (route.immutableFields) codes.push('IMMUTABLE_FIELD');
  if (route.operatorFields) codes.push('SET_BY_OPERATOR');
  codes.push(...route.errors);
  return [...new Set(codes)];
}

/** Who may call, as OpenAPI security requirements (a public step needs nothing; a signed one carries its signature in headers, listed as parameters). */
const securityOf = (route: RouteSpec) =>
  route.auth === 'public' || route.auth === 'signature' ? [] : route.auth === 'session' ? [{ session: [] }] : route.auth === 'key' ? [{ bearer: [] }] : [{ bearer: [] }, { session: [] }];

/** Every status of the error catalog, said in words (the compiler asks for a new one's). */
type ErrorStatus = (typeof ERROR_CATALOG)[ErrorCode]['status'];
const STATUS_TEXT: Record<ErrorStatus, string> = {
  400: 'The request is malformed or invalid',
  401: 'The key is missing, malformed, unknown, revoked or expired',
  403: 'The key may not do this',
  404: 'Not found',
  405: 'This path does not take this method',
  409: 'Conflicts with the current state',
  410: 'No longer usable: expired or revoked',
  413: 'The body is too large',
  415: 'The body is not JSON',
  429: 'Too many failed authentications from this address',
  500: 'A bug in keyward',
  502: 'The identity provider could not be reached or read',
  503: 'The store cannot be reached; retry shortly',
};

const errorExample = (code: ErrorCode) => ({
  summary: code,
  value: { error: { code, message: `A sentence saying what was wrong (${code}).`, hint: ERROR_CATALOG[code].hint } },
});

/** The errors an operation can answer with, by HTTP status; each lists its codes (also as x-keyward-error-codes) with an example each. */
function errorResponses(route: RouteSpec): Record<string, unknown> {
  const byStatus = new Map<ErrorStatus, ErrorCode[]>();
  for (const code of errorCodesOf(route)) {
    const status = ERROR_CATALOG[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].sort(([a], [b]) => a - b).map(([status, codes]) => [
      status,
      {
        description: `${STATUS_TEXT[status]}. Error codes: ${codes.join(', ')}`,
        'x-keyward-error-codes': codes,
        ...(status === 429 ? { headers: { 'Retry-After': { description: 'Seconds until this address may try again', schema: { type: 'integer', minimum: 1 } } } } : {}),
        content: { 'application/json': { schema: ref('Error'), examples: Object.fromEntries(codes.map((code) => [code, errorExample(code)])) } },
      },
    ]),
  );
}

/** `servers`: the service at `serverUrl`, or where `keyward serve` listens by default. */
export const openApiServers = (serverUrl?: string) => [
  serverUrl
    ? { url: serverUrl, description: 'This key service (where this document was fetched from)' }
    : { url: DEFAULT_KEY_SERVICE_URL, description: 'A key service started with `keyward serve` (its default address)' },
];

export interface OpenApiOptions {
  /** Where this service is reached, for `servers` (the service passes the address the document was fetched from). */
  serverUrl?: string;
}

export function buildOpenApiDocument(version: string, options: OpenApiOptions = {}) {
  const bodies: Record<string, unknown> = {};
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operationId of OPERATION_IDS) {
    const route: RouteSpec = API[operationId];
    const { success } = route;
    const example = (EXAMPLES[operationId] ?? {}) as { request?: unknown; query?: Record<string, unknown>; response?: unknown };
    const permission =
      route.auth === 'signature'
        ? `No key or session: the body must be signed (headers ${Object.values(route.signatureHeaders ?? {}).join(', ')}). Bodies up to ${formatLimit(route.bodyLimitBytes ?? BODY_LIMIT_BYTES)}.`
        : route.permission === null
          ? 'Any valid key may call this.'
          : `Requires permission \`${route.permission}\`.`;
    if (route.body) bodies[route.body] ??= jsonSchema(schemas[route.body], 'input');
    (paths[toOpenApiPath(route.path)] ??= {})[route.method.toLowerCase()] = {
      operationId,
      tags: [route.tag],
      security: securityOf(route),
      summary: route.summary,
      description: `${route.description}\n\n${permission}`,
      ...(route.permission === null ? {} : { 'x-keyward-permission': route.permission }),
      parameters: [
        ...pathParamNames(route.path).map((name) => ({ name, in: 'path', required: true, description: name === 'id' ? `The ${route.tag === 'Roles' ? 'role id' : 'Key ID (key_…)'}` : name, schema: { type: 'string' } })),
        ...(route.query ? queryParameters(schemas[route.query], example.query) : []),
        ...Object.entries(route.signatureHeaders ?? {}).map(([role, name]) => ({ name, in: 'header', required: true, description: `The signature's ${role === 'signature' ? 'value (base64)' : 'key identifier'}`, schema: { type: 'string' } })),
      ],
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: ref(route.body), ...(example.request === undefined ? {} : { example: example.request }) } } } }
        : {}),
      responses: {
        [success.status]: {
          description: success.description,
          ...(success.schema ? { content: { 'application/json': { schema: ref(componentName(success.schema)), ...(example.response === undefined ? {} : { example: example.response }) } } } : {}),
        },
        ...errorResponses(route),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'keyward key service',
      version,
      description:
        'Issue, verify, rotate and revoke API keys. Authenticate every call with `Authorization: Bearer <secret>` (never in a URL). ' +
        'Every error is {"error": {code, message, hint}}: the code names the cause (ErrorCode), the hint says what to do.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: openApiServers(options.serverUrl),
    security: [{ bearer: [] }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A keyward secret key (kw_…)' },
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: "A member's dashboard session (changes also need the X-CSRF-Token header and the service's own Origin)" },
      },
      schemas: { ...responseComponents(), ...bodies },
    },
    paths,
  };
}
