/** keyward CDKTF constructs: API keys and their rotation declared as code. */
export { ApiKey, type ApiKeyManifest, type ApiKeyProps, type ApiKeyRotationProps } from './kubernetes/api-key.ts';
export {
  ADMIN_SECRET_ACTIONS,
  ApiKeySecret,
  KMS_ACTIONS,
  LOG_ACTIONS,
  ROTATION_SECRET_ACTIONS,
  type ApiKeySecretProps,
} from './aws/api-key-secret.ts';
export { KeywardConstructError } from './errors.ts';
export { AWS_MAX_ROTATION_DAYS, RotationPolicy, type AwsRotationRules, type RotationPolicyKind } from './rotation-policy.ts';
export {
  bumpRotationToken,
  nextRotationToken,
  parseRotationTokens,
  readRotationTokens,
  ROTATION_TOKENS_FILE,
  RotationTokensError,
  type RotationTokens,
} from '../core/rotation-tokens.ts';
export { collectApiKeyManifests, manifestFileName, manifestsFromTerraformJson, toYaml } from './manifests.ts';
export { KEY_ID_FIELD, SECRET_FIELD } from './aws/fields.ts';
