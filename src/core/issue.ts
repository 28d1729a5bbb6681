/** Minting a key record and its one-time secret. */
import { DEFAULT_LEAK_POLICY, type AuditEvent, type KeyRecord, type Metadata, type Organization } from './model.ts';
import { DEFAULT_MAX_GRACE_PERIOD, rotationDueAt, type Environment, type RotationDays } from './rotation.ts';
import { hashSecret, newKeyId, newSecret, randomBase62, secretHint } from './token.ts';

export interface IssueKeyInput {
  organizationId: string;
  name: string;
  roleId: string;
  environment: Environment;
  metadata?: Metadata;
  ipAllowlist?: string[];
  expiresAt?: string | null;
  createdBy: string | null;
  idempotencyKey?: string | null;
  rotatedFromId?: string | null;
  tokenPrefix: string;
  rotationDays: RotationDays;
  now: Date;
}

export function issueKey(input: IssueKeyInput): { record: KeyRecord; secret: string } {
  const secret = newSecret(input.tokenPrefix);
  const record: KeyRecord = {
    id: newKeyId(),
    organizationId: input.organizationId,
    name: input.name,
    roleId: input.roleId,
    environment: input.environment,
    secretHash: hashSecret(secret),
    secretHint: secretHint(secret),
    metadata: input.metadata ?? {},
    ipAllowlist: input.ipAllowlist ?? [],
    createdAt: input.now.toISOString(),
    createdBy: input.createdBy,
    expiresAt: input.expiresAt ?? null,
    revokedAt: null,
    rotationDueAt: rotationDueAt(input.now, input.environment, input.rotationDays).toISOString(),
    lastUsedAt: null,
    lastUsedIp: null,
    rotatedFromId: input.rotatedFromId ?? null,
    rotatedToId: null,
    idempotencyKey: input.idempotencyKey ?? null,
    recentClients: [],
    retirement: null,
  };
  return { record, secret };
}

let auditSequence = 0;

/** Audit ids sort in the order they were made (time, then a per-process counter, then randomness). */
export function newAuditEvent(event: Omit<AuditEvent, 'id' | 'at'>, now: Date): AuditEvent {
  auditSequence = (auditSequence + 1) % 1_679_616;
  const id = `aud_${now.getTime().toString(36).padStart(9, '0')}${auditSequence.toString(36).padStart(4, '0')}${randomBase62(6)}`;
  return { id, at: now.toISOString(), ...event };
}

export function newOrganization(name: string, now: Date, plan: string): Organization {
  return { id: `org_${randomBase62(16)}`, name, plan, ipAllowlist: [], rotationDays: {}, maxGracePeriod: DEFAULT_MAX_GRACE_PERIOD, leakPolicy: DEFAULT_LEAK_POLICY, createdAt: now.toISOString() };
}

/** Incident ids sort in the order they were opened, like audit ids. */
export function newIncidentId(now: Date): string {
  return `inc_${now.getTime().toString(36).padStart(9, '0')}${randomBase62(10)}`;
}
