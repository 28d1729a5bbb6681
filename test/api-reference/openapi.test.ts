/**
 * The API reference: /openapi.json as the service serves it passes `redocly
 * lint` (recommended ruleset plus operation-tag-defined,
 * operation-description and no-unused-components, redocly.yaml), names its
 * shared schemas, has examples that the schemas accept, and documents every
 * status an operation really answers with: each error code of the route
 * table, and what the running service answers each operation when provoked
 * (no key, a key in the URL, a key without the permission, bad bodies,
 * throttling with Retry-After, a closed store, an endpoint switched off).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, OPERATION_IDS, pathParamNames, type OperationId, type RouteSpec } from '../../src/core/api.ts';
import { ERROR_CATALOG } from '../../src/core/errors.ts';
import * as schemas from '../../src/core/schemas.ts';
import { EXAMPLES } from '../../src/server/openapi-examples.ts';
import { raw, requestFrom, startTestService, type TestService } from '../support/keyservice.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const REDOCLY = join(ROOT, 'node_modules', '.bin', 'redocly');
const THRESHOLD = 2;

interface Operation {
  operationId: OperationId;
  description: string;
  tags: string[];
  responses: Record<string, { description: string; 'x-keyward-error-codes'?: string[]; headers?: Record<string, unknown>; content?: Record<string, { example?: unknown; examples?: Record<string, unknown> }> }>;
  requestBody?: { content: Record<string, { example?: unknown }> };
  parameters?: { name: string; in: string; example?: unknown }[];
}
type Doc = { servers: { url: string }[]; components: { schemas: Record<string, any> }; paths: Record<string, Record<string, Operation>> };

let service: TestService;
let doc: Doc;
const dirs: string[] = [];

beforeAll(async () => {
  service = await startTestService({ failedAuthThreshold: THRESHOLD, throttleDuration: '5m' });
  doc = (await raw(service.url, '/openapi.json')).body as Doc;
});
afterAll(async () => {
  await service?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const operationOf = (id: OperationId): Operation => doc.paths[API[id].path.replace(/:([A-Za-z]+)/g, '{$1}')]![API[id].method.toLowerCase()]!;

/** `redocly lint` of a document with the project's ruleset: its exit code and output. */
async function redoclyLint(document: unknown): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-openapi-'));
  dirs.push(dir);
  const file = join(dir, 'openapi.json');
  writeFileSync(file, JSON.stringify(document));
  try {
    const { stdout, stderr } = await promisify(execFile)(REDOCLY, ['lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format', 'stylish'], {
      cwd: ROOT,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('the OpenAPI document', () => {
  it('passes redocly lint with the recommended rules plus operation-tag-defined, operation-description and no-unused-components', async () => {
    const clean = await redoclyLint(doc);
    expect(clean.output).not.toMatch(/warning|error/i);
    expect(clean.code, clean.output).toBe(0);
    // The rules are on: an undefined tag, an operation without a description and an unused component each fail it.
    const broken = structuredClone(doc) as Doc & { tags: unknown[] };
    broken.tags = broken.tags.filter((tag) => (tag as { name: string }).name !== 'Verify');
    delete (broken.paths['/v1/whoami']!.get as Partial<Operation>).description;
    broken.components.schemas.Unused = { type: 'string' };
    const refused = await redoclyLint(broken);
    expect(refused.code).not.toBe(0);
    for (const rule of ['operation-tag-defined', 'operation-description', 'no-unused-components']) expect(refused.output).toContain(rule);
  }, 60_000);

  it('names the shared schemas (Key, Role, Organization, Error, ErrorCode …) and refers to them', () => {
    const components = doc.components.schemas;
    for (const name of ['Key', 'Role', 'Organization', 'Error', 'ErrorCode', 'Permission', 'AuditEvent', 'Usage', 'Environment']) expect(components, name).toHaveProperty(name);
    expect(components.KeyList.properties.items.items).toEqual({ $ref: '#/components/schemas/Key' });
    expect(components.CreatedKey.properties.key).toEqual({ $ref: '#/components/schemas/Key' });
    expect(components.Key.properties.environment).toEqual({ $ref: '#/components/schemas/Environment' });
    expect(components.Error.properties.error.properties.code).toEqual({ $ref: '#/components/schemas/ErrorCode' });
    expect(components.ErrorCode.enum).toEqual(Object.keys(ERROR_CATALOG));
    expect(operationOf('getKey').responses['200']!.content!['application/json']).toMatchObject({ schema: { $ref: '#/components/schemas/Key' } });
    expect(doc.servers).toEqual([{ url: service.url, description: expect.any(String) }]);
  });

  it("`servers` names where the document was fetched from: behind a trusted proxy the proxy's address, else the forwarded headers are ignored", async () => {
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'keys.example.com' };
    // This service trusts no proxy: a caller cannot make the document point clients elsewhere.
    expect((await raw(service.url, '/openapi.json', { headers: forwarded })).body.servers).toEqual([{ url: service.url, description: expect.any(String) }]);
    const proxied = await startTestService({ trustProxy: 'loopback' });
    try {
      expect((await raw(proxied.url, '/openapi.json', { headers: forwarded })).body.servers).toEqual([{ url: 'https://keys.example.com', description: expect.any(String) }]);
    } finally {
      await proxied.stop();
    }
  });

  it('every operation has a tag, a description and examples the schemas accept', () => {
    for (const id of OPERATION_IDS) {
      const route: RouteSpec = API[id];
      const op = operationOf(id);
      expect(op.tags, id).toEqual([route.tag]);
      expect(op.description.length, id).toBeGreaterThan(20);
      expect(EXAMPLES[id], `${id} has no example`).toBeDefined();
      if (route.body) expect(EXAMPLES[id], `${id} has no request example`).toHaveProperty('request');
      if (route.success.schema) expect(EXAMPLES[id], `${id} has no response example`).toHaveProperty('response');
      const example = EXAMPLES[id] as { request?: unknown; query?: Record<string, unknown>; response?: unknown };
      if (example.query) {
        expect(route.query, `${id} has a query example but no query`).toBeDefined();
        expect(schemas[route.query!].safeParse(example.query).error, `${id} query example`).toBeUndefined();
        for (const [name, value] of Object.entries(example.query)) {
          expect(op.parameters?.find((p) => p.in === 'query' && p.name === name)?.example, `${id} query parameter ${name}`).toEqual(value);
        }
      }
      if (route.body) {
        expect(op.requestBody!.content['application/json']!.example, id).toEqual(example.request);
        expect(schemas[route.body].safeParse(example.request).error, `${id} request example`).toBeUndefined();
      }
      if (route.success.schema) {
        expect(op.responses[route.success.status]!.content!['application/json']!.example, id).toEqual(example.response);
        expect(schemas[route.success.schema].safeParse(example.response).error, `${id} response example`).toBeUndefined();
      }
    }
  });

  it("documents, for every operation, the status of each error code the route table lists", () => {
    for (const id of OPERATION_IDS) {
      for (const code of API[id].errors) {
        const documented = operationOf(id).responses[ERROR_CATALOG[code].status];
        expect(documented, `${id}: ${code} (${ERROR_CATALOG[code].status})`).toBeDefined();
        expect(documented!['x-keyward-error-codes'], `${id}: ${code}`).toContain(code);
        // Each status says in words what it means (410 and 502 included), not a bare "Error".
        expect(documented!.description, `${id}: ${ERROR_CATALOG[code].status}`).not.toMatch(/^(undefined|Error)\./);
      }
    }
  });
});

describe('what the service really answers is documented', () => {
  /** Every (operation, status, code) the running service answered, checked against the document. */
  const seen: { id: OperationId; status: number; code: string | undefined; retryAfter?: string | undefined }[] = [];
  const check = (id: OperationId, response: { status: number; body: any; headers: Headers | Record<string, unknown> }) => {
    const code = response.body?.error?.code as string | undefined;
    const retryAfter = response.headers instanceof Headers ? response.headers.get('retry-after') ?? undefined : (response.headers['retry-after'] as string | undefined);
    seen.push({ id, status: response.status, code, retryAfter });
    const documented = operationOf(id).responses[String(response.status)];
    expect(documented, `${id} answered ${response.status} ${code ?? ''}, which its document does not list`).toBeDefined();
    if (code) expect(documented!['x-keyward-error-codes'], `${id} ${response.status}`).toContain(code);
  };
  const pathOf = (id: OperationId, value = (name: string) => (API[id].tag === 'Roles' ? 'no-such-role' : 'key_00000000000000000000')) =>
    pathParamNames(API[id].path).reduce((path, name) => path.replace(`:${name}`, value(name)), API[id].path as string);
  const send = (id: OperationId, init: { headers?: Record<string, string>; body?: string; query?: string; to?: TestService } = {}) =>
    raw((init.to ?? service).url, `${pathOf(id)}${init.query ?? ''}`, { method: API[id].method, headers: init.headers, body: API[id].method === 'GET' ? undefined : init.body });
  const admin = (to = service) => ({ authorization: `Bearer ${to.adminSecret}` });

  it('refused keys, a key in the URL, a key without the permission, and bad bodies', async () => {
    const verifier = await service.client().createKey({ name: 'Docs verifier', role: 'verifier' });
    for (const id of OPERATION_IDS) {
      const route: RouteSpec = API[id];
      check(id, await send(id));
      check(id, await send(id, { headers: { authorization: 'Bearer kw_thisIsNoKeyAtAllButShapedLike' } }));
      check(id, await send(id, { headers: admin(), query: `?q=${service.adminSecret}` }));
      if (route.permission !== null && route.permission !== 'api.key.verify') check(id, await send(id, { headers: { authorization: `Bearer ${verifier.secret}` } }));
      if (route.body) {
        check(id, await send(id, { headers: { ...admin(), 'content-type': 'text/plain' }, body: 'hello' }));
        check(id, await send(id, { headers: { ...admin(), 'content-type': 'application/json' }, body: '{"name":' }));
        check(id, await send(id, { headers: { ...admin(), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(70 * 1024) }) }));
        check(id, await send(id, { headers: { ...admin(), 'content-type': 'application/json' }, body: JSON.stringify({ unexpected: true }) }));
      }
      if (route.query) check(id, await send(id, { headers: admin(), query: '?limit=0&from=yesterday' }));
      if (route.path.includes(':') && !route.body) check(id, await send(id, { headers: admin() }));
    }
    const statuses = new Set(seen.map((s) => s.status));
    for (const status of [400, 401, 403, 404, 413, 415]) expect(statuses, `no operation answered ${status}`).toContain(status);
  });

  it('429 RATE_LIMITED with Retry-After, once an address failed too often', async () => {
    let host = 10;
    // The operations a key may call (sign-in steps authenticate nobody; session routes count failed cookies, not keys; a signed route takes no key).
    for (const id of OPERATION_IDS.filter((op) => (API[op] as RouteSpec).auth === undefined || (API[op] as RouteSpec).auth === 'key')) {
      // Each operation from its own loopback address, so each one is throttled afresh.
      const from = `127.0.0.${host++}`;
      const url = `${service.url}${pathOf(id)}`;
      const wrong = { method: API[id].method, headers: { authorization: 'Bearer kw_thisIsNoKeyAtAllButShapedLike' } };
      for (let i = 0; i < THRESHOLD; i++) check(id, { ...(await requestFrom(from, url, wrong)), headers: {} });
      const throttled = await requestFrom(from, url, wrong);
      expect(throttled.status, id).toBe(429);
      check(id, { ...throttled, headers: throttled.headers });
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
      expect(operationOf(id).responses['429']!.headers).toHaveProperty('Retry-After');
    }
  });

  it('404 ROUTE_NOT_FOUND from the secret scanning endpoint of a service that switched it off', async () => {
    const off = await startTestService({ secretScanning: 'off' });
    try {
      const answer = await send('githubSecretScanning', { to: off, headers: { 'content-type': 'application/json' }, body: '[]' });
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('ROUTE_NOT_FOUND');
      check('githubSecretScanning', answer);
    } finally {
      await off.stop();
    }
  });

  it('503 SERVICE_UNAVAILABLE once the store is closed', async () => {
    // A service of its own: with its store closed under it, stopping it cannot flush usage (and says so).
    const closing = await startTestService();
    try {
      await closing.server.store.close();
      for (const id of OPERATION_IDS) check(id, await send(id, { to: closing, headers: { ...admin(closing), 'content-type': 'application/json' }, body: '{}' }));
    } finally {
      await closing.stop().catch(() => rmSync(closing.dir, { recursive: true, force: true }));
    }
    // lowdb answers reads from memory; what reaches the closed store (usage) answers 503.
    expect(seen.some((s) => s.status === 503 && s.code === 'SERVICE_UNAVAILABLE')).toBe(true);
  });
});
