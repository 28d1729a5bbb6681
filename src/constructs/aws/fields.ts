/** The JSON fields of a keyward key in a Secrets Manager secret (shared by the construct and the Lambda). */
export const SECRET_FIELD = 'API_KEY';
export const KEY_ID_FIELD = 'API_KEY_ID';
