/**
 * ApiKeySecret, AWS target: a Secrets Manager secret holding a keyward key
 * (`{"API_KEY", "API_KEY_ID"}`), rotated by this project's rotation Lambda
 * against the key service. Terraform creates the secret EMPTY; the first
 * rotation (Secrets Manager rotates immediately when rotation is configured)
 * creates the key, so no secret value is ever in Terraform config or state.
 *
 * Resources: aws_secretsmanager_secret, aws_cloudwatch_log_group,
 * aws_iam_role + aws_iam_role_policy (least privilege, below),
 * aws_lambda_function (esbuild bundle of rotation-handler.ts as an ARCHIVE
 * asset), aws_lambda_permission (secretsmanager.amazonaws.com, this secret
 * only), aws_secretsmanager_secret_rotation and, with a rotation token,
 * terraform_data whose change replaces the rotation resource: Terraform then
 * re-creates it with rotate_immediately, i.e. exactly one rotation per token.
 */
import { createHash } from 'node:crypto';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function/index.js';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission/index.js';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret/index.js';
import { SecretsmanagerSecretRotation } from '@cdktf/provider-aws/lib/secretsmanager-secret-rotation/index.js';
import { AssetType, DataResource, Fn, TerraformAsset, TerraformOutput, Token, type TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import type { z } from 'zod';
import { validateApiKeySpec, type ApiKeyRotationSpec, type ApiKeySpec as ApiKeySpecInput } from '../../core/apikey.ts';
import { DEFAULT_REVOKE_OLD, quietPeriodProblem } from '../../core/retirement.ts';
import { RotateKeyBody } from '../../core/schemas.ts';
import { DEFAULT_ENVIRONMENT, DEFAULT_ROTATION_DAYS, DEFAULT_ROTATION_OVERLAP } from '../../core/rotation.ts';
import { firstPerField, KeywardConstructError } from '../errors.ts';
import { RotationPolicy, type AwsRotationRules } from '../rotation-policy.ts';
import { bundleRotationHandler, DEFAULT_LAMBDA_RUNTIME, HANDLER_ENTRY } from './bundle.ts';
import { KEY_ID_FIELD, SECRET_FIELD } from './fields.ts';
import { rotationEnvironment } from './rotation-config.ts';

export interface ApiKeySecretProps {
  /** Secrets Manager secret name, e.g. "prod/payments/api-key". */
  readonly name: string;
  readonly description?: string;
  /** Name of the key in the key service. Default: the secret name. */
  readonly displayName?: string;
  // role, environment, ipAllowlist: typed and checked by the ApiKey schema (src/core/apikey.ts)
  readonly role: string;
  readonly environment?: ApiKeySpecInput['environment'];
  readonly ipAllowlist?: ApiKeySpecInput['ipAllowlist'];
  // token, overlap: as on the ApiKey; revokeOld, quietPeriod: the key service's rotate (the Lambda calls it with overlap as the grace period)
  readonly rotation?: Readonly<Pick<z.input<typeof ApiKeyRotationSpec>, 'token' | 'overlap'>> &
    Readonly<Pick<z.input<typeof RotateKeyBody>, 'revokeOld' | 'quietPeriod'>> & {
      /** Default: from the environment (production and staging 90 days, development 180). */
      readonly policy?: RotationPolicy;
    };
  readonly keyService: {
    /** Base URL of the key service as the Lambda reaches it. */
    readonly url: string;
    /** ARN of the Secrets Manager secret holding the admin key (bare secret or {"API_KEY"}). Needs api.key.create/view/rotate/delete/verify. */
    readonly adminKeySecretArn: string;
    /** KMS key ARN, if the admin key secret is encrypted with a customer managed key. */
    readonly adminKeySecretKmsKeyArn?: string;
  };
  /** Customer managed KMS key (ARN) for this secret. Default: the AWS managed key. */
  readonly kmsKeyArn?: string;
  /** Default 30 (AWS's default); 0 deletes at once. */
  readonly recoveryWindowInDays?: number;
  readonly tags?: Record<string, string>;
  readonly lambda?: {
    readonly functionName?: string;
    readonly runtime?: string;
    readonly timeoutSeconds?: number;
    readonly memorySize?: number;
    readonly logRetentionDays?: number;
    readonly subnetIds?: string[];
    readonly securityGroupIds?: string[];
  };
  /** A directory holding a pre-built index.js (skips esbuild). */
  readonly handlerBundleDir?: string;
  readonly provider?: TerraformProvider;
}

const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const KMS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** The IAM actions the rotation Lambda gets, and nothing else. */
export const ROTATION_SECRET_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
] as const;
export const ADMIN_SECRET_ACTIONS = ['secretsmanager:GetSecretValue'] as const;
export const KMS_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'] as const;
export const LOG_ACTIONS = ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'] as const;

export class ApiKeySecret extends Construct {
  readonly secret: SecretsmanagerSecret;
  readonly rotationFunction: LambdaFunction;
  readonly role: IamRole;
  readonly policy: IamRolePolicy;
  readonly rotation: SecretsmanagerSecretRotation;
  readonly rotationRules: AwsRotationRules;
  /** ARN of the secret. */
  readonly secretArn: string;
  /** Where the key id lives: the secret's JSON field API_KEY_ID, as an ECS/CloudFormation style reference ("<arn>:API_KEY_ID::"). */
  readonly keyIdReference: string;
  /** The same reference to the secret's API_KEY field: for ECS `valueFrom`, never the value. */
  readonly secretReference: string;

  constructor(scope: Construct, id: string, props: ApiKeySecretProps) {
    super(scope, id);
    const problems: string[] = [];
    const environment = props.environment ?? DEFAULT_ENVIRONMENT;
    const policy = props.rotation?.policy ?? RotationPolicy.every(`${DEFAULT_ROTATION_DAYS[environment]}d`);

    if (typeof props.name !== 'string' || props.name.length === 0) problems.push('name: must not be empty');
    else if (!Token.isUnresolved(props.name) && !SECRET_NAME.test(props.name)) problems.push(`name: "${props.name}" must be 1-512 letters, digits or /_+=.@-`);
    const spec = validateApiKeySpec(
      JSON.parse(
        JSON.stringify({
          displayName: props.displayName ?? (props.name || undefined),
          role: props.role,
          environment: props.environment,
          ipAllowlist: props.ipAllowlist,
          rotation: { interval: policy.interval ?? undefined, token: props.rotation?.token, overlap: props.rotation?.overlap },
        }),
      ),
    );
    if (!spec.ok) problems.push(...spec.problems);
    const retirement = retirementOf(props.rotation);
    if (!retirement.ok) problems.push(...retirement.problems);
    const rules = policy.toAwsRotationRules();
    if (!rules.ok && !problems.some((p) => p.startsWith('rotation.interval'))) problems.push(rules.problem);

    const url = props.keyService?.url;
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') problems.push(`keyService.url: "${url}" must be http(s)`);
    } catch {
      if (!Token.isUnresolved(url)) problems.push(`keyService.url: "${url}" is not a URL`);
    }
    const adminArn = props.keyService?.adminKeySecretArn;
    if (typeof adminArn !== 'string' || (!Token.isUnresolved(adminArn) && !SECRET_ARN.test(adminArn))) {
      problems.push('keyService.adminKeySecretArn: must be the ARN of the Secrets Manager secret holding the admin key (never the key itself)');
    }
    for (const [field, arn] of [
      ['kmsKeyArn', props.kmsKeyArn],
      ['keyService.adminKeySecretKmsKeyArn', props.keyService?.adminKeySecretKmsKeyArn],
    ] as const) {
      if (arn !== undefined && !Token.isUnresolved(arn) && !KMS_ARN.test(arn)) problems.push(`${field}: "${arn}" must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/…)`);
    }
    const recovery = props.recoveryWindowInDays;
    if (recovery !== undefined && !(recovery === 0 || (Number.isInteger(recovery) && recovery >= 7 && recovery <= 30))) {
      problems.push('recoveryWindowInDays: must be 0 or 7 to 30');
    }
    const functionName = props.lambda?.functionName ?? defaultFunctionName(props.name ?? '', this.node.addr);
    if (!FUNCTION_NAME.test(functionName)) problems.push(`lambda.functionName: "${functionName}" must be 1-64 letters, digits, "-" or "_"`);
    const retention = props.lambda?.logRetentionDays ?? 30;
    if (!LOG_RETENTION_DAYS.includes(retention)) problems.push(`lambda.logRetentionDays: ${retention} is not one CloudWatch accepts (${LOG_RETENTION_DAYS.join(', ')})`);
    if (problems.length > 0 || !spec.ok || !rules.ok || !retirement.ok) throw new KeywardConstructError('ApiKeySecret', this.node.path, firstPerField(problems));

    const provider = props.provider;
    const parsed = spec.spec;
    this.rotationRules = rules.rules;

    this.secret = new SecretsmanagerSecret(this, 'secret', {
      name: props.name,
      description: props.description ?? `keyward API key "${parsed.displayName}" (${parsed.role}, ${parsed.environment}); rotated by ${functionName}`,
      kmsKeyId: props.kmsKeyArn,
      recoveryWindowInDays: props.recoveryWindowInDays,
      tags: { ...props.tags, 'keyward.dev/role': parsed.role, 'keyward.dev/environment': parsed.environment },
      provider,
    });

    const logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/lambda/${functionName}`,
      retentionInDays: retention,
      tags: props.tags,
      provider,
    });

    this.role = new IamRole(this, 'role', {
      description: `Rotation Lambda of ${props.name}`,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
      tags: props.tags,
      provider,
    });

    const statements: Record<string, unknown>[] = [
      { Sid: 'RotateThisSecret', Effect: 'Allow', Action: [...ROTATION_SECRET_ACTIONS], Resource: this.secret.arn },
      { Sid: 'ReadAdminKey', Effect: 'Allow', Action: [...ADMIN_SECRET_ACTIONS], Resource: adminArn },
      // KMS only when customer managed keys are given: the secret's key to read and write versions, the admin secret's to read.
      ...(props.kmsKeyArn ? [{ Sid: 'UseSecretKmsKey', Effect: 'Allow', Action: [...KMS_ACTIONS], Resource: props.kmsKeyArn }] : []),
      ...(props.keyService.adminKeySecretKmsKeyArn
        ? [{ Sid: 'DecryptAdminKey', Effect: 'Allow', Action: ['kms:Decrypt'], Resource: props.keyService.adminKeySecretKmsKeyArn }]
        : []),
      { Sid: 'CreateLogGroup', Effect: 'Allow', Action: ['logs:CreateLogGroup'], Resource: logGroup.arn },
      { Sid: 'WriteLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `${logGroup.arn}:log-stream:*` },
    ];
    if (props.lambda?.subnetIds?.length) {
      // Lambda in a VPC needs to manage its network interfaces; AWS gives no narrower resource for these.
      statements.push({
        Sid: 'VpcNetworkInterfaces',
        Effect: 'Allow',
        Action: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface'],
        Resource: '*',
      });
    }
    this.policy = new IamRolePolicy(this, 'policy', {
      role: this.role.id,
      policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
      provider,
    });

    const asset = new TerraformAsset(this, 'handler', {
      path: props.handlerBundleDir ?? bundleRotationHandler(),
      type: AssetType.ARCHIVE,
    });

    this.rotationFunction = new LambdaFunction(this, 'function', {
      functionName,
      description: `Rotates the keyward key in ${props.name}`,
      role: this.role.arn,
      handler: HANDLER_ENTRY,
      runtime: props.lambda?.runtime ?? DEFAULT_LAMBDA_RUNTIME,
      filename: asset.path,
      sourceCodeHash: Fn.filebase64sha256(asset.path),
      timeout: props.lambda?.timeoutSeconds ?? 30,
      memorySize: props.lambda?.memorySize ?? 256,
      environment: {
        variables: rotationEnvironment({
          url,
          adminKeySecretArn: adminArn,
          keyName: parsed.displayName ?? props.name,
          role: parsed.role,
          environment: parsed.environment,
          overlap: parsed.rotation?.overlap ?? DEFAULT_ROTATION_OVERLAP,
          revokeOld: retirement.revokeOld,
          ...(retirement.quietPeriod ? { quietPeriod: retirement.quietPeriod } : {}),
          ipAllowlist: parsed.ipAllowlist ?? [],
        }),
      },
      ...(props.lambda?.subnetIds?.length
        ? { vpcConfig: { subnetIds: props.lambda.subnetIds, securityGroupIds: props.lambda.securityGroupIds ?? [] } }
        : {}),
      tags: props.tags,
      dependsOn: [this.policy, logGroup],
      provider,
    });

    const permission = new LambdaPermission(this, 'invoke', {
      functionName: this.rotationFunction.functionName,
      action: 'lambda:InvokeFunction',
      principal: 'secretsmanager.amazonaws.com',
      sourceArn: this.secret.arn,
      provider,
    });

    const token = parsed.rotation?.token;
    const tokenResource = token === undefined ? undefined : new DataResource(this, 'rotation-token', { input: { token } });
    this.rotation = new SecretsmanagerSecretRotation(this, 'rotation', {
      secretId: this.secret.id,
      rotationLambdaArn: this.rotationFunction.arn,
      rotationRules: rules.rules,
      rotateImmediately: true,
      dependsOn: [permission],
      // A plain address: cdktf renders a construct here as "${...}", which Terraform rejects (hashicorp/terraform-cdk#3532).
      ...(tokenResource ? { lifecycle: { replaceTriggeredBy: [`${DataResource.tfResourceType}.${tokenResource.friendlyUniqueId}`] } } : {}),
      provider,
    });

    this.secretArn = this.secret.arn;
    this.keyIdReference = `${this.secret.arn}:${KEY_ID_FIELD}::`;
    this.secretReference = `${this.secret.arn}:${SECRET_FIELD}::`;
    new TerraformOutput(this, 'secret_arn', { value: this.secret.arn, description: `ARN of the secret holding ${parsed.displayName}` });
    new TerraformOutput(this, 'key_id_reference', {
      value: this.keyIdReference,
      description: `The key id is the "${KEY_ID_FIELD}" field of the secret (the secret itself is "${SECRET_FIELD}")`,
    });
  }
}

/**
 * How the old key ends, checked by the key service's own rotate schema with
 * the overlap as its grace period, so `cdktf synth` refuses what the service
 * would refuse at the first rotation. A bad overlap is the ApiKey schema's
 * to name (as rotation.overlap).
 */
function retirementOf(
  rotation: ApiKeySecretProps['rotation'],
): { ok: true; revokeOld: z.output<typeof RotateKeyBody>['revokeOld']; quietPeriod: string | undefined } | { ok: false; problems: string[] } {
  const overlap = rotation?.overlap ?? DEFAULT_ROTATION_OVERLAP;
  const revokeOld = rotation?.revokeOld ?? DEFAULT_REVOKE_OLD;
  const result = RotateKeyBody.safeParse({ gracePeriod: overlap, revokeOld, quietPeriod: rotation?.quietPeriod });
  if (result.success) return { ok: true, revokeOld: result.data.revokeOld, quietPeriod: result.data.quietPeriod };
  // A gracePeriod issue is a bad overlap, which the ApiKey schema names already. The quiet period's check against
  // the overlap speaks the service's words (grace period); say it again in this construct's.
  const worded = quietPeriodProblem(revokeOld === 'whenUnused', rotation?.quietPeriod, overlap, { grace: 'rotation.overlap', mode: 'rotation.revokeOld whenUnused' });
  const problems = result.error.issues
    .filter((issue) => issue.path[0] !== 'gracePeriod' && !(worded && issue.code === 'custom' && issue.path[0] === 'quietPeriod'))
    .map((issue) => `rotation.${issue.path.join('.')}: ${issue.message}`);
  if (worded) problems.push(`rotation.quietPeriod: ${worded}`);
  return { ok: false, problems };
}

/** "keyward-rotate-<name>-<hash>", within Lambda's 64 characters and alphabet. */
function defaultFunctionName(name: string, addr: string): string {
  const hash = createHash('sha256').update(addr).digest('hex').slice(0, 8);
  const slug = name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64 - 'keyward-rotate--'.length - hash.length);
  return `keyward-rotate-${slug ? `${slug}-` : ''}${hash}`;
}
