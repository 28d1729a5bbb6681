/**
 * The rotation Lambda against the real key service, for the two cases moto
 * cannot produce (everything else runs against moto_server:
 * rotation-handler-moto.test.ts): the first rotation of an empty secret (moto
 * 5.2.1 answers RotateSecret on a secret without a version with a 500), and a
 * crash between issuing the key and storing it (a rotated successor, and a
 * first key whose create the retry finds used). Secrets Manager is
 * aws-sdk-client-mock over a small in-memory model of versions and staging
 * labels.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  InvalidRequestException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ORPHAN_REVOKE_REASON, type RotationConfig } from '../../src/constructs/aws/rotation-handler.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { ROTATION_STEPS as STEPS, rotationHandlerFor } from './support.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/billing/api-key-Xy12Ab';
const ADMIN_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyward/admin-AbCdEf';

interface Version {
  id: string;
  value?: string;
  stages: Set<string>;
}

/** Secrets Manager, as far as rotation sees it: versions, their values and staging labels. */
class FakeSecretsManager {
  versions = new Map<string, Version>();
  adminValue: string;
  calls: string[] = [];
  failNextPut = false;

  constructor(adminValue: string) {
    this.adminValue = adminValue;
  }

  holder(stage: string): Version | undefined {
    return [...this.versions.values()].find((v) => v.stages.has(stage));
  }

  valueOf(stage: string): { API_KEY: string; API_KEY_ID: string } | undefined {
    const value = this.holder(stage)?.value;
    return value === undefined ? undefined : JSON.parse(value);
  }

  #label(version: Version, stage: string): void {
    const previous = this.holder(stage);
    if (previous && previous !== version) {
      previous.stages.delete(stage);
      if (stage === 'AWSCURRENT') this.#label(previous, 'AWSPREVIOUS');
    }
    version.stages.add(stage);
  }

  /** What RotateSecret does before invoking the Lambda: a new version id labelled AWSPENDING, no value yet. */
  startRotation(): string {
    const id = randomUUID();
    const version: Version = { id, stages: new Set() };
    this.versions.set(id, version);
    this.#label(version, 'AWSPENDING');
    return id;
  }

  install(client: SecretsManagerClient): void {
    const mock = mockClient(client);
    const notFound = (message: string) => new ResourceNotFoundException({ message, $metadata: {} });
    mock.on(DescribeSecretCommand).callsFake((input) => {
      this.calls.push('DescribeSecret');
      expect(input.SecretId).toBe(SECRET_ARN);
      const stages: Record<string, string[]> = {};
      for (const v of this.versions.values()) if (v.stages.size > 0) stages[v.id] = [...v.stages];
      return { ARN: SECRET_ARN, RotationEnabled: true, VersionIdsToStages: stages };
    });
    mock.on(GetSecretValueCommand).callsFake((input) => {
      this.calls.push(`GetSecretValue ${input.SecretId === ADMIN_ARN ? 'admin' : (input.VersionStage ?? input.VersionId)}`);
      if (input.SecretId === ADMIN_ARN) return { ARN: ADMIN_ARN, SecretString: this.adminValue };
      expect(input.SecretId).toBe(SECRET_ARN);
      let version: Version | undefined;
      if (input.VersionId !== undefined) {
        version = this.versions.get(input.VersionId);
        if (version && input.VersionStage !== undefined && !version.stages.has(input.VersionStage)) version = undefined;
      } else version = this.holder(input.VersionStage ?? 'AWSCURRENT');
      if (!version || version.value === undefined) throw notFound("Secrets Manager can't find the specified secret value");
      return { ARN: SECRET_ARN, VersionId: version.id, SecretString: version.value, VersionStages: [...version.stages] };
    });
    mock.on(PutSecretValueCommand).callsFake((input) => {
      this.calls.push('PutSecretValue');
      if (this.failNextPut) {
        this.failNextPut = false;
        throw new Error('simulated crash before the value was stored');
      }
      const id = input.ClientRequestToken!;
      let version = this.versions.get(id);
      if (version?.value !== undefined) {
        if (version.value !== input.SecretString) throw new ResourceExistsException({ message: 'version exists with another value', $metadata: {} });
      } else {
        version ??= { id, stages: new Set() };
        version.value = input.SecretString;
        this.versions.set(id, version);
      }
      for (const stage of input.VersionStages ?? ['AWSCURRENT']) this.#label(version, stage);
      return { ARN: SECRET_ARN, VersionId: id, VersionStages: [...version.stages] };
    });
    mock.on(UpdateSecretVersionStageCommand).callsFake((input) => {
      this.calls.push(`UpdateSecretVersionStage ${input.VersionStage}`);
      const holder = this.holder(input.VersionStage!);
      if (holder && holder.id !== input.MoveToVersionId && holder.id !== input.RemoveFromVersionId) {
        throw new InvalidRequestException({ message: `${input.VersionStage} is on ${holder.id}; name it in RemoveFromVersionId`, $metadata: {} });
      }
      const target = this.versions.get(input.MoveToVersionId!);
      if (!target) throw notFound('no such version');
      this.#label(target, input.VersionStage!);
      return { ARN: SECRET_ARN };
    });
  }
}

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(async () => {
  await svc?.stop();
});

function setup(options: { admin?: string; config?: Partial<RotationConfig> } = {}) {
  const sm = new FakeSecretsManager(options.admin ?? svc.adminSecret);
  const client = new SecretsManagerClient({ region: 'eu-west-1' });
  sm.install(client);
  const { logs, step } = rotationHandlerFor({ secretsManager: client, secretId: SECRET_ARN, url: svc.url, adminKeySecretArn: ADMIN_ARN, ...(options.config ? { config: options.config } : {}) });
  const rotation = async (token = sm.startRotation()) => {
    for (const s of STEPS) await step(token, s);
    return token;
  };
  return { sm, logs, step, rotation, admin: svc.client() };
}

describe('rotation handler', () => {
  let activeBefore: number;
  beforeEach(async () => {
    activeBefore = (await svc.client().listKeys({ status: 'active', limit: 500 })).items.length;
  });
  const activeNow = async () => (await svc.client().listKeys({ status: 'active', limit: 500 })).items.length;

  it('first rotation of an empty secret creates the key; the next one rotates it with the overlap', async () => {
    const { sm, rotation, admin, logs } = setup();
    const t1 = await rotation();
    const first = sm.valueOf('AWSCURRENT')!;
    expect(sm.holder('AWSCURRENT')!.id).toBe(t1);
    expect(first.API_KEY_ID).toMatch(/^key_/);
    const created = await admin.getKey(first.API_KEY_ID);
    expect(created).toMatchObject({ name: 'Billing worker (production)', role: 'verifier', environment: 'production', status: 'active' });
    expect((await admin.verifyKey({ key: first.API_KEY })).valid).toBe(true);

    const t2 = await rotation();
    const second = sm.valueOf('AWSCURRENT')!;
    expect(sm.holder('AWSCURRENT')!.id).toBe(t2);
    expect(sm.holder('AWSPREVIOUS')!.id).toBe(t1);
    expect(second.API_KEY_ID).not.toBe(first.API_KEY_ID);
    const old = await admin.getKey(first.API_KEY_ID);
    expect(old.rotatedToId).toBe(second.API_KEY_ID);
    // The old key keeps working for the overlap, and stops on the server afterwards.
    expect((await admin.verifyKey({ key: first.API_KEY })).valid).toBe(true);
    const overlapMs = Date.parse(old.expiresAt!) - Date.now();
    expect(overlapMs).toBeGreaterThan(23.9 * 3_600_000);
    expect(overlapMs).toBeLessThanOrEqual(24 * 3_600_000);
    const successor = await admin.getKey(second.API_KEY_ID);
    expect(successor).toMatchObject({ role: 'verifier', name: 'Billing worker (production) v2', rotatedFromId: first.API_KEY_ID });
    expect(await activeNow()).toBe(activeBefore + 2); // the new key, and the old one until its overlap ends

    // Logs name key ids, never secrets.
    const logText = JSON.stringify(logs);
    expect(logText).toContain(second.API_KEY_ID);
    expect(logText).not.toContain(first.API_KEY);
    expect(logText).not.toContain(second.API_KEY);
    expect(logText).not.toContain(svc.adminSecret);
  });

  it('a crash between rotate and storing AWSPENDING: the retry expires the undelivered key and stores a fresh one', async () => {
    const { sm, step, rotation, admin } = setup();
    await rotation();
    const current = sm.valueOf('AWSCURRENT')!;
    const token = sm.startRotation();
    sm.failNextPut = true;
    await expect(step(token, 'createSecret')).rejects.toThrow(/simulated crash/);
    const lost = (await admin.getKey(current.API_KEY_ID)).rotatedToId!;
    expect((await admin.getKey(lost)).status).toBe('active');

    await rotation(token);
    const now = sm.valueOf('AWSCURRENT')!;
    expect(now.API_KEY_ID).not.toBe(lost);
    expect((await admin.getKey(lost)).status).toBe('expired'); // never delivered, so stopped at once
    expect((await admin.getKey(lost)).rotatedToId).toBe(now.API_KEY_ID);
    expect((await admin.getKey(now.API_KEY_ID)).status).toBe('active');
    expect((await admin.verifyKey({ key: current.API_KEY })).valid).toBe(true); // the overlap of the real current key is untouched
    expect(await activeNow()).toBe(activeBefore + 2);
  });

  it('a crash between creating the first key and storing it: the retry revokes the orphan, saying why, and stores a fresh key', async () => {
    const { sm, step, rotation, admin, logs } = setup();
    const token = sm.startRotation();
    sm.failNextPut = true;
    await expect(step(token, 'createSecret')).rejects.toThrow(/simulated crash/);

    await rotation(token);
    const stored = sm.valueOf('AWSCURRENT')!;
    const orphan = logs.find((event) => event.outcome === 'revoked undelivered key')?.keyId as string;
    expect(orphan).toMatch(/^key_/);
    expect(orphan).not.toBe(stored.API_KEY_ID);
    expect((await admin.getKey(orphan)).status).toBe('revoked');
    const [record] = (await admin.listAuditLog({ action: 'key.revoked', targetId: orphan })).items;
    expect(record?.changes?.after?.reason).toBe(ORPHAN_REVOKE_REASON);
    expect((await admin.verifyKey({ key: stored.API_KEY })).valid).toBe(true);
    expect(await activeNow()).toBe(activeBefore + 1); // the stored key only
  });
});
