/**
 * Refusing an ApiKey whose role the organization does not have, at apply,
 * without a webhook: the operator publishes the organization's role ids in a
 * ConfigMap it owns in its own namespace (`rolesConfigMap`, written by
 * roles.ts), and a ValidatingAdmissionPolicy takes that ConfigMap as its
 * parameter (`roleAdmissionPolicy`). The one declaration of the names, the
 * data format and the CEL: `npm run gen:crd` writes
 * deploy/apikey-role-policy.yaml from it, `npm run gen:chart` copies it into
 * the chart, and test/operator/crd.test.ts fails when they differ.
 *
 * - No ConfigMap yet (before the operator's first start): the binding's
 *   parameterNotFoundAction is Allow, so nothing is blocked; the key service
 *   still refuses an unknown role and the operator says so on the ApiKey.
 * - The role is checked on create and when an update changes spec.role
 *   (oldObject): a role deleted while ApiKeys still name it leaves them
 *   updatable for every other field (their token bumps, overlap, Secret);
 *   only moving to a role that is not there is refused.
 */
import { API_GROUP, API_PLURAL } from '../core/apikey.ts';
import { APP_NAME, COMPONENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL, NAME_LABEL } from './types.ts';

export const ROLES_CONFIGMAP = 'keyward-roles';
/** The data key holding the role ids, one per line, sorted. */
export const ROLES_DATA_KEY = 'roles';
export const ROLE_POLICY_NAME = 'keyward-apikey-role';
/** Where deploy/ runs the operator (the chart uses its release namespace). */
export const DEFAULT_OPERATOR_NAMESPACE = 'keyward-system';

const labels = { [NAME_LABEL]: APP_NAME, [COMPONENT_LABEL]: 'operator' };

/** The ConfigMap the operator writes (server-side apply): the organization's role ids. */
export function rolesConfigMap(namespace: string, roleIds: readonly string[]) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: ROLES_CONFIGMAP, namespace, labels: { ...labels, [MANAGED_BY_LABEL]: MANAGED_BY } },
    data: { [ROLES_DATA_KEY]: rolesData(roleIds) },
  };
}

export const rolesData = (roleIds: readonly string[]): string => [...new Set(roleIds)].sort().join('\n');

const ROLES = `params.data.${ROLES_DATA_KEY}.split('\\n')`;

/** The policy and its binding (paramRef: the ConfigMap in the operator's namespace). */
export function roleAdmissionPolicy(namespace: string = DEFAULT_OPERATOR_NAMESPACE) {
  const policy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: ROLE_POLICY_NAME, labels },
    spec: {
      failurePolicy: 'Fail',
      paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
      matchConstraints: {
        resourceRules: [{ apiGroups: [API_GROUP], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: [API_PLURAL] }],
      },
      variables: [{ name: 'roleChanged', expression: "request.operation == 'CREATE' || oldObject.spec.role != object.spec.role" }],
      validations: [
        {
          expression: `!variables.roleChanged || object.spec.role in ${ROLES}`,
          messageExpression:
            `'spec.role: the organization has no role "' + object.spec.role + '" (run \`keyward roles list\` for its roles; ` +
            `a role created since is usable once the keyward operator has published it in ConfigMap ' + params.metadata.namespace + '/${ROLES_CONFIGMAP})'`,
          reason: 'Invalid',
        },
      ],
    },
  };
  const binding = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: ROLE_POLICY_NAME, labels },
    spec: {
      policyName: ROLE_POLICY_NAME,
      validationActions: ['Deny'],
      // Allow: until the operator has written the ConfigMap, nothing is refused here (the key service still refuses an unknown role).
      paramRef: { name: ROLES_CONFIGMAP, namespace, parameterNotFoundAction: 'Allow' },
    },
  };
  return { policy, binding };
}
