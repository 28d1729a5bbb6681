/**
 * Request bodies, one way for both paths (the Express routes and the bare
 * verify path): which requests carry a body, whether it is taken, and the
 * parser that reads it. A body must be
 * JSON, `application/json` or any `application/<subtype>+json`, in UTF-8
 * (no charset, or charset=utf-8), sent uncompressed (bodies are at most
 * 64 KiB; a compressed one is refused rather than inflated). Everything else
 * is 415 UNSUPPORTED_MEDIA_TYPE, never read as something it is not.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseContentType } from 'content-type';
import { KeywardError } from '../core/errors.ts';

export const BODY_LIMIT_BYTES = 64 * 1024;

const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/;
/** Short header parts may be repeated in a message; anything longer (or odd) is not echoed. */
const echo = (text: string): string => (/^[A-Za-z0-9!#$&^_.+/-]{1,40}$/.test(text) ? `"${text}"` : 'given');

const unsupported = (message: string) => new KeywardError('UNSUPPORTED_MEDIA_TYPE', message);

/** The length a request declares (0 without Content-Length), or Infinity for a chunked body of unknown length. */
function declaredLength(req: IncomingMessage): number {
  if (req.headers['transfer-encoding'] !== undefined) return Infinity;
  const text = req.headers['content-length'];
  return text === undefined ? 0 : digitsValue(text);
}

/**
 * Number(text) for a Content-Length, read digit by digit: Node's parser has
 * refused any other Content-Length, and Number() of a fresh string goes
 * through V8's runtime (~250 instructions, on every request with a body).
 * Anything but short digits still goes to Number().
 */
function digitsValue(text: string): number {
  if (text.length === 0 || text.length > 15) return Number(text);
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number(text);
    value = value * 10 + digit;
  }
  return value;
}

/** Why a body (the request has one) is not taken, or undefined when it is JSON in UTF-8. */
function mediaRefusal(req: IncomingMessage): KeywardError | undefined {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return unsupported(`The body is sent with Content-Encoding ${echo(encoding)}; send it uncompressed (bodies are at most ${BODY_LIMIT_BYTES / 1024} KiB).`);
  }
  const header = req.headers['content-type'];
  // The common cases without parsing (the verify path runs this per request).
  if (header === 'application/json' || header === 'application/json; charset=utf-8') return undefined;
  if (header === undefined) return unsupported('The body has no Content-Type; send it as "Content-Type: application/json".');
  const { type, parameters } = parseContentType(header);
  if (!JSON_MEDIA_TYPE.test(type)) return unsupported(`Content-Type ${echo(type)} is not JSON; send "application/json" (or an application/…+json type).`);
  const charset = parameters.charset;
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') {
    return unsupported(`The body's charset ${echo(charset)} is not taken: JSON bodies are UTF-8 (send charset=utf-8, or none).`);
  }
  return undefined;
}

/** A body limit as messages and the API reference name it: 64 KiB, 4 MiB. */
export const formatLimit = (bytes: number): string => (bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`);

/** PAYLOAD_TOO_LARGE in the words of the route that refused the body: its own limit (the route table's bodyLimitBytes). */
export const payloadTooLarge = (limitBytes: number): KeywardError =>
  new KeywardError('PAYLOAD_TOO_LARGE', `The body is larger than ${formatLimit(limitBytes)}.`, {
    hint: `Bodies of this request are limited to ${formatLimit(limitBytes)}: send less in one request.`,
  });

const tooLarge = () => payloadTooLarge(BODY_LIMIT_BYTES);

/** The one refusal of a body that is not JSON. */
export const invalidJson = (): KeywardError => new KeywardError('INVALID_JSON', 'The body is not valid JSON.');

/**
 * Reads a request's body as JSON, the one parser of both paths: `done(error)`
 * with what refuses it (UNSUPPORTED_MEDIA_TYPE, at once; PAYLOAD_TOO_LARGE,
 * INVALID_JSON), or `done(undefined, body)`, undefined for no body or an
 * empty one. A body over the limit is read to its end but not kept, and
 * answered then: answering before would leave unread bytes on a closing
 * connection, which the client may see as a reset instead of the answer. A
 * leading UTF-8 byte order mark is dropped.
 */
export function readJsonBody(req: IncomingMessage, done: (error: KeywardError | undefined, body?: unknown) => void): void {
  const length = declaredLength(req);
  if (!(length > 0)) {
    done(undefined, undefined);
    return;
  }
  const refused = mediaRefusal(req);
  if (refused) {
    req.resume();
    done(refused);
    return;
  }
  let over = length !== Infinity && length > BODY_LIMIT_BYTES;
  let first: Buffer | undefined;
  let more: Buffer[] | undefined;
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > BODY_LIMIT_BYTES) {
      over = true;
      first = more = undefined;
    } else if (first === undefined) first = chunk;
    else (more ??= [first]).push(chunk);
  });
  req.on('end', () => {
    if (over) {
      done(tooLarge());
      return;
    }
    if (first === undefined) {
      done(undefined, undefined);
      return;
    }
    const text = (more ? Buffer.concat(more) : first).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch {
      done(invalidJson());
      return;
    }
    done(undefined, body);
  });
}
