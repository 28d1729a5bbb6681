/**
 * The ApiKey CustomResourceDefinition, generated: its OpenAPI schema is the
 * zod schema of src/core/apikey.ts (`z.toJSONSchema`), cut down to what
 * Kubernetes accepts as a structural schema. Only two things are written by
 * hand here: the CEL rules for checks a JSON schema cannot express (zod
 * refinements), and the names, printer columns and labels of the CRD.
 * `npm run gen:crd` writes deploy/crds/apikeys.keyward.dev.yaml from this
 * file; test/operator/crd.test.ts fails when the two differ.
 */
import { z } from 'zod';
import { API_GROUP, API_KIND, API_PLURAL, API_VERSION, ApiKeySpec, ApiKeyStatus } from '../core/apikey.ts';
import { MAX_DURATION_MS } from '../core/duration.ts';
import { DEFAULT_QUIET_PERIOD } from '../core/retirement.ts';
import { DEFAULT_ROTATION_OVERLAP } from '../core/rotation.ts';
import { APP_NAME, COMPONENT_LABEL, NAME_LABEL } from './types.ts';

type JsonSchema = { [keyword: string]: unknown };
interface CelRule {
  rule: string;
  message: string;
}

/** CEL: one of our durations (src/core/duration.ts) in milliseconds, so two can be compared (CEL's duration() knows no days or weeks). */
const celMs = (text: string): string =>
  `${text}.findAll('[0-9]+(ms|s|m|h|d|w)').map(p, int(p.findAll('[0-9]+')[0]) * ` +
  "(p.endsWith('ms') ? 1 : p.endsWith('s') ? 1000 : p.endsWith('m') ? 60000 : p.endsWith('h') ? 3600000 : p.endsWith('d') ? 86400000 : 604800000)).sum()";
const WHEN_UNUSED = "has(self.revokeOld) && self.revokeOld == 'WhenUnused'";
/** Duration's refinement (src/core/schemas.ts): the pattern is in the schema, the bound is not. */
const AT_MOST_TEN_YEARS: CelRule[] = [{ rule: `${celMs('self')} <= ${MAX_DURATION_MS}`, message: 'must be at most ten years' }];

/**
 * Checks zod makes with refinements, as CEL (x-kubernetes-validations), by
 * path in the generated schema ("items" steps into an array). Keep each in
 * step with the refinement it mirrors (src/core/apikey.ts and the schemas it
 * uses from src/core/schemas.ts): crd.test.ts fails when a refinement has no
 * rule here, and its control-plane test feeds both the same specs.
 */
const CEL_RULES: Record<string, CelRule[]> = {
  // core/retirement.ts's quietPeriodProblem, as the ApiKey spec words it.
  'spec.rotation': [
    { rule: `!has(self.quietPeriod) || (${WHEN_UNUSED})`, message: 'quietPeriod applies only when the old key is revoked when unused (revokeOld WhenUnused)' },
    { rule: `!has(self.quietPeriod) || ${celMs('self.quietPeriod')} > 0`, message: 'quietPeriod must be more than 0 (the time the old key must go unused)' },
    {
      rule: `!(${WHEN_UNUSED}) || ${celMs(`(has(self.quietPeriod) ? self.quietPeriod : '${DEFAULT_QUIET_PERIOD}')`)} < ${celMs(`(has(self.overlap) ? self.overlap : '${DEFAULT_ROTATION_OVERLAP}')`)}`,
      message: `quietPeriod (default ${DEFAULT_QUIET_PERIOD}) must be shorter than overlap (default ${DEFAULT_ROTATION_OVERLAP}), the hard deadline`,
    },
  ],
  'spec.rotation.interval': AT_MOST_TEN_YEARS,
  'spec.rotation.overlap': AT_MOST_TEN_YEARS,
  'spec.rotation.quietPeriod': AT_MOST_TEN_YEARS,
  'spec.displayName': [
    { rule: 'self.trim() == self', message: 'displayName must not start or end with whitespace' },
    // Name's HIDDEN_OR_CONTROL: control, format (bidi, zero-width), surrogate, line and paragraph separator characters.
    {
      rule: "!self.matches('[\\\\p{Cc}\\\\p{Cf}\\\\p{Cs}\\\\p{Zl}\\\\p{Zp}]')",
      message: 'displayName must not contain control characters or line breaks, nor bidi or invisible formatting characters',
    },
  ],
  'spec.ipAllowlist.items': [{ rule: 'isCIDR(self) || isIP(self)', message: 'must be an IPv4 or IPv6 address or CIDR range, e.g. 10.0.0.0/8' }],
};

/** JSON-schema keywords a structural schema cannot hold; zod emits them only for constructs the ApiKey schema must not use. */
const UNSTRUCTURAL = ['anyOf', 'oneOf', 'allOf', 'not', 'const', '$ref', '$defs', 'propertyNames', 'patternProperties'];

/**
 * zod's JSON schema, as Kubernetes wants it: no closed objects (unknown
 * fields are pruned, and refused by strict field validation), no pattern
 * beside format: date-time (Kubernetes checks the format; zod's pattern is an
 * ECMAScript one), no safe-integer bounds.
 */
function structural(schema: JsonSchema, path: string): JsonSchema {
  const out: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (UNSTRUCTURAL.includes(keyword)) throw new Error(`${path}: "${keyword}" has no place in a structural schema; express it differently in src/core/apikey.ts`);
    if (keyword === '$schema' || (keyword === 'additionalProperties' && value === false)) continue;
    if (keyword === 'pattern' && schema.format === 'date-time') continue;
    if ((keyword === 'minimum' || keyword === 'maximum') && Math.abs(value as number) === Number.MAX_SAFE_INTEGER) continue;
    if (keyword === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([name, s]) => [name, structural(s, `${path}.${name}`)]));
    } else if (keyword === 'items' || (keyword === 'additionalProperties' && typeof value === 'object')) {
      out[keyword] = structural(value as JsonSchema, `${path}.${keyword === 'items' ? 'items' : '*'}`);
    } else out[keyword] = value;
  }
  return readable(out);
}

/** type and description first, nested schemas last: how people read (and write) CRDs. */
const FIRST = ['type', 'description'];
const LAST = ['properties', 'required', 'items', 'additionalProperties'];
const readable = (schema: JsonSchema): JsonSchema =>
  Object.fromEntries(
    [...FIRST, ...Object.keys(schema).filter((k) => !FIRST.includes(k) && !LAST.includes(k)), ...LAST].filter((k) => k in schema).map((k) => [k, schema[k]]),
  );

function addCelRules(root: JsonSchema): void {
  for (const [path, rules] of Object.entries(CEL_RULES)) {
    let node: JsonSchema | undefined = root;
    for (const step of path.split('.')) node = step === 'items' ? (node?.items as JsonSchema) : (node?.properties as Record<string, JsonSchema> | undefined)?.[step];
    if (!node) throw new Error(`CEL rules for ${path}: no such field in the ApiKey schema`);
    node['x-kubernetes-validations'] = rules;
  }
}

const jsonSchemaOf = (schema: z.ZodType, path: string): JsonSchema =>
  // io "input": the schema of what a user writes (defaults are optional and shown as defaults).
  structural(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }) as JsonSchema, path);

export function apiKeyOpenApiSchema(): JsonSchema {
  const root: JsonSchema = {
    type: 'object',
    description: 'An API key in the keyward key service whose secret is kept in a Kubernetes Secret and rotated without downtime.',
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: jsonSchemaOf(ApiKeySpec, 'spec'),
      status: jsonSchemaOf(ApiKeyStatus, 'status'),
    },
  };
  addCelRules(root);
  return root;
}

const condition = (type: string, field: 'status' | 'reason') => `.status.conditions[?(@.type=="${type}")].${field}`;

export function apiKeyCrd() {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${API_PLURAL}.${API_GROUP}`, labels: { [NAME_LABEL]: APP_NAME, [COMPONENT_LABEL]: 'crds' } },
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
            { name: 'Ready', type: 'string', jsonPath: condition('Ready', 'status') },
            { name: 'Last rotation', type: 'date', jsonPath: '.status.lastRotationTime' },
            { name: 'Next rotation', type: 'date', jsonPath: '.status.nextRotationTime' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            // kubectl get -o wide
            { name: 'Environment', type: 'string', jsonPath: '.spec.environment', priority: 1 },
            { name: 'Secret', type: 'string', jsonPath: '.status.secretName', priority: 1 },
            { name: 'Rotating', type: 'string', jsonPath: condition('Rotating', 'status'), priority: 1 },
            { name: 'Reason', type: 'string', jsonPath: condition('Ready', 'reason'), priority: 1 },
          ],
          schema: { openAPIV3Schema: apiKeyOpenApiSchema() },
        },
      ],
    },
  };
}
