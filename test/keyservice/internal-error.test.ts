/**
 * A bug answers 500 INTERNAL with a request id, and the log line under that id
 * has the stack: the hint's promise ("the service log has the stack under that
 * id") holds on the Express routes and on the bare verify path. Every
 * response of the management API names its request id (X-Request-Id).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, startTestService, type TestService } from '../support/keyservice.ts';

let service: TestService;
let gateway: string;
let app: string;

beforeAll(async () => {
  service = await startTestService();
  const admin = service.client();
  gateway = (await admin.createKey({ name: 'Gateway', role: 'verifier' })).secret;
  app = (await admin.createKey({ name: 'App', role: 'viewer' })).secret;
});
afterAll(async () => service?.stop());

/** A bug planted in one method of a live object for one call, then removed. */
function plantBug<T extends object, K extends keyof T>(target: T, method: K, message: string): () => void {
  const original = target[method];
  target[method] = (() => {
    throw new TypeError(message);
  }) as T[K];
  return () => {
    target[method] = original;
  };
}

const logLines = () => service.logs.map((line) => JSON.parse(line) as Record<string, any>);

describe('the INTERNAL path', () => {
  it('a management route whose handler throws answers 500 INTERNAL with a request id; the log has the stack under it', async () => {
    const restore = plantBug(service.server.service.keys, 'list', 'planted bug in keys.list');
    let response;
    try {
      response = await raw(service.url, '/v1/keys', { headers: { authorization: `Bearer ${service.adminSecret}` } });
    } finally {
      restore();
    }
    expect(response.status).toBe(500);
    expect(response.body.error).toMatchObject({ code: 'INTERNAL', hint: expect.stringContaining('request id') });
    const requestId = response.body.error.details.requestId as string;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.body.error.message).toContain(requestId);
    expect(response.headers.get('x-request-id')).toBe(requestId);
    // Nothing about the bug reaches the caller.
    expect(response.text).not.toContain('planted bug');

    const logged = logLines().find((line) => line.msg === 'unhandled error' && line.reqId === requestId);
    expect(logged, 'an error log line with the request id').toBeDefined();
    expect(logged!.level).toBe(50);
    expect(logged!.route).toBe('listKeys');
    expect(logged!.err.stack).toContain('TypeError: planted bug in keys.list');
    expect(logged!.err.stack).toMatch(/internal-error\.test\.ts/);
    // The access log line of the same request carries the same id.
    expect(logLines().some((line) => line.req?.id === requestId && line.res?.statusCode === 500)).toBe(true);
    expect(service.logs.join('\n')).not.toContain(service.adminSecret);
  });

  it('a caller\'s own X-Request-Id is kept (one id across a proxy and keyward); a malformed one is replaced', async () => {
    const ok = await raw(service.url, '/v1/whoami', { headers: { authorization: `Bearer ${app}`, 'x-request-id': 'edge-7f3a:42' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-request-id')).toBe('edge-7f3a:42');
    expect(logLines().some((line) => line.req?.id === 'edge-7f3a:42')).toBe(true);

    const restore = plantBug(service.server.service, 'whoami', 'planted bug in whoami');
    try {
      const failed = await raw(service.url, '/v1/whoami', { headers: { authorization: `Bearer ${app}`, 'x-request-id': 'edge-7f3a:43' } });
      expect(failed.status).toBe(500);
      expect(failed.body.error.details.requestId).toBe('edge-7f3a:43');
      const weird = await raw(service.url, '/v1/whoami', { headers: { authorization: `Bearer ${app}`, 'x-request-id': 'has spaces and {braces}' } });
      expect(weird.body.error.details.requestId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      restore();
    }
    expect(logLines().some((line) => line.reqId === 'edge-7f3a:43' && line.err?.stack?.includes('planted bug in whoami'))).toBe(true);
  });

  it('the bare verify path: a bug answers 500 INTERNAL with a request id, logged with the stack', async () => {
    const restore = plantBug(service.server.service.keys, 'verify', 'planted bug in verify');
    let response;
    try {
      response = await raw(service.url, '/v1/verify', {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway}`, 'content-type': 'application/json' },
        body: JSON.stringify({ key: app }),
      });
    } finally {
      restore();
    }
    expect(response.status).toBe(500);
    expect(response.body.error.code).toBe('INTERNAL');
    const requestId = response.body.error.details.requestId as string;
    expect(response.headers.get('x-request-id')).toBe(requestId);
    const logged = logLines().find((line) => line.reqId === requestId);
    expect(logged?.err.stack).toContain('TypeError: planted bug in verify');
    // Back to normal once the bug is gone.
    const verdict = await raw(service.url, '/v1/verify', {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key: app }),
    });
    expect(verdict.body).toMatchObject({ valid: true });
  });
});
