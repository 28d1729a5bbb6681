/**
 * The OpenAPI 3.1 document, generated from the route table (src/core/api.ts)
 * and the zod schemas that validate requests: operations grouped by tag, each
 * named request and response schema a component.
 */
import { z } from 'zod';
import { API, OPERATION_IDS, pathParamNames, TAGS, type RouteSpec, type SchemaName } from '../core/api.ts';
import { AUTHENTICATION_ERRORS, ERROR_CATALOG, type ErrorCode } from '../core/errors.ts';
import * as schemas from '../core/schemas.ts';

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });

const toOpenApiPath = (path: string): string => path.replace(/:([A-Za-z]+)/g, '{$1}');
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function queryParameters(schema: z.ZodType) {
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: property,
  }));
}

/** The errors an operation can answer with, by HTTP status. */
function errorResponses(route: RouteSpec): Record<string, unknown> {
  const codes: ErrorCode[] = [...AUTHENTICATION_ERRORS];
  if (route.permission !== null) codes.push('INSUFFICIENT_PERMISSIONS');
  if (route.body || route.query || route.path.includes(':')) codes.push('VALIDATION_FAILED');
  codes.push(...route.errors);
  const byStatus = new Map<number, string[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_CATALOG[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [status, { description: `Error codes: ${list.join(', ')}`, content: { 'application/json': { schema: ref('Error') } } }]),
  );
}

export function buildOpenApiDocument(version: string) {
  const components: Record<string, unknown> = {};
  const component = (name: SchemaName, io: 'input' | 'output') => {
    components[name] ??= jsonSchema(schemas[name], io);
    return ref(name);
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operationId of OPERATION_IDS) {
    const route: RouteSpec = API[operationId];
    const { success } = route;
    const permission = route.permission === null ? 'Any valid key may call this.' : `Requires permission \`${route.permission}\`.`;
    (paths[toOpenApiPath(route.path)] ??= {})[route.method.toLowerCase()] = {
      operationId,
      tags: [route.tag],
      summary: route.summary,
      description: `${route.description}\n\n${permission}`,
      ...(route.permission === null ? {} : { 'x-keyward-permission': route.permission }),
      parameters: [
        ...pathParamNames(route.path).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
        ...(route.query ? queryParameters(schemas[route.query]) : []),
      ],
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: component(route.body, 'input') } } } } : {}),
      responses: {
        [success.status]: {
          description: success.description,
          ...(success.schema ? { content: { 'application/json': { schema: component(success.schema, 'output') } } } : {}),
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
      description: 'Issue, verify, rotate and revoke API keys. Authenticate with "Authorization: Bearer <secret>".',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A keyward secret key (kw_…)' } },
      schemas: {
        Error: jsonSchema(schemas.ErrorResponse, 'output'),
        ErrorCode: { type: 'string', enum: Object.keys(ERROR_CATALOG) },
        ...components,
      },
    },
    paths,
  };
}
