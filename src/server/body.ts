/**
 * The one rule both body paths apply (the Express routes and the fast verify
 * path): which requests carry a body, and whether it is taken. A body must be
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

export const hasBody = (req: IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** Why a request's body is not taken, or undefined when it has none or it is JSON in UTF-8. */
export function bodyRefusal(req: IncomingMessage): KeywardError | undefined {
  if (!hasBody(req)) return undefined;
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
