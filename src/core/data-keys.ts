/**
 * Where a delivered key's secret and id are found: the data keys of the
 * Kubernetes Secret the operator writes (unless spec.secret.keys names
 * others) and the JSON fields of the AWS Secrets Manager secret the rotation
 * Lambda writes. Its own module, without zod, so the Lambda bundle stays small.
 */
export const DEFAULT_DATA_KEYS = { secret: 'API_KEY', keyId: 'API_KEY_ID' } as const;
