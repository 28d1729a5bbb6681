/**
 * The one place a compromised key's replacement is minted: the same role,
 * environment, metadata, allowlist and absolute expiry (a replacement never
 * extends a key's life), linked to the key it replaces. The compromise
 * response (incident-response.ts) stores it atomically with the revocation;
 * a rotation mode that ends the old key differently would be chosen here.
 */
import { issueKey } from '../core/issue.ts';
import type { KeyRecord, Organization } from '../core/model.ts';
import { successorName } from '../core/rotation.ts';

export function replacementFor(old: KeyRecord, organization: Organization, createdBy: string | null, tokenPrefix: string, now: Date): { record: KeyRecord; secret: string } {
  return issueKey({
    organizationId: old.organizationId,
    name: successorName(old.name),
    roleId: old.roleId,
    environment: old.environment,
    metadata: old.metadata,
    ipAllowlist: old.ipAllowlist,
    expiresAt: old.expiresAt,
    createdBy,
    rotatedFromId: old.id,
    tokenPrefix,
    rotationDays: organization.rotationDays,
    now,
  });
}
