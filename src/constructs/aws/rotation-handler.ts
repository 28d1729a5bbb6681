/**
 * Secrets Manager rotation Lambda for keyward keys. The secret holds
 * `{"API_KEY": "<secret>", "API_KEY_ID": "key_…"}`; the four steps run
 * against the key service:
 *
 * - createSecret: rotate the AWSCURRENT key (grace = the overlap, so the old
 *   key keeps working until consumers have picked up the new one, and stops
 *   on the server even if nothing comes back) and store the successor as
 *   AWSPENDING under the ClientRequestToken. The first rotation of an empty
 *   secret creates the key (create is idempotent on the token).
 * - setSecret: nothing; the key service activated the successor already.
 * - testSecret: the pending key must verify through /v1/verify.
 * - finishSecret: move AWSCURRENT to the pending version.
 *
 * Every step is safe to re-invoke and to invoke out of order: a step whose
 * work is done returns, a step whose input is missing fails without changing
 * anything. The key service shows a new secret once, so a crash between
 * "rotate" and "store AWSPENDING" would lose it; the next createSecret finds
 * that undelivered successor (the end of the AWSCURRENT key's rotation chain,
 * created by this admin key) and rotates it with grace 0, so no orphaned key
 * stays active. The same happens to a stale AWSPENDING left by an abandoned
 * rotation. A first key created but never stored is found by its used
 * idempotency key and revoked, with a reason in its audit record. Those are
 * the Lambda's only ends of a key: the old key after its overlap is ended by
 * the key service (expiry, or the whenUnused sweep, which records its own
 * reason).
 *
 * Configuration: the variables of ROTATION_ENV (rotation-config.ts), which
 * the ApiKeySecret construct writes from the same table.
 * Logs carry key ids, never
 * secrets.
 */
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { KeywardApiError, KeywardClient, type KeyView } from '../../client/index.ts';
import { configFromEnv, RotationError, type RotationConfig } from './rotation-config.ts';

import { KEY_ID_FIELD, SECRET_FIELD } from './fields.ts';

export { KEY_ID_FIELD, SECRET_FIELD };
export { configFromEnv, RotationError, type RotationConfig };
const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';
const MAX_CHAIN = 20;
/** Recorded in the key.revoked audit record of a created key whose secret never reached Secrets Manager. */
export const ORPHAN_REVOKE_REASON =
  'keyward rotation Lambda: created for this rotation, but the Lambda stopped before its secret reached Secrets Manager; creating another';

export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

export interface RotationEvent {
  SecretId: string;
  ClientRequestToken: string;
  Step: RotationStep | string;
  RotationToken?: string;
}

export interface RotationHandlerOptions {
  secretsManager: SecretsManagerClient;
  /** Builds the key service client for the admin key read from Secrets Manager. */
  keywardClient?: (options: { url: string; apiKey: string }) => KeywardClient;
  config?: RotationConfig;
  log?: (event: Record<string, unknown>) => void;
}

const isNotFound = (error: unknown): boolean => (error as { name?: string })?.name === 'ResourceNotFoundException';

interface StoredKey {
  secret: string;
  keyId: string;
}

function parseStored(text: string | undefined, where: string): StoredKey {
  let data: unknown;
  try {
    data = JSON.parse(text ?? '');
  } catch {
    throw new RotationError(`${where} is not JSON {"${SECRET_FIELD}","${KEY_ID_FIELD}"}`);
  }
  const secret = (data as Record<string, unknown>)?.[SECRET_FIELD];
  const keyId = (data as Record<string, unknown>)?.[KEY_ID_FIELD];
  if (typeof secret !== 'string' || typeof keyId !== 'string') throw new RotationError(`${where} lacks "${SECRET_FIELD}" or "${KEY_ID_FIELD}"`);
  return { secret, keyId };
}

/**
 * A ClientRequestToken is unique per secret only, so the idempotency key
 * names both: "aws-sm:<secret hash>:<token hash>:<attempt>" (the key
 * service allows [A-Za-z0-9_.:-/], 8 to 128 characters).
 */
function idempotencyKey(secretId: string, token: string, attempt: number): string {
  const hash = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);
  return `aws-sm:${hash(secretId)}:${hash(token)}:${attempt}`;
}

/** JSON lines on stdout (what CloudWatch collects), with pino as every keyward process logs; events carry key ids, never secrets. */
function lambdaLog(): (event: Record<string, unknown>) => void {
  const logger = pino({ name: 'keyward-rotation', base: undefined, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } });
  return (event) => logger.info(event, String(event.outcome ?? 'rotation'));
}

export function createRotationHandler(options: RotationHandlerOptions): (event: RotationEvent) => Promise<void> {
  const sm = options.secretsManager;
  const makeClient = options.keywardClient ?? ((o: { url: string; apiKey: string }) => new KeywardClient(o));
  const log = options.log ?? lambdaLog();

  return async function rotate(event: RotationEvent): Promise<void> {
    const { SecretId: secretId, ClientRequestToken: token, Step: step } = event;
    const config = options.config ?? configFromEnv();
    const describe = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
    if (describe.RotationEnabled === false) throw new RotationError(`rotation is not enabled for ${secretId}`);
    const stages = describe.VersionIdsToStages ?? {};
    const tokenStages = stages[token];
    if (!tokenStages) throw new RotationError(`version ${token} of ${secretId} is not part of a rotation`);
    if (tokenStages.includes(CURRENT)) {
      log({ step, secretId, token, outcome: 'already current' });
      return;
    }
    if (!tokenStages.includes(PENDING)) throw new RotationError(`version ${token} of ${secretId} is not AWSPENDING`);

    const pending = async (): Promise<StoredKey | null> => {
      try {
        const value = await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: token, VersionStage: PENDING }));
        return value.SecretString === undefined ? null : parseStored(value.SecretString, `pending version ${token}`);
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    };
    const keyward = async (): Promise<KeywardClient> => {
      const admin = await sm.send(new GetSecretValueCommand({ SecretId: config.adminKeySecretArn }));
      const text = admin.SecretString ?? '';
      let apiKey = text;
      if (text.trimStart().startsWith('{')) {
        try {
          apiKey = String((JSON.parse(text) as Record<string, unknown>)[SECRET_FIELD] ?? '');
        } catch {
          throw new RotationError('the admin key secret is neither a bare secret nor JSON with "API_KEY"');
        }
      }
      if (!apiKey) throw new RotationError('the admin key secret is empty');
      return makeClient({ url: config.url, apiKey });
    };

    switch (step) {
      case 'createSecret': {
        if (await pending()) {
          log({ step, secretId, token, outcome: 'pending version exists' });
          return;
        }
        const client = await keyward();
        const issued = await issueSuccessor(client, sm, secretId, token, config, log);
        await sm.send(
          new PutSecretValueCommand({
            SecretId: secretId,
            ClientRequestToken: token,
            SecretString: JSON.stringify({ [SECRET_FIELD]: issued.secret, [KEY_ID_FIELD]: issued.keyId }),
            VersionStages: [PENDING],
          }),
        );
        log({ step, secretId, token, outcome: 'pending stored', keyId: issued.keyId, from: issued.from });
        return;
      }
      case 'setSecret':
        // The key service activated the successor when it issued it; nothing to set.
        log({ step, secretId, token, outcome: 'nothing to do' });
        return;
      case 'testSecret': {
        const stored = await pending();
        if (!stored) throw new RotationError(`testSecret: version ${token} of ${secretId} has no pending key yet (createSecret has not run)`);
        const client = await keyward();
        // A key with an IP allowlist verifies only from an allowed address: present its first range's address.
        const ip = config.ipAllowlist[0]?.split('/')[0];
        const result = await client.verifyKey({ key: stored.secret, ...(ip ? { ip } : {}) });
        if (!result.valid) throw new RotationError(`testSecret: the pending key ${stored.keyId} does not verify: ${result.code} (${result.message ?? ''})`);
        if (result.keyId !== stored.keyId) throw new RotationError(`testSecret: the pending secret belongs to ${result.keyId}, not ${stored.keyId}`);
        log({ step, secretId, token, outcome: 'verified', keyId: stored.keyId });
        return;
      }
      case 'finishSecret': {
        const stored = await pending();
        if (!stored) throw new RotationError(`finishSecret: version ${token} of ${secretId} has no pending key (createSecret has not run); AWSCURRENT left alone`);
        const current = Object.entries(stages).find(([, labels]) => labels.includes(CURRENT))?.[0];
        await sm.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretId,
            VersionStage: CURRENT,
            MoveToVersionId: token,
            ...(current ? { RemoveFromVersionId: current } : {}),
          }),
        );
        log({ step, secretId, token, outcome: 'current moved', keyId: stored.keyId, previousVersion: current ?? null });
        return;
      }
      default:
        throw new RotationError(`unknown rotation step "${step}"`);
    }
  };
}

/**
 * Issues the key to store as AWSPENDING: the successor of the AWSCURRENT key,
 * or a new key when the secret has none (first rotation) or its key can no
 * longer be rotated (revoked after a compromise, expired).
 */
async function issueSuccessor(
  client: KeywardClient,
  sm: SecretsManagerClient,
  secretId: string,
  token: string,
  config: RotationConfig,
  log: (event: Record<string, unknown>) => void,
): Promise<{ secret: string; keyId: string; from: string | null }> {
  let currentKeyId: string | null = null;
  try {
    const current = await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: CURRENT }));
    if (current.SecretString !== undefined) currentKeyId = parseStored(current.SecretString, 'the AWSCURRENT version').keyId;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }

  if (currentKeyId !== null) {
    // Walk to the end of the rotation chain: anything past AWSCURRENT's key was never delivered.
    let key: KeyView = await client.getKey(currentKeyId);
    for (let hops = 0; key.rotatedToId && hops < MAX_CHAIN; hops++) key = await client.getKey(key.rotatedToId);
    if (key.rotatedToId) throw new RotationError(`the rotation chain of ${currentKeyId} is longer than ${MAX_CHAIN}; clean it up by hand`);
    const undelivered = key.id !== currentKeyId;
    if (undelivered) {
      const me = await client.whoami();
      if (key.createdBy !== me.key.id) {
        throw new RotationError(
          `${currentKeyId} (AWSCURRENT of ${secretId}) was rotated outside Secrets Manager to ${key.id}; ` +
            'revoke that key or store its secret in this secret, then rotate again',
        );
      }
    }
    if (key.status === 'active') {
      // The current key overlaps its successor and ends as configured; an undelivered successor stops at once.
      const ending = { gracePeriod: config.overlap, revokeOld: config.revokeOld, ...(config.quietPeriod ? { quietPeriod: config.quietPeriod } : {}) };
      const rotated = await client.rotateKey(key.id, undelivered ? { gracePeriod: '0' } : ending);
      if (undelivered) log({ secretId, token, outcome: 'expired undelivered key', keyId: key.id });
      return { secret: rotated.secret, keyId: rotated.key.id, from: key.id };
    }
    log({ secretId, token, outcome: `key ${key.status}, creating a new one`, keyId: key.id });
  }

  // No usable key: create one, idempotent on the rotation token.
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      const created = await client.createKey({
        name: config.keyName,
        role: config.role,
        environment: config.environment,
        ipAllowlist: config.ipAllowlist,
        metadata: { 'aws.secretsmanager': secretId.slice(0, 512) },
        idempotencyKey: idempotencyKey(secretId, token, attempt),
      });
      return { secret: created.secret, keyId: created.key.id, from: currentKeyId };
    } catch (error) {
      if (!(error instanceof KeywardApiError) || error.code !== 'IDEMPOTENCY_KEY_REUSED') throw error;
      // An earlier attempt for this token created a key whose secret was never stored: revoke it, try the next attempt key.
      const orphan = (error.details as { keyId?: string } | undefined)?.keyId;
      if (orphan) {
        await client.revokeKey(orphan, { reason: ORPHAN_REVOKE_REASON }).catch((revokeError: unknown) => {
          if (!(revokeError instanceof KeywardApiError) || revokeError.code !== 'KEY_ALREADY_REVOKED') throw revokeError;
        });
        log({ secretId, token, outcome: 'revoked undelivered key', keyId: orphan });
      }
    }
  }
  throw new RotationError(`could not create a key for ${secretId}: five attempts for token ${token} were already used`);
}

let defaultHandler: ((event: RotationEvent) => Promise<void>) | undefined;

/** The Lambda entry point (index.handler in the bundle). */
export async function handler(event: RotationEvent): Promise<void> {
  defaultHandler ??= createRotationHandler({ secretsManager: new SecretsManagerClient({}) });
  await defaultHandler(event);
}
