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

/**
 * CRC-32 (IEEE, zlib's) over ASCII, table-driven in JS. zlib.crc32 was the
 * call here; it costs ~110 ns per secret (a binding call and a copy of the
 * string), this ~50 ns with the shape checked in the same pass (measured on
 * the bench machine), and verify checks two secrets per request. A test pins
 * it to zlib.crc32.
 */
const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
const crcStep = (crc: number, code: number): number => CRC_TABLE[(crc ^ code) & 0xff]! ^ (crc >>> 8);
const crcEnd = (crc: number): number => (crc ^ -1) >>> 0;

function crc32(text: string): number {
  let crc = -1;
  for (let i = 0; i < text.length; i++) crc = crcStep(crc, text.charCodeAt(i));
  return crcEnd(crc);
}

const checksumOf = (text: string): string => toBase62Fixed(crc32(text), CHECKSUM_LENGTH);

/** Character classes of ASCII, by code: 1 lowercase letter or digit, 2 uppercase letter (base62 is either), 0 anything else. */
const CHAR_CLASS = new Uint8Array(128);
for (let c = 48; c <= 57; c++) CHAR_CLASS[c] = 1;
for (let c = 97; c <= 122; c++) CHAR_CLASS[c] = 1;
for (let c = 65; c <= 90; c++) CHAR_CLASS[c] = 2;
/** The value of each base62 digit by character code, -1 for a character that is not one. */
const BASE62_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE62.length; i++) BASE62_VALUE[BASE62.charCodeAt(i)] = i;
const charClass = (c: number): number => (c < 128 ? CHAR_CLASS[c]! : 0);

/**
 * One pass over a presented secret (this runs twice per verify), read in
 * place from index `from` of `text` (a header's secret is checked without
 * slicing it out: a sliced string costs V8 an indirection per character):
 * undefined unless it is shaped like a secret (a prefix matching
 * TOKEN_PREFIX_PATTERN, then BODY_LENGTH base62 characters), else whether its
 * last characters are the checksum of the rest. Table lookups instead of
 * range comparisons, and the checksum read as one number (62^6 < 2^53)
 * instead of dividing the CRC six times: half the time of the comparisons
 * (same-process A/B, issue 17).
 */
function readSecret(text: string, from: number): 'ok' | 'typo' | undefined {
  const underscore = text.length - BODY_LENGTH - 1;
  if (underscore < from + 1 || underscore > from + 16) return undefined;
  const first = text.charCodeAt(from);
  if (first < 97 || first > 122) return undefined;
  let crc = -1;
  for (let i = from; i < underscore; i++) {
    const c = text.charCodeAt(i);
    if (charClass(c) !== 1) return undefined;
    crc = crcStep(crc, c);
  }
  if (text.charCodeAt(underscore) !== 95) return undefined;
  crc = crcStep(crc, 95);
  const end = text.length - CHECKSUM_LENGTH;
  for (let i = underscore + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (charClass(c) === 0) return undefined;
    crc = crcStep(crc, c);
  }
  let checksum = 0;
  for (let i = end; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const digit = c < 128 ? BASE62_VALUE[c]! : -1;
    if (digit < 0) return undefined;
    checksum = checksum * 62 + digit;
  }
  // toBase62Fixed wrote the whole CRC (< 2^32 < 62^6) in the six digits.
  return checksum === crcEnd(crc) ? 'ok' : 'typo';
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

/**
 * Why a presented secret (`presented` from index `from` on) cannot be a
 * keyward key (a typo, truncation, another system's token), named by its
 * error code; undefined when it is well formed.
 * Any well-formed prefix is accepted, so keys survive a change of the
 * configured prefix; `expectedPrefix` only sharpens the message.
 */
export function secretFormatError(presented: string, expectedPrefix: string = DEFAULT_TOKEN_PREFIX, from = 0): KeywardError | undefined {
  // The common case first, in one pass over the text as it is; the steps below only name what is wrong.
  const read = readSecret(presented, from);
  if (read !== undefined && !presented.startsWith(KEY_ID_PREFIX, from)) {
    return read === 'ok' ? undefined : new KeywardError('KEY_CHECKSUM_MISMATCH', 'The API key failed its checksum: it has a typo.');
  }
  if (from > 0) return secretFormatError(presented.slice(from), expectedPrefix);
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
