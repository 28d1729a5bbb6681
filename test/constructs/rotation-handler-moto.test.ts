/**
 * The rotation Lambda's four steps with the real AWS SDK against moto_server
 * (moto's HTTP emulator of AWS: real Secrets Manager versions, staging labels
 * and errors) on loopback, and the real key service. The test plays Secrets
 * Manager's rotation driver: RotateSecret creates the AWSPENDING version (moto
 * invokes a registered Lambda only as a stub, so the test then runs the
 * handler's steps itself, as Lambda would).
 *
 * Also the contract between the ApiKeySecret construct and the handler: the
 * environment variables the construct sets are exactly the ones
 * configFromEnv reads, and the Lambda entry point (`handler`), configured by
 * nothing but the synthesized environment, rotates a secret in moto.
 *
 * aws-sdk-client-mock stays only for what moto cannot produce
 * (rotation-handler.test.ts): the first rotation of an empty secret (moto
 * 5.2.1 answers RotateSecret on a secret without a version with a 500), and a
 * crash between issuing the key and storing it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeySecret, RotationPolicy } from '../../src/constructs/index.ts';
import { configFromEnv, type RotationConfig, type RotationStep } from '../../src/constructs/aws/rotation-handler.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { motoAvailable, REQUIRE_MOTO, startMoto, type Moto } from '../support/moto.ts';
import { ROTATION_STEPS as STEPS, rotationHandlerFor, stackFor, synth } from './support.ts';

const REGION = 'eu-west-1';
/** The smallest valid zip (an empty archive): moto stores a function's code, it never runs it. */
const EMPTY_ZIP = Uint8Array.from([0x50, 0x4b, 0x05, 0x06, ...Array<number>(18).fill(0)]);

/** The environment the ApiKeySecret construct gives its Lambda, read from a synthesized stack. */
function synthesizedLambdaEnvironment(props: { url: string; adminKeySecretArn: string; name: string; displayName?: string; role: string; environment?: 'production' | 'staging' | 'development'; overlap?: string; ipAllowlist?: string[]; revokeOld?: 'afterGrace' | 'whenUnused'; quietPeriod?: string }): Record<string, string> {
  const { stack } = stackFor('contract');
  new AwsProvider(stack, 'aws', { region: REGION });
  const bundle = mkdtempSync(join(tmpdir(), 'keyward-handler-bundle-'));
  try {
    writeFileSync(join(bundle, 'index.js'), '// stands in for the bundled handler: synthesis only zips it\n');
    new ApiKeySecret(stack, 'key', {
      name: props.name,
      ...(props.displayName ? { displayName: props.displayName } : {}),
      role: props.role,
      ...(props.environment ? { environment: props.environment } : {}),
      ...(props.ipAllowlist ? { ipAllowlist: props.ipAllowlist } : {}),
      keyService: { url: props.url, adminKeySecretArn: props.adminKeySecretArn },
      rotation: {
        policy: RotationPolicy.every('30d'),
        ...(props.overlap ? { overlap: props.overlap } : {}),
        ...(props.revokeOld ? { revokeOld: props.revokeOld } : {}),
        ...(props.quietPeriod ? { quietPeriod: props.quietPeriod } : {}),
      },
      handlerBundleDir: bundle,
    });
    return synth(stack).one('aws_lambda_function').environment.variables as Record<string, string>;
  } finally {
    rmSync(bundle, { recursive: true, force: true });
  }
}

describe('the construct and the handler agree on the Lambda environment', () => {
  it('configFromEnv reads exactly the variables the construct sets, and gets back the construct\'s settings', () => {
    const env = synthesizedLambdaEnvironment({
      url: 'https://keyward.internal.example.com',
      adminKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyward/admin-AbCdEf',
      name: 'prod/billing/api-key',
      displayName: 'Billing worker',
      role: 'verifier',
      environment: 'staging',
      overlap: '2h',
      ipAllowlist: ['10.0.0.0/8', '192.0.2.7'],
      revokeOld: 'whenUnused',
      quietPeriod: '20m',
    });
    const read = new Set<string>();
    const recording = new Proxy(env, {
      get(target, name) {
        if (typeof name === 'string') read.add(name);
        return target[name as string];
      },
    });
    const config = configFromEnv(recording);
    expect([...read].sort()).toEqual(Object.keys(env).sort());
    expect(config).toEqual({
      url: 'https://keyward.internal.example.com',
      adminKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyward/admin-AbCdEf',
      keyName: 'Billing worker',
      role: 'verifier',
      environment: 'staging',
      overlap: '2h',
      ipAllowlist: ['10.0.0.0/8', '192.0.2.7/32'],
      revokeOld: 'whenUnused',
      quietPeriod: '20m',
    } satisfies RotationConfig);
  });

  it('configFromEnv names what is missing or wrong', () => {
    const env = synthesizedLambdaEnvironment({ url: 'https://keyward.internal.example.com', adminKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyward/admin-AbCdEf', name: 'prod/app/api-key', role: 'viewer' });
    for (const name of ['KEYWARD_URL', 'KEYWARD_ADMIN_KEY_SECRET_ARN', 'KEYWARD_KEY_NAME', 'KEYWARD_KEY_ROLE']) {
      const { [name]: _dropped, ...rest } = env;
      expect(() => configFromEnv(rest), name).toThrow(new RegExp(`${name} is not set`));
    }
    expect(() => configFromEnv({ ...env, KEYWARD_KEY_ENVIRONMENT: 'prod' })).toThrow(/KEYWARD_KEY_ENVIRONMENT must be production, staging or development/);
    expect(() => configFromEnv({ ...env, KEYWARD_REVOKE_OLD: 'whenIdle' })).toThrow(/KEYWARD_REVOKE_OLD must be afterGrace or whenUnused, not "whenIdle"/);
    expect(configFromEnv(env).revokeOld).toBe('afterGrace');
    expect(configFromEnv(env)).not.toHaveProperty('quietPeriod'); // empty: the key service's default
  });
});

const available = motoAvailable();
if (!available && REQUIRE_MOTO) {
  describe('rotation handler on moto_server', () => {
    it('needs moto_server (KEYWARD_REQUIRE_MOTO=1)', () => {
      throw new Error('KEYWARD_REQUIRE_MOTO=1 but moto_server is not on PATH (set KEYWARD_MOTO_SERVER to its path)');
    });
  });
}

describe.skipIf(!available)('rotation handler on moto_server (real AWS SDK, real Secrets Manager semantics)', () => {
  let moto: Moto;
  let svc: TestService;
  let sm: SecretsManagerClient;
  let lambdaArn: string;
  let adminArn: string;
  let adminJsonArn: string;
  let wrongAdminArn: string;
  let secrets = 0;

  beforeAll(async () => {
    [moto, svc] = await Promise.all([startMoto(REGION), startTestService()]);
    sm = new SecretsManagerClient(moto.clientConfig);
    // RotateSecret needs a rotation Lambda that exists; moto "invokes" it without Docker as a no-op.
    await moto.configure({ lambda: { use_docker: false } });
    const role = await new IAMClient(moto.clientConfig).send(new CreateRoleCommand({ RoleName: 'keyward-rotation', AssumeRolePolicyDocument: '{}' }));
    const fn = await new LambdaClient(moto.clientConfig).send(
      new CreateFunctionCommand({ FunctionName: 'keyward-rotate', Runtime: 'nodejs22.x', Role: role.Role!.Arn!, Handler: 'index.handler', Code: { ZipFile: EMPTY_ZIP } }),
    );
    lambdaArn = fn.FunctionArn!;
    adminArn = (await sm.send(new CreateSecretCommand({ Name: 'keyward/admin', SecretString: svc.adminSecret }))).ARN!;
    adminJsonArn = (await sm.send(new CreateSecretCommand({ Name: 'keyward/admin-json', SecretString: JSON.stringify({ API_KEY: svc.adminSecret, API_KEY_ID: svc.adminKeyId }) }))).ARN!;
    wrongAdminArn = (await sm.send(new CreateSecretCommand({ Name: 'keyward/wrong-admin', SecretString: 'kw_thisIsNotAValidKeyAtAll000000' }))).ARN!;
  }, 120_000);
  afterAll(async () => {
    await svc?.stop();
    await moto?.stop();
  });

  const admin = () => svc.client();
  const stagesOf = async (secretId: string) => (await sm.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages ?? {};
  const holder = async (secretId: string, stage: string) => Object.entries(await stagesOf(secretId)).find(([, labels]) => labels.includes(stage))?.[0];
  const valueOf = async (secretId: string, stage: string) => JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }))).SecretString!) as { API_KEY: string; API_KEY_ID: string };
  const valueOfVersion = async (secretId: string, versionId: string) => JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }))).SecretString!) as { API_KEY: string; API_KEY_ID: string };

  /**
   * A secret holding a key the admin issued, as after its first rotation (which moto cannot start:
   * see the header). Each test gets its own secret.
   */
  async function secretWithKey(config: Partial<RotationConfig> = {}) {
    const name = `prod/billing/api-key-${++secrets}`;
    const issued = await admin().createKey({ name: 'Billing worker (production)', role: 'verifier', ...(config.ipAllowlist ? { ipAllowlist: config.ipAllowlist } : {}) });
    const created = await sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ API_KEY: issued.secret, API_KEY_ID: issued.key.id }) }));
    return { arn: created.ARN!, first: { API_KEY: issued.secret, API_KEY_ID: issued.key.id } };
  }

  function setup(secretId: string, options: { adminArn?: string; config?: Partial<RotationConfig> } = {}) {
    const { logs, step } = rotationHandlerFor({ secretsManager: sm, secretId, url: svc.url, adminKeySecretArn: options.adminArn ?? adminArn, ...(options.config ? { config: options.config } : {}) });
    /** What Secrets Manager does to start a rotation: a new version, labelled AWSPENDING, with no value. */
    const startRotation = async (): Promise<string> => {
      const token = randomUUID();
      // moto refuses RotateSecret while AWSPENDING sits on the AWSCURRENT version (the reverse of AWS, where that is
      // how a finished rotation may end): clear that leftover label first, as a finished rotation leaves none in AWS.
      const stages = await stagesOf(secretId);
      for (const [version, labels] of Object.entries(stages)) {
        if (labels.includes('AWSPENDING') && labels.includes('AWSCURRENT')) {
          await sm.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: 'AWSPENDING', RemoveFromVersionId: version }));
        }
      }
      const rotated = await sm.send(new RotateSecretCommand({ SecretId: secretId, ClientRequestToken: token, RotationLambdaARN: lambdaArn, RotationRules: { AutomaticallyAfterDays: 30 } }));
      expect(rotated.VersionId).toBe(token);
      expect((await stagesOf(secretId))[token]).toEqual(['AWSPENDING']);
      return token;
    };
    const rotation = async (token?: string) => {
      const t = token ?? (await startRotation());
      for (const s of STEPS) await step(t, s);
      return t;
    };
    return { logs, step, startRotation, rotation };
  }

  const activeNow = async () => (await admin().listKeys({ status: 'active', limit: 500 })).items.length;

  it('a rotation issues the successor with the overlap: AWSCURRENT moves, AWSPREVIOUS keeps the old key, both work', async () => {
    const { arn, first } = await secretWithKey();
    const { rotation, logs } = setup(arn);
    const activeBefore = await activeNow();
    const before = await holder(arn, 'AWSCURRENT');
    const token = await rotation();
    expect(await holder(arn, 'AWSCURRENT')).toBe(token);
    expect(await holder(arn, 'AWSPREVIOUS')).toBe(before);
    const second = await valueOf(arn, 'AWSCURRENT');
    expect(second.API_KEY_ID).not.toBe(first.API_KEY_ID);
    expect(await valueOf(arn, 'AWSPREVIOUS')).toEqual(first);

    const old = await admin().getKey(first.API_KEY_ID);
    expect(old.rotatedToId).toBe(second.API_KEY_ID);
    expect((await admin().verifyKey({ key: first.API_KEY })).valid).toBe(true);
    expect((await admin().verifyKey({ key: second.API_KEY })).valid).toBe(true);
    const overlapMs = Date.parse(old.expiresAt!) - Date.parse((await admin().getKey(second.API_KEY_ID)).createdAt);
    expect(overlapMs).toBe(24 * 3_600_000);
    expect(await admin().getKey(second.API_KEY_ID)).toMatchObject({ role: 'verifier', name: 'Billing worker (production) v2', rotatedFromId: first.API_KEY_ID });
    expect(await activeNow()).toBe(activeBefore + 1); // the successor; the old key is active until its overlap ends

    const logText = JSON.stringify(logs);
    expect(logText).toContain(second.API_KEY_ID);
    for (const secret of [first.API_KEY, second.API_KEY, svc.adminSecret]) expect(logText).not.toContain(secret);
  });

  it('every step is safe to repeat: one successor, one pending value, AWSCURRENT moved once', async () => {
    const { arn, first } = await secretWithKey();
    const { step, startRotation } = setup(arn);
    const activeBefore = await activeNow();
    const token = await startRotation();
    for (const s of STEPS) {
      await step(token, s);
      await step(token, s);
    }
    await step(token, 'createSecret');
    await step(token, 'testSecret');
    await step(token, 'finishSecret');
    const after = await valueOf(arn, 'AWSCURRENT');
    expect(await holder(arn, 'AWSCURRENT')).toBe(token);
    expect((await admin().getKey(first.API_KEY_ID)).rotatedToId).toBe(after.API_KEY_ID);
    expect((await admin().getKey(after.API_KEY_ID)).rotatedToId).toBeNull();
    expect(Object.keys(await stagesOf(arn))).toHaveLength(2); // the first version and this rotation's
    expect(await activeNow()).toBe(activeBefore + 1);
  });

  it('out of order: test and finish before create change nothing; create after finish is a no-op', async () => {
    const { arn } = await secretWithKey();
    const { step, startRotation } = setup(arn);
    const current = await holder(arn, 'AWSCURRENT');
    const token = await startRotation();
    await expect(step(token, 'testSecret')).rejects.toThrow(/createSecret has not run/);
    await expect(step(token, 'finishSecret')).rejects.toThrow(/createSecret has not run.*AWSCURRENT left alone/);
    await step(token, 'setSecret');
    expect(await holder(arn, 'AWSCURRENT')).toBe(current);

    await step(token, 'createSecret');
    await step(token, 'finishSecret'); // finish before test: allowed by AWS, moves AWSCURRENT
    await step(token, 'testSecret'); // now current: nothing to do
    await step(token, 'createSecret'); // now current: must not rotate again
    const now = await valueOf(arn, 'AWSCURRENT');
    expect(await holder(arn, 'AWSCURRENT')).toBe(token);
    expect((await admin().getKey(now.API_KEY_ID)).rotatedToId).toBeNull();

    await expect(step(randomUUID(), 'createSecret')).rejects.toThrow(/not part of a rotation/);
    await expect(step(token, 'nextSecret' as RotationStep)).resolves.toBeUndefined(); // current: returns before the step is looked at
    const other = await startRotation();
    await expect(step(other, 'nextSecret' as RotationStep)).rejects.toThrow(/unknown rotation step/);
  });

  it('testSecret fails when the pending key does not verify, and AWSCURRENT stays', async () => {
    const { arn } = await secretWithKey();
    const { step, startRotation } = setup(arn);
    const current = await holder(arn, 'AWSCURRENT');
    const token = await startRotation();
    await step(token, 'createSecret');
    await step(token, 'setSecret');
    const pending = await valueOfVersion(arn, token);
    expect((await stagesOf(arn))[token]).toEqual(['AWSPENDING']);
    await admin().revokeKey(pending.API_KEY_ID);
    await expect(step(token, 'testSecret')).rejects.toThrow(new RegExp(`pending key ${pending.API_KEY_ID} does not verify: KEY_REVOKED`));
    expect(await holder(arn, 'AWSCURRENT')).toBe(current);
  });

  it('an abandoned rotation: the stale AWSPENDING key is expired by the next rotation', async () => {
    const { arn } = await secretWithKey();
    const { step, startRotation, rotation } = setup(arn);
    const activeBefore = await activeNow();
    const abandoned = await startRotation();
    await step(abandoned, 'createSecret');
    const stale = await valueOfVersion(arn, abandoned);
    const token = await rotation();
    expect(await holder(arn, 'AWSCURRENT')).toBe(token);
    expect((await stagesOf(arn))[abandoned] ?? []).not.toContain('AWSPENDING');
    expect((await admin().getKey(stale.API_KEY_ID)).status).toBe('expired');
    expect(await activeNow()).toBe(activeBefore + 1);
  });

  it('after a compromise (current key revoked) the next rotation creates a new key', async () => {
    const ipAllowlist = ['10.0.0.0/8'];
    const { arn, first } = await secretWithKey({ ipAllowlist });
    const { rotation } = setup(arn, { config: { ipAllowlist } });
    await admin().revokeKey(first.API_KEY_ID);
    await rotation();
    const fresh = await valueOf(arn, 'AWSCURRENT');
    expect(fresh.API_KEY_ID).not.toBe(first.API_KEY_ID);
    expect(await admin().getKey(fresh.API_KEY_ID)).toMatchObject({ status: 'active', role: 'verifier', ipAllowlist: ['10.0.0.0/8'], rotatedFromId: null });
  });

  it('refuses to expire a successor someone else created (rotated outside Secrets Manager)', async () => {
    const { arn, first } = await secretWithKey();
    const { step, startRotation } = setup(arn);
    const manager = await admin().createKey({ name: 'ops', role: 'admin' });
    const outside = await svc.client(manager.secret).rotateKey(first.API_KEY_ID, { gracePeriod: '1h' });
    const token = await startRotation();
    await expect(step(token, 'createSecret')).rejects.toThrow(new RegExp(`rotated outside Secrets Manager to ${outside.key.id}`));
    expect((await admin().getKey(outside.key.id)).status).toBe('active');
    await expect(sm.send(new GetSecretValueCommand({ SecretId: arn, VersionId: token }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('reads the admin key from JSON {"API_KEY"} as well as a bare secret', async () => {
    const { arn, first } = await secretWithKey();
    await setup(arn, { adminArn: adminJsonArn }).rotation();
    expect((await valueOf(arn, 'AWSCURRENT')).API_KEY_ID).not.toBe(first.API_KEY_ID);
  });

  it("a wrong admin key fails createSecret with the service's reason and stores nothing", async () => {
    const { arn } = await secretWithKey();
    const { step, startRotation } = setup(arn, { adminArn: wrongAdminArn });
    const token = await startRotation();
    await expect(step(token, 'createSecret')).rejects.toMatchObject({ name: 'KeywardApiError' });
    await expect(sm.send(new GetSecretValueCommand({ SecretId: arn, VersionId: token }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  /** Runs the Lambda entry point (`handler`) through one rotation of `arn`, configured by nothing but `env` (plus what Lambda adds). */
  async function rotateThroughEntryPoint(arn: string, env: Record<string, string>) {
    // What Lambda adds: the region and credentials (here: moto's endpoint).
    const lambdaEnv = { ...env, AWS_REGION: REGION, AWS_ACCESS_KEY_ID: 'keyward-test', AWS_SECRET_ACCESS_KEY: 'keyward-test', AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.url };
    const saved = { ...process.env };
    Object.assign(process.env, lambdaEnv);
    try {
      const { handler } = await import('../../src/constructs/aws/rotation-handler.ts');
      const { startRotation } = setup(arn);
      const token = await startRotation();
      for (const Step of STEPS) await handler({ SecretId: arn, ClientRequestToken: token, Step });
      expect(await holder(arn, 'AWSCURRENT')).toBe(token);
    } finally {
      for (const name of Object.keys(lambdaEnv)) delete process.env[name];
      Object.assign(process.env, saved);
    }
    return valueOf(arn, 'AWSCURRENT');
  }

  it('the Lambda entry point, configured only by the environment the construct synthesizes, rotates the secret', async () => {
    const { arn, first } = await secretWithKey({ ipAllowlist: ['192.0.2.0/24'] });
    const env = synthesizedLambdaEnvironment({ url: svc.url, adminKeySecretArn: adminArn, name: 'prod/billing/api-key', displayName: 'Billing worker (production)', role: 'verifier', overlap: '2h', ipAllowlist: ['192.0.2.0/24'] });
    const successor = await rotateThroughEntryPoint(arn, env);
    // Everything the environment said: name, role, allowlist (testSecret verified from inside it), overlap, how the old key ends.
    expect(await admin().getKey(successor.API_KEY_ID)).toMatchObject({ rotatedFromId: first.API_KEY_ID, role: 'verifier', name: 'Billing worker (production) v2', ipAllowlist: ['192.0.2.0/24'] });
    const old = await admin().getKey(first.API_KEY_ID);
    expect(Date.parse(old.expiresAt!) - Date.parse((await admin().getKey(successor.API_KEY_ID)).createdAt)).toBe(2 * 3_600_000);
    expect(old.transition).toMatchObject({ revokeOld: 'afterGrace', quietPeriod: null, endedAt: null });
  });

  it('revokeOld whenUnused from the construct reaches the key service: the old key is in a whenUnused transition', async () => {
    const { arn, first } = await secretWithKey();
    const env = synthesizedLambdaEnvironment({ url: svc.url, adminKeySecretArn: adminArn, name: 'prod/billing/api-key', role: 'verifier', overlap: '2h', revokeOld: 'whenUnused', quietPeriod: '15m' });
    const successor = await rotateThroughEntryPoint(arn, env);
    const old = await admin().getKey(first.API_KEY_ID);
    expect(old.rotatedToId).toBe(successor.API_KEY_ID);
    // The service keeps it until nothing uses it for 15m (the successor has been used: testSecret verified it), at the latest the overlap's end.
    expect(old.status).toBe('active');
    expect(old.transition).toMatchObject({ revokeOld: 'whenUnused', quietPeriod: '15m', deadline: old.expiresAt, endedAt: null, endedBy: null });
    expect(Date.parse(old.transition!.deadline!) - Date.parse(old.transition!.rotatedAt)).toBe(2 * 3_600_000);
  });
});
