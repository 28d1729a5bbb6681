/**
 * What the operator's caches keep (no cluster needed): an ApiKey without its
 * managedFields and kubectl's copy of the spec; a Secret as hashes, its key
 * ids, its own annotations and its controller — never a secret value; and the
 * operator's own writes laid over the cache until the watch brings them.
 */
import { describe, expect, it } from 'vitest';
import type { V1Secret } from '@kubernetes/client-node';
import { OwnWrites, slimApiKey } from '../../src/operator/cache.ts';
import { cachedSecret, observeSecret, sha256 } from '../../src/operator/secret.ts';
import type { ApiKeyResource } from '../../src/operator/types.ts';
import { effectiveSpec, validateApiKeySpec } from '../../src/core/apikey.ts';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const SECRET = 'kw_abcdefghijklmnopqrstuv123456';
const KEY_ID = 'key_ABCDEFGHIJ0123456789';

const secret: V1Secret = {
  metadata: {
    name: 'app',
    namespace: 'ns',
    resourceVersion: '7',
    labels: { 'app.kubernetes.io/managed-by': 'keyward', team: 'a' },
    annotations: { 'keyward.dev/apikey': 'app', 'keyward.dev/key-id': KEY_ID, 'keyward.dev/sequence': '3', 'keyward.dev/secret-sha256': sha256(SECRET), 'team.example/notes': 'x'.repeat(5_000) },
    ownerReferences: [{ apiVersion: 'keyward.dev/v1alpha1', kind: 'ApiKey', name: 'app', uid: 'uid-1', controller: true }],
    managedFields: [{ manager: 'keyward-operator', operation: 'Apply', fieldsV1: { 'f:data': { 'f:API_KEY': {} } } }],
  },
  data: { API_KEY: b64(SECRET), API_KEY_ID: b64(KEY_ID), API_KEY_PREVIOUS: b64('kw_previousprevious0123456789ab'), EMPTY: '' },
};

describe('the Secret cache', () => {
  it('keeps hashes, key ids, its own annotations and its controller: no secret value, no managedFields', () => {
    const cached = cachedSecret(secret);
    expect(cached).toEqual({
      metadata: {
        name: 'app',
        namespace: 'ns',
        resourceVersion: '7',
        ownerUid: 'uid-1',
        annotations: { 'keyward.dev/apikey': 'app', 'keyward.dev/key-id': KEY_ID, 'keyward.dev/sequence': '3', 'keyward.dev/secret-sha256': sha256(SECRET) },
      },
      entries: { API_KEY: sha256(SECRET), API_KEY_ID: sha256(KEY_ID), API_KEY_PREVIOUS: sha256('kw_previousprevious0123456789ab'), EMPTY: sha256('') },
      keyIds: { API_KEY_ID: KEY_ID },
    });
    const text = JSON.stringify(cached);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(b64(SECRET));
    expect(text.length, 'a fraction of the Secret').toBeLessThan(JSON.stringify(secret).length / 5);
  });

  it('says what drift detection needs from it', () => {
    const parsed = validateApiKeySpec({ role: 'viewer' });
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const spec = effectiveSpec(parsed.spec, { namespace: 'ns', name: 'app' });
    expect(observeSecret(cachedSecret(secret), spec)).toEqual({
      exists: true,
      ownerUid: 'uid-1',
      keyId: KEY_ID,
      sequence: 3,
      dataSha256: sha256(SECRET),
      recordedSha256: sha256(SECRET),
      hasSecretValue: true,
    });
    const edited = cachedSecret({ ...secret, data: { API_KEY: b64('hand-edited'), API_KEY_ID: b64('not a key id') } });
    expect(observeSecret(edited, spec)).toMatchObject({ keyId: undefined, dataSha256: sha256('hand-edited'), hasSecretValue: true });
    expect(observeSecret(cachedSecret({ ...secret, data: { API_KEY: '' } }), spec)).toMatchObject({ hasSecretValue: false });
  });
});

describe('the ApiKey cache', () => {
  it('drops managedFields and the last-applied annotation, keeps the rest', () => {
    const resource = {
      apiVersion: 'keyward.dev/v1alpha1',
      kind: 'ApiKey',
      metadata: {
        name: 'app',
        namespace: 'ns',
        uid: 'uid-1',
        resourceVersion: '5',
        generation: 2,
        finalizers: ['keyward.dev/revoke-key'],
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{}}', mine: 'yes' },
        managedFields: [{ manager: 'kubectl' }],
      },
      spec: { role: 'viewer' },
      status: { keyId: KEY_ID },
    } as unknown as ApiKeyResource;
    expect(slimApiKey(resource)).toEqual({
      apiVersion: 'keyward.dev/v1alpha1',
      kind: 'ApiKey',
      metadata: { name: 'app', namespace: 'ns', uid: 'uid-1', resourceVersion: '5', generation: 2, finalizers: ['keyward.dev/revoke-key'], annotations: { mine: 'yes' } },
      spec: { role: 'viewer' },
      status: { keyId: KEY_ID },
    });
  });
});

describe("the operator's own writes over the cache", () => {
  const at = (resourceVersion: string, note = '') => ({ metadata: { name: 'app', namespace: 'ns', resourceVersion }, note });
  /** Whether a watch event of this version queues a reconcile (now or once the write in flight is answered). */
  const queues = (own: OwnWrites<ReturnType<typeof at>>, version: string, type: 'add' | 'update' | 'delete' = 'update') => {
    const queued = { yes: false };
    own.observe('ns/app', at(version), type, () => (queued.yes = true));
    return queued;
  };

  it('shows the latest write while the cache holds an older version, and stops once the watch brought it', () => {
    const own = new OwnWrites<ReturnType<typeof at>>();
    own.wrote('ns/app', at('1'), at('2', 'intent'));
    own.wrote('ns/app', own.read('ns/app', at('1')), at('3', 'result'));
    expect(own.read('ns/app', at('1'))).toEqual(at('3', 'result'));
    // The intent's event: older than what we wrote last; nothing new, nothing to queue.
    expect(queues(own, '2').yes).toBe(false);
    expect(own.read('ns/app', at('2'))).toEqual(at('3', 'result'));
    // The result's event: our own write; nothing to queue, and the cache is up to date.
    expect(queues(own, '3').yes).toBe(false);
    expect(own.size).toBe(0);
    expect(own.read('ns/app', at('3'))).toEqual(at('3'));
  });

  it("someone else's later change wins, and is queued", () => {
    const own = new OwnWrites<ReturnType<typeof at>>();
    own.wrote('ns/app', at('1'), at('2'));
    expect(queues(own, '4').yes).toBe(true);
    expect(own.read('ns/app', at('4', 'a user'))).toEqual(at('4', 'a user'));
    own.wrote('ns/app', undefined, at('9', 'created'));
    expect(own.read('ns/app', undefined), 'a Secret we created, not yet in the cache').toEqual(at('9', 'created'));
    expect(queues(own, '9', 'delete').yes).toBe(true);
    expect(own.size).toBe(0);
  });

  it("a write's own event that comes before its answer queues nothing; another that comes meanwhile is queued once the answer is in", () => {
    const own = new OwnWrites<ReturnType<typeof at>>();
    own.begin('ns/app');
    const early = queues(own, '5');
    expect(own.size, 'in flight').toBe(1);
    // The informer already holds version 5 when the answer (version 5) is handed over.
    own.finish('ns/app', at('5'), at('5', 'answer'));
    expect(early.yes).toBe(false);
    expect(own.size).toBe(0);

    own.begin('ns/app');
    const foreign = queues(own, '6', 'update');
    expect(foreign.yes, 'decided once the answer says which version the write made').toBe(false);
    own.finish('ns/app', at('6'), at('7', 'answer'));
    expect(foreign.yes, "version 6 was someone else's").toBe(true);
    expect(own.read('ns/app', at('6'))).toEqual(at('7', 'answer'));

    own.begin('ns/app');
    const whileFailing = queues(own, '8');
    own.finish('ns/app', at('8'), undefined);
    expect(whileFailing.yes, 'a failed write made no version: what came is news').toBe(true);
  });
});
