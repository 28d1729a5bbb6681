/**
 * What a /v1/verify answer carries on the wire. The verify path answers
 * without Express (src/server/app.ts), so its headers, its reading of the
 * declared body length and its request counts are its own: the headers
 * clients depend on are on every answer (and a throttled one still has
 * Retry-After), a Content-Length is read as Node's parser passed it, and every
 * status is counted in the request metrics whether it repeats or changes.
 * Its body goes through zod's compiled parser, which must answer exactly as
 * the schema's runtime parser.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { VerifyBody } from '../../src/core/schemas.ts';
import { newSecret } from '../../src/core/token.ts';
import { routes } from '../../src/server/routes.ts';
import { raw, requestFrom, startTestService, type TestService } from '../support/keyservice.ts';

/** One request written byte for byte (a Content-Length fetch would not send), answered with Connection: close. */
function rawHttp(url: string, request: string): Promise<{ status: number; headers: Record<string, string>; body: any }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = head!.split('\r\n');
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(rest.join('\r\n\r\n')) });
    });
    socket.write(request);
  });
}

describe('/v1/verify on the wire', () => {
  let service: TestService;
  let gateway: string;
  let app: string;
  const verifyRequest = (body: string, contentLength: string, caller = gateway) =>
    `POST /v1/verify HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${caller}\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\nConnection: close\r\n\r\n${body}`;

  beforeAll(async () => {
    service = await startTestService({ failedAuthThreshold: 3, failedAuthWindow: '1m', throttleDuration: '5m' });
    const admin = service.client();
    gateway = (await admin.createKey({ name: 'Gateway', role: 'verifier' })).secret;
    app = (await admin.createKey({ name: 'App', role: 'viewer' })).secret;
  });
  afterAll(async () => service.stop());

  it('answers with the JSON headers clients depend on, and nothing Express would add', async () => {
    const answers = [
      await raw(service.url, '/v1/verify', { method: 'POST', headers: { authorization: `Bearer ${gateway}`, 'content-type': 'application/json' }, body: JSON.stringify({ key: app }) }),
      await raw(service.url, '/v1/verify', { method: 'POST', headers: { authorization: `Bearer ${gateway}`, 'content-type': 'application/json' }, body: JSON.stringify({ key: newSecret() }) }),
      await raw(service.url, '/v1/verify', { method: 'POST', headers: { authorization: `Bearer ${newSecret()}`, 'content-type': 'application/json' }, body: '{}' }),
      await raw(service.url, '/v1/verify', { method: 'POST', headers: { authorization: `Bearer ${gateway}`, 'content-type': 'application/json' }, body: '{"key": ' }),
      await raw(service.url, '/v1/verify', { method: 'POST', headers: { authorization: `Bearer ${gateway}`, 'content-type': 'text/plain' }, body: 'key' }),
    ];
    expect(answers.map((a) => [a.status, a.body.valid ?? a.body.error.code])).toEqual([
      [200, true],
      [200, false],
      [401, 'UNKNOWN_KEY'],
      [400, 'INVALID_JSON'],
      [415, 'UNSUPPORTED_MEDIA_TYPE'],
    ]);
    for (const answer of answers) {
      expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(answer.headers.get('content-length')).toBe(String(Buffer.byteLength(answer.text)));
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('date')).not.toBeNull();
      for (const absent of ['etag', 'x-powered-by', 'retry-after', 'set-cookie']) expect(answer.headers.get(absent)).toBeNull();
    }
  });

  it('a throttled caller gets Retry-After beside the same JSON headers', async () => {
    let last;
    for (let i = 0; i < 4; i++) {
      last = await requestFrom('127.0.0.7', `${service.url}/v1/verify`, { method: 'POST', headers: { authorization: `Bearer ${newSecret()}` }, body: '{}' });
    }
    expect(last!.status).toBe(429);
    expect(last!.body.error.code).toBe('RATE_LIMITED');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(200);
    expect(last!.body.error.details).toEqual({ retryAfter: Number(last!.headers['retry-after']) });
    expect(last!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(last!.headers['content-length']).toBe(String(Buffer.byteLength(JSON.stringify(last!.body))));
    expect(last!.headers['cache-control']).toBe('no-store');
  });

  it('reads the declared Content-Length as Node passed it: leading zeros, zero, over the limit', async () => {
    const body = JSON.stringify({ key: app });
    const padded = await rawHttp(service.url, verifyRequest(body, String(body.length).padStart(6, '0')));
    expect(padded.status).toBe(200);
    expect(padded.body).toMatchObject({ valid: true });
    // No body at all: the body schema is asked about {} and names the missing key.
    const empty = await rawHttp(service.url, verifyRequest('', '0'));
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'key' }] });
    // Declared over 64 KiB: refused without being kept, once it has been read.
    const large = `{"key":"${'x'.repeat(70_000)}"}`;
    const tooLarge = await rawHttp(service.url, verifyRequest(large, String(large.length)));
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('counts every status in the request metrics, in runs and alternating', async () => {
    // A service of its own, so the counts are only these requests'.
    const counted = await startTestService();
    try {
      const admin = counted.client();
      const caller = (await admin.createKey({ name: 'Gateway', role: 'verifier' })).secret;
      const key = (await admin.createKey({ name: 'App', role: 'viewer' })).secret;
      const send = (authorization: string, body: string, contentType = 'application/json') =>
        raw(counted.url, '/v1/verify', { method: 'POST', headers: { authorization: `Bearer ${authorization}`, 'content-type': contentType }, body });
      const valid = JSON.stringify({ key });
      const statuses: number[] = [];
      for (const [authorization, body, contentType] of [
        [caller, valid],
        [caller, valid],
        [newSecret(), valid],
        [caller, valid],
        [caller, 'key', 'text/plain'],
        [caller, 'key', 'text/plain'],
        [caller, '{"key": 1}'],
        [caller, JSON.stringify({ key: `${key}x` })],
        [caller, valid],
      ] as const) {
        statuses.push((await send(authorization, body, contentType)).status);
      }
      expect(statuses).toEqual([200, 200, 401, 200, 415, 415, 400, 200, 200]);
      const metrics = (await raw(counted.url, '/metrics', { headers: { authorization: `Bearer ${counted.adminSecret}` } })).text;
      const count = (status: number) => Number(new RegExp(`keyward_http_requests_total\\{method="POST",route="/v1/verify",status="${status}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
      expect([200, 401, 415, 400].map(count)).toEqual([5, 1, 2, 1]);
      expect(metrics).toMatch(/keyward_verify_total\{code="VALID"\} 4\n/);
      expect(metrics).toMatch(/keyward_verify_total\{code="MALFORMED_KEY"\} 1\n/);
    } finally {
      await counted.stop();
    }
  });
});

describe("the verify body's parser", () => {
  const compiled = routes.find((route) => route.operationId === 'verifyKey')!.body!;

  it('is compiled by zod (strict compilation refuses a schema it would run on the runtime parser)', () => {
    expect(compiled).not.toBe(VerifyBody);
    expect(() => z.compile(VerifyBody, { strict: true })).not.toThrow();
  });

  it('accepts, returns and refuses exactly as the runtime parser, issues and messages included', () => {
    const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('10.0.0.0/8', '010.0.0.1', '::ffff:1.2.3.04', 'fe80::1%eth0', '', 'x'.repeat(70)), fc.string());
    const value = fc.oneof(fc.string({ maxLength: 600 }), fc.integer(), fc.constant(null), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }));
    // Mostly well-formed bodies (each field present or not), and bodies with any field of any type or an extra one.
    const wellFormed = fc.record(
      {
        key: fc.oneof(fc.constant(newSecret()), fc.string({ maxLength: 520 })),
        ip: fc.oneof(fc.ipV4(), fc.ipV6(), address),
        permission: fc.constantFrom('api.key.view', 'billing.read', 'Not A Permission', 'a.b'),
        userAgent: fc.string({ maxLength: 1030 }),
      },
      { requiredKeys: ['key'] },
    );
    const anything = fc.record({ key: value, ip: fc.oneof(address, value), permission: value, userAgent: value, extra: value }, { requiredKeys: [] });
    const body = fc.oneof({ weight: 3, arbitrary: wellFormed }, { weight: 2, arbitrary: anything }, { weight: 1, arbitrary: value });
    let accepted = 0;
    fc.assert(
      fc.property(body, (input) => {
        const fast = compiled.safeParse(input);
        const runtime = VerifyBody.safeParse(input);
        expect(fast.success).toBe(runtime.success);
        if (runtime.success) accepted++;
        if (runtime.success) expect(fast.data).toStrictEqual(runtime.data);
        else expect(fast.error!.issues).toStrictEqual(runtime.error.issues);
      }),
      { numRuns: 4_000 },
    );
    // Both sides of the comparison ran: accepted bodies as well as refused ones.
    expect(accepted).toBeGreaterThan(200);
    expect(accepted).toBeLessThan(3_800);
  });
});
