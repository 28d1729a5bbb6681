/**
 * Which API errors the operator's work loop takes for "the ApiKey went away
 * while it was reconciled" (looked at again, not a failure). The bodies are the
 * Status objects a kube-apiserver answers (as client-node hands them over).
 */
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isApiKeyGone } from '../../src/operator/kube.ts';

const status = (code: number, details: { kind: string; name: string }) =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `${details.kind} "${details.name}" not found`, reason: 'NotFound', details: { ...details, group: 'keyward.dev' }, code });
const error = (code: number, body: unknown) => new ApiException(code, 'Unknown API Status Code!', body, {});

describe('isApiKeyGone', () => {
  it('is a 404 naming this ApiKey, as a string body or parsed', () => {
    expect(isApiKeyGone(error(404, status(404, { kind: 'apikeys', name: 'web-api' })), 'web-api')).toBe(true);
    expect(isApiKeyGone(error(404, JSON.parse(status(404, { kind: 'apikeys', name: 'web-api' }))), 'web-api')).toBe(true);
  });
  it('is not a 404 about something else, another ApiKey, another code, or an unreadable body', () => {
    expect(isApiKeyGone(error(404, status(404, { kind: 'secrets', name: 'web-api' })), 'web-api')).toBe(false);
    expect(isApiKeyGone(error(404, status(404, { kind: 'apikeys', name: 'other' })), 'web-api')).toBe(false);
    expect(isApiKeyGone(error(409, status(409, { kind: 'apikeys', name: 'web-api' })), 'web-api')).toBe(false);
    expect(isApiKeyGone(error(404, 'not json'), 'web-api')).toBe(false);
    expect(isApiKeyGone(new Error('apikeys "web-api" not found'), 'web-api')).toBe(false);
  });
});
