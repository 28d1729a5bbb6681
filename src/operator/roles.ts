/**
 * Publishes the organization's role ids (GET /v1/roles) in the ConfigMap the
 * ValidatingAdmissionPolicy reads (role-admission.ts), so the API server
 * refuses an ApiKey naming a role the organization does not have. Refreshed
 * when this replica starts leading and at each resync: the change feed
 * carries key changes only, not role changes, so a role created in the key
 * service is usable in ApiKeys within one resync (--resync). Each refresh
 * reads the ConfigMap and applies it only when it differs (missing, edited by
 * hand, or the roles changed): a resync that finds nothing to do writes
 * nothing to the API server (issue 24), at the cost of one GET. A failure is
 * logged and the next refresh tries again (meanwhile the last list stays, and
 * the key service still refuses an unknown role).
 */
import type { Logger } from 'pino';
import type { KeywardClient } from '../client/index.ts';
import type { KubeApi } from './kube.ts';
import { ROLES_CONFIGMAP, ROLES_DATA_KEY, rolesConfigMap, rolesData } from './role-admission.ts';

export interface RolePublisherOptions {
  keys: Pick<KeywardClient, 'listRoles'>;
  kube: Pick<KubeApi, 'getConfigMap' | 'applyConfigMap'>;
  /** The operator's own namespace, where the policy's binding looks for the ConfigMap. */
  namespace: string;
  logger: Logger;
}

export class RolePublisher {
  readonly #options: RolePublisherOptions;
  /** What the ConfigMap holds, as last written by this process (undefined: not written yet, or the last write failed): the log says when it changes. */
  #published: string | undefined;
  #running: Promise<void> | undefined;

  constructor(options: RolePublisherOptions) {
    this.#options = options;
  }

  /** Ask the key service and apply the ConfigMap; a call while one is under way joins it (the next resync asks again). */
  refresh(): Promise<void> {
    this.#running ??= this.#publish().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #publish(): Promise<void> {
    const { keys, kube, namespace, logger } = this.#options;
    try {
      const ids = (await keys.listRoles()).items.map((role) => role.id);
      const data = rolesData(ids);
      const current = await kube.getConfigMap(namespace, ROLES_CONFIGMAP);
      if (current?.data?.[ROLES_DATA_KEY] !== data) await kube.applyConfigMap(rolesConfigMap(namespace, ids));
      if (data === this.#published) return;
      this.#published = data;
      logger.info({ configMap: `${namespace}/${ROLES_CONFIGMAP}`, roles: ids.length }, 'published the organization\'s roles');
    } catch (error) {
      this.#published = undefined;
      logger.warn({ err: (error as Error).message }, 'could not publish the organization\'s roles; trying again at the next resync');
    }
  }
}
