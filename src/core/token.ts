/**
 * Key ids and secrets.
 *
 *   key id:  key_ + 20 base62 chars (public, safe to log)
 *   secret:  <prefix> + 22 base62 chars of CSPRNG (~131 bits) + 6 base62 chars of CRC32(prefix+random)
 *
 * The checksum lets us tell a typo or a truncated copy from an unknown key
 * before touching the store. Only sha256(secret) is ever stored.
 */
import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { KeywardError } from './errors.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const KEY_ID_PREFIX = 'key_';
export const DEFAULT_TOKEN_PREFIX = 'kw_';
const RANDOM_LENGTH = 22;
const CHECKSUM_LENGTH = 6;
const BODY_LENGTH = RANDOM_LENGTH + CHECKSUM_LENGTH;
const KEY_ID_RANDOM_LENGTH = 20;

export const TOKEN_PREFIX_PATTERN = /^[a-z][a-z0-9]{0,15}_$/;
export const KEY_ID_PATTERN = /^key_[0-9A-Za-z]{20}$/;

/** Uniform base62 string from the CSPRNG (rejection sampling, no modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

function toBase62Fixed(value: number, width: number): string {
  let out = '';
  let n = value;
  for (let i = 0; i < width; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

const checksumOf = (text: string): string => toBase62Fixed(crc32(text), CHECKSUM_LENGTH);

/** Whether a secret's last characters are the checksum of the rest (compared in place: this runs on every request). */
function checksumMatches(secret: string): boolean {
  const end = secret.length - CHECKSUM_LENGTH;
  let n = crc32(secret.slice(0, end));
  for (let i = secret.length - 1; i >= end; i--) {
    if (secret.charCodeAt(i) !== BASE62.charCodeAt(n % 62)) return false;
    n = Math.floor(n / 62);
  }
  return true;
}

export function newKeyId(): string {
  return KEY_ID_PREFIX + randomBase62(KEY_ID_RANDOM_LENGTH);
}

export function newSecret(prefix: string = DEFAULT_TOKEN_PREFIX): string {
  if (!TOKEN_PREFIX_PATTERN.test(prefix)) {
    throw new Error(`token prefix "${prefix}" must match ${TOKEN_PREFIX_PATTERN}`);
  }
  const head = prefix + randomBase62(RANDOM_LENGTH);
  return head + checksumOf(head);
}

/** SHA-256 hex digest (one-shot `crypto.hash`: half the cost of a Hash object for a short input). */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** What may be shown of a secret after creation: its prefix and last four characters. */
export function secretHint(secret: string): string {
  const prefix = secret.slice(0, secret.length - BODY_LENGTH);
  return `${prefix}…${secret.slice(-4)}`;
}

const SECRET_SHAPE = /^([a-z][a-z0-9]{0,15}_)([0-9A-Za-z]+)$/;
const WELL_FORMED = new RegExp(`^[a-z][a-z0-9]{0,15}_[0-9A-Za-z]{${BODY_LENGTH}}$`);

/**
 * Why a presented secret cannot be a keyward key (a typo, truncation, another
 * system's token), named by its error code; undefined when it is well formed.
 * Any well-formed prefix is accepted, so keys survive a change of the
 * configured prefix; `expectedPrefix` only sharpens the message.
 */
export function secretFormatError(presented: string, expectedPrefix: string = DEFAULT_TOKEN_PREFIX): KeywardError | undefined {
  // The common case first, in one test; the steps below only name what is wrong.
  if (WELL_FORMED.test(presented) && !presented.startsWith(KEY_ID_PREFIX)) {
    return checksumMatches(presented) ? undefined : new KeywardError('KEY_CHECKSUM_MISMATCH', 'The API key failed its checksum: it has a typo.');
  }
  if (presented.length === 0) return new KeywardError('MALFORMED_KEY', 'The API key is empty.');
  if (/\s/.test(presented)) return new KeywardError('KEY_HAS_WHITESPACE', 'The API key contains whitespace.');
  if (presented.startsWith(KEY_ID_PREFIX)) {
    return new KeywardError('KEY_ID_USED_AS_SECRET', `"${presented.slice(0, 40)}" is a Key ID, not a secret key.`);
  }
  const match = SECRET_SHAPE.exec(presented);
  const body = match?.[2];
  const notOurs = new KeywardError('MALFORMED_KEY', `The API key is not in keyward format (${expectedPrefix} followed by ${BODY_LENGTH} letters and digits).`);
  if (!match || body === undefined) return notOurs;
  if (body.length < BODY_LENGTH) {
    // Only a secret with our prefix is a truncated keyward key; anything else is another system's token.
    if (match[1] !== expectedPrefix) return notOurs;
    return new KeywardError('KEY_TRUNCATED', `The API key is ${BODY_LENGTH - body.length} characters too short.`);
  }
  if (body.length > BODY_LENGTH) return new KeywardError('MALFORMED_KEY', `The API key is ${body.length - BODY_LENGTH} characters too long.`);
  return notOurs;
}

/** A value shaped like a secret of any prefix, standing on its own (not inside a longer token, such as a base64url cursor). */
const SECRET_IN_TEXT = new RegExp(`(?<![0-9A-Za-z_-])[a-z][a-z0-9]{0,15}_[0-9A-Za-z]{${BODY_LENGTH}}(?![0-9A-Za-z_-])`);

/** Whether text (say, a URL) holds something shaped like a secret, before or after percent-decoding. */
export function holdsSecretShape(text: string): boolean {
  if (SECRET_IN_TEXT.test(text)) return true;
  if (!text.includes('%') && !text.includes('+')) return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    // Malformed escapes: decode what can be decoded.
    decoded = text.replace(/\+/g, ' ').replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  }
  return SECRET_IN_TEXT.test(decoded);
}
