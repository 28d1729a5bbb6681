import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { TerraformStack, Testing } from 'cdktf';
import { describe, expect, it } from 'vitest';
import { ApiKeySecret, KeywardConstructError, RotationPolicy, type ApiKeySecretProps } from '../../src/constructs/index.ts';
import { bundleRotationHandler } from '../../src/constructs/aws/bundle.ts';
import { stackFor, synth, thrown } from './support.ts';

const ADMIN_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyward/admin-AbCdEf';
const KMS_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const ADMIN_KMS_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';

const base = (over: Partial<ApiKeySecretProps> = {}): ApiKeySecretProps => ({
  name: 'prod/billing/api-key',
  role: 'verifier',
  keyService: { url: 'https://keyward.internal.example.com', adminKeySecretArn: ADMIN_ARN },
  ...over,
});

function build(over: Partial<ApiKeySecretProps> = {}) {
  const { stack } = stackFor();
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  const construct = new ApiKeySecret(stack, 'billing', base(over));
  return { construct, out: synth(stack) };
}

const ref = (type: string, construct: { friendlyUniqueId: string }, attr: string) => `\${${type}.${construct.friendlyUniqueId}.${attr}}`;

describe('ApiKeySecret (AWS Secrets Manager)', () => {
  it('synthesizes the secret, rotation, Lambda, role, policy, permission and log group', () => {
    const { construct, out } = build({ kmsKeyArn: KMS_ARN, tags: { team: 'billing' } });
    expect(Object.keys(out.json.resource).sort()).toEqual([
      'aws_cloudwatch_log_group',
      'aws_iam_role',
      'aws_iam_role_policy',
      'aws_lambda_function',
      'aws_lambda_permission',
      'aws_secretsmanager_secret',
      'aws_secretsmanager_secret_rotation',
    ]);
    const secretArn = ref('aws_secretsmanager_secret', construct.secret, 'arn');

    const secret = out.one('aws_secretsmanager_secret');
    expect(secret).toMatchObject({ name: 'prod/billing/api-key', kms_key_id: KMS_ARN, tags: { team: 'billing', 'keyward.dev/role': 'verifier', 'keyward.dev/environment': 'production' } });
    // Terraform creates the secret empty: no aws_secretsmanager_secret_version, no value anywhere.
    expect(out.json.resource.aws_secretsmanager_secret_version).toBeUndefined();

    const fn = out.one('aws_lambda_function');
    expect(fn).toMatchObject({
      handler: 'index.handler',
      runtime: 'nodejs22.x',
      role: ref('aws_iam_role', construct.role, 'arn'),
      timeout: 30,
      environment: {
        variables: {
          KEYWARD_URL: 'https://keyward.internal.example.com',
          KEYWARD_ADMIN_KEY_SECRET_ARN: ADMIN_ARN,
          KEYWARD_KEY_NAME: 'prod/billing/api-key',
          KEYWARD_KEY_ROLE: 'verifier',
          KEYWARD_KEY_ENVIRONMENT: 'production',
          KEYWARD_ROTATION_OVERLAP: '24h',
          KEYWARD_KEY_IP_ALLOWLIST: '',
          KEYWARD_REVOKE_OLD: 'afterGrace',
          KEYWARD_QUIET_PERIOD: '',
        },
      },
    });
    expect(fn.filename).toMatch(/^assets\/.+\/archive\.zip$/);
    expect(fn.source_code_hash).toBe(`\${filebase64sha256("${fn.filename}")}`);
    expect(fn.depends_on).toEqual([`aws_iam_role_policy.${construct.policy.friendlyUniqueId}`, expect.stringMatching(/^aws_cloudwatch_log_group\./)]);
    expect(fn.function_name).toMatch(/^keyward-rotate-prod-billing-api-key-[0-9a-f]{8}$/);

    expect(out.one('aws_cloudwatch_log_group')).toMatchObject({ name: `/aws/lambda/${fn.function_name}`, retention_in_days: 30 });

    expect(out.one('aws_lambda_permission')).toMatchObject({
      action: 'lambda:InvokeFunction',
      principal: 'secretsmanager.amazonaws.com',
      function_name: ref('aws_lambda_function', construct.rotationFunction, 'function_name'),
      source_arn: secretArn,
    });

    const rotation = out.one('aws_secretsmanager_secret_rotation');
    expect(rotation).toMatchObject({
      secret_id: ref('aws_secretsmanager_secret', construct.secret, 'id'),
      rotation_lambda_arn: ref('aws_lambda_function', construct.rotationFunction, 'arn'),
      rotation_rules: { automatically_after_days: 90 },
      rotate_immediately: true,
    });
    // Rotation is configured only once Secrets Manager may invoke the function.
    expect(rotation.depends_on).toEqual([expect.stringMatching(/^aws_lambda_permission\./)]);
    expect(rotation.lifecycle).toBeUndefined();

    const role = out.one('aws_iam_role');
    expect(JSON.parse(role.assume_role_policy)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });

    expect(out.json.output).toBeDefined();
    const outputs = Object.values(out.json.output) as { value: string }[];
    expect(outputs.map((o) => o.value).sort()).toEqual([secretArn, `${secretArn}:API_KEY_ID::`].sort());
  });

  it('grants exactly the least-privilege actions on exactly these resources', () => {
    const statementsOf = (over: Partial<ApiKeySecretProps>) => {
      const { construct, out } = build(over);
      const policy = out.one('aws_iam_role_policy');
      expect(policy.role).toBe(ref('aws_iam_role', construct.role, 'id'));
      const document = JSON.parse(policy.policy);
      expect(document.Version).toBe('2012-10-17');
      return { construct, statements: document.Statement as { Sid: string; Effect: string; Action: string[]; Resource: string | string[] }[] };
    };

    const plain = statementsOf({});
    const secretArn = ref('aws_secretsmanager_secret', plain.construct.secret, 'arn');
    const logArn = `\${aws_cloudwatch_log_group.${(plain.construct.node.findChild('logs') as any).friendlyUniqueId}.arn}`;
    expect(plain.statements).toEqual([
      {
        Sid: 'RotateThisSecret',
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        Resource: secretArn,
      },
      { Sid: 'ReadAdminKey', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: ADMIN_ARN },
      { Sid: 'CreateLogGroup', Effect: 'Allow', Action: ['logs:CreateLogGroup'], Resource: logArn },
      { Sid: 'WriteLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `${logArn}:log-stream:*` },
    ]);
    // No wildcard action or resource anywhere, and no kms without a KMS key.
    for (const statement of plain.statements) {
      expect(statement.Effect).toBe('Allow');
      for (const action of statement.Action) expect(action).not.toContain('*');
      expect(statement.Resource).not.toBe('*');
    }
    expect(JSON.stringify(plain.statements)).not.toContain('kms:');

    const kms = statementsOf({ kmsKeyArn: KMS_ARN, keyService: { url: 'https://k.example.com', adminKeySecretArn: ADMIN_ARN, adminKeySecretKmsKeyArn: ADMIN_KMS_ARN } });
    expect(kms.statements.filter((s) => s.Action.some((a) => a.startsWith('kms:')))).toEqual([
      { Sid: 'UseSecretKmsKey', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: KMS_ARN },
      { Sid: 'DecryptAdminKey', Effect: 'Allow', Action: ['kms:Decrypt'], Resource: ADMIN_KMS_ARN },
    ]);
  });

  it('rotation rules per preset', () => {
    const rules = (policy: RotationPolicy, environment?: ApiKeySecretProps['environment']) =>
      build({ rotation: { policy }, environment }).out.one('aws_secretsmanager_secret_rotation').rotation_rules;
    expect(rules(RotationPolicy.production())).toEqual({ automatically_after_days: 90 });
    expect(rules(RotationPolicy.development())).toEqual({ automatically_after_days: 180 });
    expect(rules(RotationPolicy.every('30d'))).toEqual({ automatically_after_days: 30 });
    expect(rules(RotationPolicy.every('2w'))).toEqual({ automatically_after_days: 14 });
    expect(rules(RotationPolicy.every('12h'))).toEqual({ schedule_expression: 'rate(12 hours)' });
    expect(rules(RotationPolicy.manual())).toEqual({ automatically_after_days: 1000 });
    // No policy: the environment decides, as for the operator.
    expect(build({ environment: 'development' }).out.one('aws_secretsmanager_secret_rotation').rotation_rules).toEqual({ automatically_after_days: 180 });
    expect(build({ environment: 'staging' }).out.one('aws_secretsmanager_secret_rotation').rotation_rules).toEqual({ automatically_after_days: 90 });
  });

  it('a rotation token becomes terraform_data that replaces the rotation resource when it changes', () => {
    const { out } = build({ rotation: { policy: RotationPolicy.production(), token: '2026-11-27-1', overlap: '2h' } });
    const [[dataId, data]] = out.resources('terraform_data') as [[string, any]];
    expect(data.input).toEqual({ token: '2026-11-27-1' });
    const rotation = out.one('aws_secretsmanager_secret_rotation');
    // A plain address: "${...}" here is rejected by Terraform.
    expect(rotation.lifecycle).toEqual({ replace_triggered_by: [`terraform_data.${dataId}`] });
    expect(out.one('aws_lambda_function').environment.variables.KEYWARD_ROTATION_OVERLAP).toBe('2h');
  });

  it('revokeOld and quietPeriod reach the Lambda environment, checked against the overlap', () => {
    const env = (rotation: ApiKeySecretProps['rotation']) => build({ rotation }).out.one('aws_lambda_function').environment.variables;
    expect(env({ overlap: '2h', revokeOld: 'whenUnused', quietPeriod: '15m' })).toMatchObject({ KEYWARD_ROTATION_OVERLAP: '2h', KEYWARD_REVOKE_OLD: 'whenUnused', KEYWARD_QUIET_PERIOD: '15m' });
    // No quietPeriod: empty, the key service applies its default (10m), which the 24h default overlap allows.
    expect(env({ revokeOld: 'whenUnused' })).toMatchObject({ KEYWARD_ROTATION_OVERLAP: '24h', KEYWARD_REVOKE_OLD: 'whenUnused', KEYWARD_QUIET_PERIOD: '' });
    expect(env({ revokeOld: 'afterGrace' })).toMatchObject({ KEYWARD_REVOKE_OLD: 'afterGrace', KEYWARD_QUIET_PERIOD: '' });
  });

  it('never puts a secret in the synthesized JSON: only the admin key ARN', () => {
    const { out } = build({ rotation: { token: 't' } });
    expect(out.text).not.toMatch(/kw_[A-Za-z0-9]{10,}/);
    expect(out.text).not.toMatch(/"(API_KEY|KEYWARD_API_KEY|secret_string)"\s*:/);
    expect(out.text).toContain(ADMIN_ARN);
  });

  it('bundles the project\'s own rotation handler with esbuild into a loadable index.js', () => {
    const dir = bundleRotationHandler();
    expect(bundleRotationHandler()).toBe(dir);
    const file = join(dir, 'index.js');
    expect(existsSync(file)).toBe(true);
    const handler = createRequire(file)(file) as { handler?: unknown; createRotationHandler?: unknown };
    expect(typeof handler.handler).toBe('function');
    expect(typeof handler.createRotationHandler).toBe('function');
    expect(readFileSync(file, 'utf8').length).toBeGreaterThan(10_000);
  });

  it('the bundled handler logs JSON lines with pino on stdout (what CloudWatch collects), in its own process', () => {
    const file = join(bundleRotationHandler(), 'index.js');
    // A version that is already current: the handler's first step logs and returns, no AWS and no key service needed.
    const script = `
      const h = require(${JSON.stringify(file)}).createRotationHandler({
        secretsManager: { send: async () => ({ RotationEnabled: true, VersionIdsToStages: { t1: ['AWSCURRENT'] } }) },
        config: { url: 'http://127.0.0.1:1', adminKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:a', keyName: 'k', role: 'viewer', environment: 'production', overlap: '24h', ipAllowlist: [], revokeOld: 'afterGrace' },
      });
      h({ SecretId: 'prod/app', ClientRequestToken: 't1', Step: 'createSecret' });`;
    const stdout = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      { level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), name: 'keyward-rotation', step: 'createSecret', secretId: 'prod/app', token: 't1', outcome: 'already current', msg: 'already current' },
    ]);
  });

  describe('invalid props fail with the construct path', () => {
    const cases: [string, Partial<ApiKeySecretProps>, RegExp][] = [
      ['empty name', { name: '' }, /name: must not be empty/],
      ['bad secret name', { name: 'prod billing' }, /name: "prod billing" must be 1-512/],
      ['bad role format', { role: 'Billing Role' }, /role: must be lowercase letters/],
      ['bad CIDR', { ipAllowlist: ['300.1.1.1'] }, /ipAllowlist\.0: must be an IPv4 or IPv6 address or CIDR range/],
      ['bad duration', { rotation: { policy: RotationPolicy.every('a while') } }, /rotation\.interval: must be a duration/],
      ['bad overlap', { rotation: { overlap: 'long' } }, /rotation\.overlap: must be a duration/],
      ['interval AWS cannot schedule', { rotation: { policy: RotationPolicy.every('90m') } }, /Secrets Manager needs whole days, or whole hours of at least 4/],
      ['interval beyond 1000 days', { rotation: { policy: RotationPolicy.every('1500d') } }, /at most every 1000 days/],
      ['admin key instead of its ARN', { keyService: { url: 'https://k.example.com', adminKeySecretArn: 'kw_abcdefabcdefabcdefabcdef123456' } }, /adminKeySecretArn: must be the ARN/],
      ['bad url', { keyService: { url: 'keyward', adminKeySecretArn: ADMIN_ARN } }, /keyService\.url: "keyward" is not a URL/],
      ['bad KMS ARN', { kmsKeyArn: 'alias/my-key' }, /kmsKeyArn: "alias\/my-key" must be a KMS key ARN/],
      ['bad recovery window', { recoveryWindowInDays: 3 }, /recoveryWindowInDays: must be 0 or 7 to 30/],
      ['bad log retention', { lambda: { logRetentionDays: 10 } }, /logRetentionDays: 10 is not one CloudWatch accepts/],
      ['unknown revokeOld', { rotation: { revokeOld: 'whenIdle' as 'whenUnused' } }, /rotation\.revokeOld: .*"afterGrace"\|"whenUnused"/],
      ['quietPeriod not shorter than the overlap', { rotation: { overlap: '1h', revokeOld: 'whenUnused', quietPeriod: '2h' } }, /rotation\.quietPeriod: must be shorter than rotation\.overlap \(1h\), the hard deadline; 2h is not/],
      ['default quietPeriod not shorter than the overlap', { rotation: { overlap: '5m', revokeOld: 'whenUnused' } }, /rotation\.quietPeriod: must be shorter than rotation\.overlap \(5m\), the hard deadline; the default 10m is not/],
      ['quietPeriod zero', { rotation: { revokeOld: 'whenUnused', quietPeriod: '0' } }, /rotation\.quietPeriod: must be more than 0/],
      ['quietPeriod without whenUnused', { rotation: { quietPeriod: '5m' } }, /rotation\.quietPeriod: applies only when the old key is revoked when unused \(rotation\.revokeOld whenUnused\)/],
      ['bad quietPeriod', { rotation: { revokeOld: 'whenUnused', quietPeriod: 'soon' } }, /rotation\.quietPeriod: must be a duration/],
      ['bad function name', { lambda: { functionName: 'rotate me' } }, /functionName: "rotate me"/],
    ];
    for (const [title, over, message] of cases) {
      it(title, () => {
        const app = Testing.app();
        const stack = new TerraformStack(app, 'aws-stack');
        const error = thrown(() => new ApiKeySecret(stack, 'billing-key', base(over)));
        expect(error).toBeInstanceOf(KeywardConstructError);
        expect(error.message).toContain('ApiKeySecret at "aws-stack/billing-key"');
        expect(error.message).toMatch(message);
        expect(error.message).not.toContain('grace period'); // the key service's word; this construct's prop is rotation.overlap
      });
    }
  });
});
