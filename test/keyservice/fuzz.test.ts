/**
 * A schema-driven property test of the whole /v1 API, on loopback: every
 * operation of /openapi.json, with bodies and parameters generated from its
 * own JSON schemas (valid, mutated and random), odd headers and content
 * types, called as several roles of two organizations. For every answer:
 * no 5xx; every error has code, message and hint; no response but the
 * create or rotate that issued it holds a secret or a secret's hash; and a
 * refused request leaves the store byte for byte as it was.
 *
 * Seeded and bounded (KEYWARD_FUZZ_RUNS, default 500 requests, and 120 s);
 * the counts by status are printed at the end.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '../../src/core/errors.ts';
import { newSecret } from '../../src/core/token.ts';
import { startTestService, TEST_STORE, type TestService } from '../support/keyservice.ts';

const SEED = 20_260_115;
const RUNS = Number(process.env.KEYWARD_FUZZ_RUNS ?? 500);
const TIME_LIMIT_MS = 120_000;

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  default?: unknown;
};

interface Operation {
  method: string;
  path: string;
  operationId: string;
  body?: JsonSchema;
  query: { name: string; schema: JsonSchema }[];
  /** The document's responses by status, each error status with the codes it lists. */
  responses: Record<string, { 'x-keyward-error-codes'?: string[] }>;
}

interface Caller {
  label: string;
  authorization: string | undefined;
}

interface FuzzRequest {
  operation: Operation;
  caller: Caller;
  path: string;
  query: [string, string][];
  body: { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'text'; text: string };
  contentType: string | undefined;
  gzip: boolean;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
// A whole token, not a run inside a longer base64url value (a WebAuthn challenge may hold "k_" and 28 letters by chance).
const SECRET_SHAPE = /(?<![0-9A-Za-z_-])[a-z][a-z0-9]{0,15}_[0-9A-Za-z]{28}(?![0-9A-Za-z_-])/g;
const HEX64 = /(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/;

let service: TestService;
let operations: Operation[];
const callers: Caller[] = [];
/** Every secret the fuzz knows of (issued in setup or by a create/rotate it made), and their hashes. */
const secrets = new Set<string>();
/** Key ids of either organization, and role ids, to aim path parameters and bodies at. */
const keyIds: string[] = [];
/** Keys the callers authenticate with: never edited, revoked or rotated by the fuzz, so every role stays in play. */
const callerKeyIds = new Set<string>();
const roleIds = ['admin', 'key-manager', 'viewer', 'verifier', 'geo-reader', 'ghost'];
const counts = new Map<number, number>();
const codes = new Map<string, number>();
const perOperation = new Map<string, number>();

beforeAll(async () => {
  // No usage flush and no throttling during the run: anything that changes the store is a request's doing.
  service = await startTestService({ usageFlushMs: 600_000, failedAuthThreshold: 1_000_000 });
  const acme = service.client();
  await acme.createPermission({ name: 'geo.read', description: 'Read geodata' });
  await acme.createRole({ id: 'geo-reader', name: 'Geo reader', permissions: ['geo.read', 'api.key.view'] });
  const issue = async (client: typeof acme, name: string, role: string) => {
    const created = await client.createKey({ name, role });
    secrets.add(created.secret);
    keyIds.push(created.key.id);
    return created;
  };
  const bearer = (secret: string) => `Bearer ${secret}`;
  callers.push({ label: 'acme admin', authorization: bearer(service.adminSecret) });
  for (const role of ['key-manager', 'viewer', 'verifier', 'geo-reader']) {
    const created = await issue(acme, `acme ${role}`, role);
    callers.push({ label: `acme ${role}`, authorization: bearer(created.secret) });
    callerKeyIds.add(created.key.id);
  }
  const globexOrg = await service.newOrganization('globex');
  const globex = service.client(globexOrg.secret);
  callers.push({ label: 'globex admin', authorization: bearer(globexOrg.secret) });
  const globexViewer = await issue(globex, 'globex viewer', 'viewer');
  callers.push({ label: 'globex viewer', authorization: bearer(globexViewer.secret) });
  callerKeyIds.add(globexViewer.key.id);
  for (const id of [service.adminKeyId, globexOrg.keyId]) {
    keyIds.push(id);
    callerKeyIds.add(id);
  }
  secrets.add(service.adminSecret);
  secrets.add(globexOrg.secret);
  // Keys in every state, for both organizations.
  let revokedSecret = '';
  for (const client of [acme, globex]) {
    await issue(client, 'spare', 'viewer');
    const revoked = await issue(client, 'revoked', 'viewer');
    await client.revokeKey(revoked.key.id);
    revokedSecret ||= revoked.secret;
    const old = await issue(client, 'rotated', 'viewer');
    const rotated = await client.rotateKey(old.key.id, { gracePeriod: '0' });
    secrets.add(rotated.secret);
    keyIds.push(rotated.key.id);
  }
  callers.push(
    { label: 'no header', authorization: undefined },
    { label: 'basic', authorization: 'Basic dXNlcjpwYXNz' },
    { label: 'bearer only', authorization: 'Bearer' },
    { label: 'unknown key', authorization: bearer(newSecret()) },
    { label: 'revoked key', authorization: bearer(revokedSecret) },
    { label: 'typo', authorization: bearer(`${service.adminSecret.slice(0, 10)}${service.adminSecret[10] === 'A' ? 'B' : 'A'}${service.adminSecret.slice(11)}`) },
    { label: 'key id', authorization: bearer(service.adminKeyId) },
    { label: 'tab', authorization: `Bearer\t${service.adminSecret}` },
  );

  const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { operationId: string; parameters?: { name: string; in: string; schema: JsonSchema }[]; requestBody?: { content: Record<string, { schema: { $ref: string } }> }; responses: Operation['responses'] }>>;
    components: { schemas: Record<string, JsonSchema> };
  };
  // Request bodies are named components: '#/components/schemas/CreateKeyBody'.
  const component = (schema: { $ref: string } | undefined) => (schema ? doc.components.schemas[schema.$ref.split('/').pop()!] : undefined);
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      operationId: op.operationId,
      body: component(op.requestBody?.content['application/json']?.schema),
      query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema })),
      responses: op.responses,
    })),
  );
});

afterAll(async () => service?.stop());

// ---- generators ----

const unicodeText = fc.string({ unit: 'grapheme', maxLength: 40 });
// Plain strings from all of ASCII, control characters and U+0000 included (PostgreSQL text cannot hold U+0000: it found 500s there).
const anyAscii = 'binary-ascii' as const;
const validName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ._()-]{0,20}[A-Za-z0-9]$/);
const validEntry = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('10.0.0.0/8', '2001:db8::/32', '192.0.2.0/24'));
const futureDateTime = fc.date({ min: new Date(Date.now() + 86_400_000), max: new Date('2040-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
const spoofing = fc.constantFrom('\u202E', '\u200B', '\uFEFF', '\u2066', '\u0000', '\n', '\uD800');
const ipLike = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.constantFrom('::ffff:10.0.0.0/90', '::ffff:10.0.0.0/104', '010.0.0.1', '1.2.3', '10.0.0.0/8', '2001:db8::/32', '127.0.0.0/8', 'fe80::1%eth0', '10.0.0.0/33', ''),
);
const duration = fc.oneof(fc.constantFrom('0', '30s', '1h', '24h', '7d', '8d', '3650d', '1 day', '-5m'), fc.stringMatching(/^[0-9]{1,4}(ms|s|m|h|d|w)$/));
const dayLike = fc.oneof(
  fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  fc.constantFrom('2026-13-45', '2026-02-30', '0001-01-01', '9999-12-31', '2026-1-1', 'today'),
);
const dateTimeLike = fc.oneof(
  fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2026-13-45T00:00:00Z', '2026-02-30T00:00:00Z', 'tomorrow', '2999-01-01T00:00:00+25:00'),
);

/** Values that make a request meet the service's state: known ids, secrets, roles, addresses. */
function hinted(name: string): fc.Arbitrary<unknown> | undefined {
  switch (name) {
    case 'role':
      return fc.constantFrom(...roleIds);
    case 'key':
      return fc.oneof(fc.constantFrom(...secrets), fc.constant(newSecret()), fc.constantFrom(...keyIds), fc.string({ maxLength: 40 }));
    case 'keyId':
    case 'actorKeyId':
    case 'targetId':
      return fc.oneof(fc.constantFrom(...keyIds), fc.string({ maxLength: 30 }));
    case 'permission':
      return fc.constantFrom('api.key.view', 'api.key.create', 'geo.read', 'geo.write', 'metrics.view', 'Not A Permission');
    case 'permissions':
      return fc.array(fc.constantFrom('api.key.view', 'api.key.create', 'geo.read', 'role.manage', 'audit.view', 'metrics.view', 'x'), { maxLength: 4 });
    case 'ip':
      return ipLike;
    case 'ipAllowlist':
    case 'entries':
      return fc
        .array(fc.oneof({ weight: 4, arbitrary: validEntry }, { weight: 1, arbitrary: ipLike }), { maxLength: 3 })
        .map((entries) => [...entries, '127.0.0.0/8']);
    case 'force':
      // Never lock the fuzz's own callers out of their organization (the guard itself is tested in allowlist.test.ts).
      return fc.constant(false);
    case 'gracePeriod':
    case 'unusedFor':
    case 'maxGracePeriod':
      return duration;
    case 'from':
    case 'to':
      return fc.oneof(dayLike, dateTimeLike);
    case 'expiresAt':
      return fc.oneof({ weight: 3, arbitrary: futureDateTime }, { weight: 1, arbitrary: dateTimeLike });
    case 'idempotencyKey':
      return fc.stringMatching(/^[a-z0-9][a-z0-9:/-]{7,24}$/);
    case 'metadata':
      return fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_.-]{0,10}$/), fc.oneof(validName, fc.integer(), fc.boolean()), { maxKeys: 3 });
    case 'name':
    case 'description':
      return fc.oneof(
        { weight: 4, arbitrary: validName },
        { weight: 1, arbitrary: unicodeText },
        { weight: 1, arbitrary: fc.tuple(validName, spoofing, validName).map(([a, s, b]) => `${a}${s}${b}`) },
      );
    default:
      return undefined;
  }
}

/** An arbitrary for values a JSON schema (as the OpenAPI document gives it) describes; mostly valid. */
function fromSchema(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return fc.jsonValue({ maxDepth: 2 });
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => fromSchema(s, depth + 1)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string': {
      if (schema.pattern) {
        try {
          return fc.stringMatching(new RegExp(schema.pattern), { maxLength: schema.maxLength ?? 64 });
        } catch {
          return fc.string({ maxLength: 32 });
        }
      }
      if (schema.format === 'date-time') return dateTimeLike;
      return fc.string({ unit: anyAscii, minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) });
    }
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -10, max: schema.maximum ?? 10_000 });
    case 'number':
      return fc.oneof(fc.integer({ min: schema.minimum ?? -10, max: schema.maximum ?? 10_000 }), fc.double({ noNaN: true }));
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(fromSchema(schema.items, depth + 1), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 4, 4) });
    case 'object': {
      if (schema.properties) {
        const fields = Object.fromEntries(
          Object.entries(schema.properties).map(([name, property]) => {
            const hint = hinted(name);
            return [name, hint ? fc.oneof({ weight: 3, arbitrary: hint }, { weight: 1, arbitrary: fromSchema(property, depth + 1) }) : fromSchema(property, depth + 1)];
          }),
        );
        return fc.record(fields, { requiredKeys: schema.required ?? [] });
      }
      if (typeof schema.additionalProperties === 'object') {
        return fc.dictionary(schema.propertyNames ? (fromSchema(schema.propertyNames, depth + 1) as fc.Arbitrary<string>) : fc.string({ maxLength: 10 }), fromSchema(schema.additionalProperties, depth + 1), {
          maxKeys: 3,
        });
      }
      return fc.object({ maxDepth: 1, maxKeys: 3 });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A valid-looking body made wrong in one way: a field dropped, retyped or added. */
function mutated(base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(base, fc.nat(), fc.jsonValue({ maxDepth: 1 }), fc.constantFrom('__proto__', 'id', 'secret', 'plan', 'admin', 'constructor')).map(([value, n, junk, field]) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return junk;
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const names = Object.keys(copy);
    if (n % 3 === 0 && names.length > 0) delete copy[names[n % names.length]!];
    else if (n % 3 === 1 && names.length > 0) copy[names[n % names.length]!] = junk;
    else copy[field] = junk;
    return copy;
  });
}

function pathParameter(operation: Operation): fc.Arbitrary<string> {
  if (!operation.path.includes('{id}')) return fc.constant('');
  if (operation.path.startsWith('/v1/roles/')) return fc.oneof(fc.constantFrom(...roleIds), fc.string({ unit: anyAscii, maxLength: 20 }));
  const mutating = operation.method !== 'GET';
  const targets = mutating ? keyIds.filter((id) => !callerKeyIds.has(id)) : keyIds;
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...targets) },
    { weight: 1, arbitrary: fc.stringMatching(/^key_[0-9A-Za-z]{20}$/) },
    { weight: 1, arbitrary: fc.string({ unit: anyAscii, maxLength: 30 }) },
  );
}

function requestArbitrary(): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...operations).chain((operation) =>
    fc.record({
      operation: fc.constant(operation),
      // Mostly the two admins (so requests get far enough to change things), every role, and broken credentials.
      caller: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(callers[0]!, callers[5]!) },
        { weight: 4, arbitrary: fc.constantFrom(...callers.slice(1, 7)) },
        { weight: 2, arbitrary: fc.constantFrom(...callers.slice(7)) },
      ),
      path: pathParameter(operation).map((id) => operation.path.replace('{id}', encodeURIComponent(id))),
      query: fc
        .tuple(
          ...operation.query.map((q) =>
            fc.option(
              (hinted(q.name) ?? fromSchema(q.schema)).map((v) => [q.name, String(v)] as [string, string]),
              { freq: 2 },
            ),
          ),
          fc.oneof(
            { weight: 11, arbitrary: fc.constant(null) },
            { weight: 1, arbitrary: fc.tuple(fc.constantFrom('stauts', 'api_key', 'x'), fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom(...secrets))) },
          ),
        )
        .map((pairs) => pairs.filter((p): p is [string, string] => p !== null)),
      body: operation.body
        ? fc.oneof(
            { weight: 6, arbitrary: fromSchema(operation.body).map((value) => ({ kind: 'json' as const, value })) },
            { weight: 2, arbitrary: mutated(fromSchema(operation.body)).map((value) => ({ kind: 'json' as const, value })) },
            { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })) },
            { weight: 1, arbitrary: fc.constantFrom('{"name": ', '[1,2', '\u0000', 'null', '').map((text) => ({ kind: 'text' as const, text })) },
          )
        : fc.oneof({ weight: 8, arbitrary: fc.constant({ kind: 'none' as const }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => ({ kind: 'json' as const, value })) }),
      contentType: fc.oneof(
        { weight: 12, arbitrary: fc.constant('application/json') },
        {
          weight: 3,
          arbitrary: fc.constantFrom<string | undefined>(
            'application/json; charset=utf-8',
            'application/merge-patch+json',
            'application/vnd.api+json',
            'text/plain',
            'application/json; charset=latin1',
            'application/x-www-form-urlencoded',
            'application/json; charset',
            undefined,
          ),
        },
      ),
      gzip: fc.oneof({ weight: 19, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
  );
}

// ---- checks ----

function bodyOf(request: FuzzRequest): string | Buffer | undefined {
  const { body } = request;
  const text = body.kind === 'none' ? undefined : body.kind === 'text' ? body.text : JSON.stringify(body.value);
  if (text === undefined) return undefined;
  return request.gzip ? gzipSync(text) : text;
}

/** One request over node:http (fetch refuses a body on GET, which a client may well send). */
function send(request: FuzzRequest): Promise<{ status: number; text: string; headers: string }> {
  const headers: Record<string, string> = {};
  if (request.caller.authorization !== undefined) headers.authorization = request.caller.authorization;
  const body = bodyOf(request);
  if (body !== undefined && request.contentType !== undefined) headers['content-type'] = request.contentType;
  if (request.gzip && body !== undefined) headers['content-encoding'] = 'gzip';
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const query = request.query.length > 0 ? `?${new URLSearchParams(request.query).toString()}` : '';
  const target = new URL(service.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: target.hostname, port: target.port, path: `${request.path}${query}`, method: request.operation.method, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            headers: Object.entries(res.headers).map(([k, v]) => `${k}: ${String(v)}`).join('\n'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The secret a successful create, rotate or compromise (its replacement, when one was issued) returned, if any. */
const issuedKey = (request: FuzzRequest, status: number, parsed: Record<string, any> | undefined): { secret: string; id: string } | undefined => {
  if (status !== 201 || !parsed) return undefined;
  const id = request.operation.operationId;
  if (id === 'createKey' || id === 'rotateKey') return { secret: parsed.secret, id: parsed.key.id };
  if (id === 'compromiseKey' && parsed.replacement) return { secret: parsed.replacement.secret, id: parsed.replacement.key.id };
  return undefined;
};

function describeRequest(request: FuzzRequest): string {
  const query = request.query.length > 0 ? `?${new URLSearchParams(request.query).toString()}` : '';
  return `${request.caller.label}: ${request.operation.method} ${request.path}${query} (${request.contentType ?? 'no content type'}${request.gzip ? ', gzip' : ''}) ${JSON.stringify(request.body)}`;
}

describe(`schema-driven fuzz of /openapi.json (${TEST_STORE})`, () => {
  it('no 5xx, errors explain themselves, secrets stay where they were issued, refusals change nothing', { timeout: TIME_LIMIT_MS + 60_000 }, async () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
    let requests = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(requestArbitrary(), async (request) => {
        const what = describeRequest(request);
        const before = await service.store.snapshot();
        const response = await send(request);
        requests++;
        counts.set(response.status, (counts.get(response.status) ?? 0) + 1);
        perOperation.set(request.operation.operationId, (perOperation.get(request.operation.operationId) ?? 0) + 1);
        expect(response.status, what).toBeLessThan(500);
        const parsed = response.text ? (JSON.parse(response.text) as Record<string, any>) : undefined;
        if (response.status >= 400) {
          const error = parsed?.error;
          codes.set(error?.code, (codes.get(error?.code) ?? 0) + 1);
          for (const field of ['code', 'message', 'hint']) {
            expect(typeof error?.[field], `${what}: error.${field}`).toBe('string');
            expect(error[field].length, `${what}: error.${field}`).toBeGreaterThan(0);
          }
          expect(Object.hasOwn(ERROR_CATALOG, error.code), `${what}: ${error.code} is in the catalog`).toBe(true);
          // The API reference lists this status and this code for this operation (unless the path, e.g. an empty id, matched no operation).
          if (error.code !== 'ROUTE_NOT_FOUND' && error.code !== 'METHOD_NOT_ALLOWED') {
            expect(request.operation.responses[response.status]?.['x-keyward-error-codes'], `${what}: ${response.status} ${error.code} is documented`).toContain(error.code);
          }
          expect(await service.store.snapshot(), `${what}: a refused request (${response.status} ${error.code}) changed the store`).toBe(before);
        }
        if (parsed?.valid === false) {
          for (const field of ['code', 'message', 'hint']) expect(typeof parsed[field], `${what}: verify ${field}`).toBe('string');
        }
        // Secrets: only in the create/rotate/compromise that issued them, and only the new one.
        const everything = `${response.text}\n${response.headers}`;
        let allowed: string | undefined;
        const issued = issuedKey(request, response.status, parsed);
        if (issued) {
          allowed = issued.secret;
          expect(secrets.has(allowed), `${what}: a fresh secret`).toBe(false);
          secrets.add(allowed);
          keyIds.push(issued.id);
        }
        const shaped = [...everything.matchAll(SECRET_SHAPE)].map((m) => m[0]).filter((s) => s !== allowed);
        expect(shaped, `${what}: secret-shaped values in the response`).toEqual([]);
        expect(HEX64.test(everything), `${what}: a secret hash in the response`).toBe(false);
        for (const secret of secrets) {
          if (secret !== allowed) expect(everything.includes(secret.slice(3, -6)), `${what}: part of a known secret`).toBe(false);
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] },
    );
    const byStatus = [...counts.entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`).join(', ');
    const byCode = [...codes.entries()].sort(([, a], [, b]) => b - a).map(([code, n]) => `${code} ${n}`).join(', ');
    console.log(
      `fuzz (${TEST_STORE}, seed ${SEED}): ${requests} requests over ${perOperation.size} operations in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
        `  by status: ${byStatus}\n  errors by code: ${byCode}`,
    );
    expect(requests).toBeGreaterThanOrEqual(Math.min(RUNS, 100));
    // Every operation was called, and both successes and refusals were seen.
    expect([...perOperation.keys()].sort()).toEqual(operations.map((o) => o.operationId).sort());
    expect(counts.get(200) ?? 0, 'successful reads and verifies').toBeGreaterThan(0);
    expect(counts.get(201) ?? 0, 'successful creates and rotations').toBeGreaterThan(0);
    expect([...counts.keys()].some((s) => s >= 400)).toBe(true);
  });
});
