/**
 * The ApiKey CustomResourceDefinition. Its OpenAPI schema mirrors
 * src/core/apikey.ts (the zod schema the operator and constructs validate
 * with); test/operator/crd.test.ts feeds the same valid and invalid specs to
 * both and requires the same verdicts. `npm run gen:crd` writes
 * deploy/crds/apikeys.keyward.dev.yaml from this file.
 */
import { DURATION_PATTERN } from '../core/duration.ts';
import { API_GROUP, API_KIND, API_PLURAL, API_VERSION, RESTART_KINDS } from '../core/apikey.ts';
import { ENVIRONMENTS } from '../core/rotation.ts';

const duration = (description: string) => ({ type: 'string', pattern: DURATION_PATTERN.source, maxLength: 64, description });
const objectName = { type: 'string', maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' };
const dataKey = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$' };
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const time = { type: 'string', format: 'date-time' };

const spec = {
  type: 'object',
  required: ['role'],
  properties: {
    displayName: {
      type: 'string',
      minLength: 1,
      maxLength: 100,
      description: 'Name of the key in the key service (default: <namespace>/<name>).',
      'x-kubernetes-validations': [
        { rule: 'self.trim() == self', message: 'displayName must not start or end with whitespace' },
        { rule: "!self.matches('[\\\\x00-\\\\x1f\\\\x7f]')", message: 'displayName must not contain control characters or line breaks' },
      ],
    },
    role: {
      type: 'string',
      pattern: '^[a-z][a-z0-9-]{0,62}$',
      description: 'Role of the key: built-in (admin, key-manager, viewer, verifier) or a custom role id.',
    },
    environment: { type: 'string', enum: [...ENVIRONMENTS], default: 'production', description: 'Decides the default rotation interval.' },
    ipAllowlist: {
      type: 'array',
      maxItems: 100,
      description: 'When set, only these addresses (IPv4/IPv6, CIDR) may use the key.',
      items: {
        type: 'string',
        maxLength: 64,
        'x-kubernetes-validations': [{ rule: 'isCIDR(self) || isIP(self)', message: 'must be an IPv4 or IPv6 address or CIDR range, e.g. 10.0.0.0/8' }],
      },
    },
    secret: {
      type: 'object',
      properties: {
        name: { ...objectName, description: 'Secret to write (default: the ApiKey name).' },
        template: { type: 'object', properties: { labels: stringMap, annotations: stringMap } },
        keys: {
          type: 'object',
          properties: {
            secret: { ...dataKey, default: 'API_KEY' },
            keyId: { ...dataKey, default: 'API_KEY_ID' },
            previous: { ...dataKey, description: 'Also keep the previous secret under this key during the overlap.' },
          },
        },
      },
    },
    rotation: {
      type: 'object',
      properties: {
        interval: duration('Rotate this often, e.g. 2160h or 90d (default from environment: 90d production/staging, 180d development).'),
        token: { type: 'string', maxLength: 253, description: 'Change it (e.g. in a pull request) to rotate exactly once.' },
        overlap: { ...duration('How long the previous key keeps working after a rotation.'), default: '24h' },
        suspend: { type: 'boolean', default: false, description: 'Pause scheduled rotation (token changes still rotate).' },
      },
    },
    consumers: {
      type: 'object',
      properties: {
        restartTargets: {
          type: 'array',
          maxItems: 20,
          items: {
            type: 'object',
            required: ['kind', 'name'],
            properties: { kind: { type: 'string', enum: [...RESTART_KINDS] }, name: objectName },
          },
        },
      },
    },
    deletionPolicy: { type: 'string', enum: ['Revoke', 'Retain'], default: 'Revoke', description: 'Revoke the key when the ApiKey is deleted, or keep key and Secret.' },
  },
};

const condition = {
  type: 'object',
  required: ['type', 'status'],
  properties: {
    type: { type: 'string' },
    status: { type: 'string' },
    reason: { type: 'string' },
    message: { type: 'string' },
    lastTransitionTime: time,
    observedGeneration: { type: 'integer' },
  },
};

const status = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer' },
    observedRotationToken: { type: 'string' },
    keyId: { type: 'string' },
    secretName: { type: 'string' },
    sequence: { type: 'integer' },
    pending: {
      type: 'object',
      nullable: true,
      properties: {
        operation: { type: 'string' },
        sequence: { type: 'integer' },
        reason: { type: 'string' },
        fromKeyId: { type: 'string' },
        rotationToken: { type: 'string' },
        startedAt: time,
      },
    },
    previousKeys: { type: 'array', items: { type: 'object', properties: { keyId: { type: 'string' }, expiresAt: time } } },
    lastRotationTime: time,
    nextRotationTime: time,
    lastRotationReason: { type: 'string' },
    consumersRestartedFor: { type: 'string' },
    conditions: { type: 'array', items: condition, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
    history: {
      type: 'array',
      maxItems: 10,
      items: { type: 'object', properties: { time, reason: { type: 'string' }, keyId: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

export function apiKeyCrd() {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${API_PLURAL}.${API_GROUP}`, labels: { 'app.kubernetes.io/name': 'keyward' } },
    spec: {
      group: API_GROUP,
      scope: 'Namespaced',
      names: { plural: API_PLURAL, singular: 'apikey', kind: API_KIND, listKind: `${API_KIND}List`, shortNames: ['ak'], categories: ['keyward'] },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Key ID', type: 'string', jsonPath: '.status.keyId' },
            { name: 'Role', type: 'string', jsonPath: '.spec.role' },
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Last rotation', type: 'date', jsonPath: '.status.lastRotationTime' },
            { name: 'Next rotation', type: 'date', jsonPath: '.status.nextRotationTime' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'An API key in the keyward key service whose secret is kept in a Kubernetes Secret and rotated without downtime.',
              required: ['spec'],
              properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec, status },
            },
          },
        },
      ],
    },
  };
}
