/**
 * Runs one route for one request, whatever carried it (Express or the fast
 * verify path): authenticate, validate, handle, and map errors to the wire.
 */
import type { z } from 'zod';
import { KeywardError, isKeywardError, type ErrorBody } from '../core/errors.ts';
import type { Route } from './routes.ts';
import type { KeyService } from './service.ts';

export interface RawRequest {
  authorization: string | undefined;
  body: unknown;
  query: Record<string, unknown>;
  params: Record<string, string>;
  ip: string | null;
}

export interface RouteOutcome {
  status: number;
  body: unknown;
  /** Set when the caller authenticated; logged instead of anything secret. */
  keyId?: string;
  errorCode?: string;
}

export function validationError(issues: readonly z.core.$ZodIssue[], where: string): KeywardError {
  const details = issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join('.') : where,
    message: issue.message,
  }));
  const first = details[0]!;
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  return new KeywardError('VALIDATION_FAILED', `${first.path}: ${first.message}${more}`, { details });
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error.issues, where);
  return result.data;
}

export const errorOutcome = (error: KeywardError): RouteOutcome => ({
  status: error.status,
  body: { error: error.toBody() satisfies ErrorBody },
  errorCode: error.code,
});

export async function executeRoute(route: Route, request: RawRequest, service: KeyService, onError: (e: unknown) => void): Promise<RouteOutcome> {
  let keyId: string | undefined;
  try {
    const principal = await service.authenticate(request.authorization, request.ip);
    keyId = principal.key.id;
    let body: unknown = undefined;
    if (route.body) {
      const raw = request.body === undefined ? {} : request.body;
      if (route.immutableFields && typeof raw === 'object' && raw !== null) {
        const touched = route.immutableFields.filter((field) => Object.hasOwn(raw, field));
        if (touched.length > 0) {
          throw new KeywardError('IMMUTABLE_FIELD', `${touched.join(', ')} cannot be changed; only name and role can.`, {
            details: { fields: touched },
          });
        }
      }
      body = parseWith(route.body, raw, 'body');
    }
    const query = route.query ? parseWith(route.query, request.query, 'query') : {};
    const result = await route.handle({ principal, body, query, params: request.params, ip: request.ip, service });
    return { status: route.success.status, body: result, keyId };
  } catch (error) {
    if (isKeywardError(error)) return { ...errorOutcome(error), ...(keyId ? { keyId } : {}) };
    onError(error);
    return { ...errorOutcome(new KeywardError('INTERNAL', 'Internal error.')), ...(keyId ? { keyId } : {}) };
  }
}
