/**
 * Writes a lowdb store file directly, fast: one organization, its admin key
 * (whose secret is returned) and N further keys minted with the real
 * `issueKey`, so the records are byte-for-byte what the service would store.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { issueKey, newOrganization } from '../src/core/issue.ts';
import type { KeyRecord } from '../src/core/model.ts';
import type { Environment } from '../src/core/rotation.ts';
import type { LowdbData } from '../src/store/lowdb-store.ts';

export interface SeededStore {
  file: string;
  organizationId: string;
  adminKeyId: string;
  adminSecret: string;
  /** Secrets of the first (up to) `sampleSize` seeded keys, spread over the roles. */
  sample: { secret: string; roleId: string }[];
  keys: number;
  bytes: number;
}

const ENVS: readonly Environment[] = ['production', 'staging', 'development'];
const ROLES = ['viewer', 'verifier', 'key-manager'] as const;

/** `keys` extra keys besides the admin key, created over the past year in (createdAt, id) order. */
export function seedStore(file: string, keys: number, sampleSize = 1_000, prefix = 'kw_'): SeededStore {
  const yearAgo = Date.now() - 365 * 86_400_000;
  const org = newOrganization('bench', new Date(yearAgo), 'default');
  const admin = issueKey({
    organizationId: org.id,
    name: 'bench admin',
    roleId: 'admin',
    environment: 'production',
    createdBy: null,
    tokenPrefix: prefix,
    rotationDays: {},
    now: new Date(yearAgo),
  });
  const records: KeyRecord[] = [admin.record];
  const sample: SeededStore['sample'] = [];
  const step = Math.max(1, Math.floor((Date.now() - 60_000 - yearAgo) / Math.max(1, keys)));
  for (let i = 0; i < keys; i++) {
    const { record, secret } = issueKey({
      organizationId: org.id,
      name: `service ${i}`,
      roleId: ROLES[i % ROLES.length]!,
      environment: ENVS[i % ENVS.length]!,
      metadata: { team: `team-${i % 17}`, tier: i % 2 === 0 ? 'gold' : 'silver' },
      createdBy: admin.record.id,
      tokenPrefix: prefix,
      rotationDays: {},
      now: new Date(yearAgo + 1_000 + i * step),
    });
    records.push(record);
    if (i < sampleSize) sample.push({ secret, roleId: record.roleId });
  }
  // Only the collections every store version has; newer ones (audit, usage) are added empty on open.
  const data: Pick<LowdbData, 'schemaVersion' | 'organizations' | 'keys' | 'roles' | 'permissions'> = {
    schemaVersion: 1,
    organizations: [org],
    keys: records,
    roles: [],
    permissions: [],
  };
  const text = JSON.stringify(data);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, text, { mode: 0o600 });
  return {
    file,
    organizationId: org.id,
    adminKeyId: admin.record.id,
    adminSecret: admin.secret,
    sample,
    keys: records.length,
    bytes: Buffer.byteLength(text),
  };
}
