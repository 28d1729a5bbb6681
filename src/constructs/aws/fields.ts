/** The JSON fields of a keyward key in a Secrets Manager secret (shared by the construct and the Lambda): the Kubernetes Secret's data keys. */
import { DEFAULT_DATA_KEYS } from '../../core/data-keys.ts';

export const SECRET_FIELD = DEFAULT_DATA_KEYS.secret;
export const KEY_ID_FIELD = DEFAULT_DATA_KEYS.keyId;
