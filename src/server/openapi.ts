/** The OpenAPI 3.1 document, generated from the same route table and zod schemas that validate requests. */
import { z } from 'zod';
import { AUTHENTICATION_ERRORS, ERROR_CATALOG, type ErrorCode } from '../core/errors.ts';
import { ErrorResponse } from '../core/schemas.ts';
import type { Route } from './routes.ts';

const AUTH_ERRORS = [...AUTHENTICATION_ERRORS, 'INSUFFICIENT_PERMISSIONS'] as const;

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });

const toOpenApiPath = (path: string): string => path.replace(/:([A-Za-z]+)/g, '{$1}');

function queryParameters(schema: z.ZodType) {
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: property,
  }));
}

export function buildOpenApiDocument(routes: readonly Route[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = toOpenApiPath(route.path);
    const pathParams = [...route.path.matchAll(/:([A-Za-z]+)/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const errorCodes: ErrorCode[] = [...AUTH_ERRORS, 'VALIDATION_FAILED', ...route.errors];
    const byStatus = new Map<number, string[]>();
    for (const code of new Set(errorCodes)) {
      const status = ERROR_CATALOG[code].status;
      byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    }
    const responses: Record<string, unknown> = {
      [route.success.status]: {
        description: route.success.description,
        ...(route.success.schema ? { content: { 'application/json': { schema: jsonSchema(route.success.schema, 'output') } } } : {}),
      },
    };
    for (const [status, codes] of byStatus) {
      responses[status] = {
        description: `Error codes: ${codes.join(', ')}`,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    (paths[path] ??= {})[route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.permission ? { description: `Requires permission \`${route.permission}\`.`, 'x-keyward-permission': route.permission } : {}),
      parameters: [...pathParams, ...(route.query ? queryParameters(route.query) : [])],
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } }
        : {}),
      responses,
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
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A keyward secret key (kw_…)' } },
      schemas: {
        Error: jsonSchema(ErrorResponse, 'output'),
        ErrorCode: { type: 'string', enum: Object.keys(ERROR_CATALOG) },
      },
    },
    paths,
  };
}
