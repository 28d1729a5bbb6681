/**
 * Signatures of the alert webhook's deliveries, as Stripe's and GitHub's
 * webhooks do it: `Keyward-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
 * of "<t>.<raw body>">` with the shared secret (KEYWARD_ALERT_WEBHOOK_SECRET).
 * A receiver recomputes the HMAC over the raw body it got, compares in
 * constant time, and refuses a timestamp outside its replay window.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'keyward-signature';
/** How old (or how far in the future) a delivery's timestamp may be: 5 minutes, Stripe's default. */
export const DEFAULT_REPLAY_WINDOW_SECONDS = 300;

const hmac = (secret: string, timestamp: number, body: string): string => createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

/** The header value for a delivery of `body` at `timestamp` (unix seconds). */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

export type WebhookVerdict = { ok: true; timestamp: number } | { ok: false; problem: string };

/** Checks a delivery: the header's shape, the replay window, then the HMAC (constant time). */
export function verifyWebhook(
  secret: string,
  header: string | undefined,
  body: string,
  nowSeconds: number,
  windowSeconds: number = DEFAULT_REPLAY_WINDOW_SECONDS,
): WebhookVerdict {
  if (!header) return { ok: false, problem: `no ${SIGNATURE_HEADER} header` };
  const parts = new Map(header.split(',').map((part) => part.trim().split('=', 2) as [string, string]));
  const timestamp = Number(parts.get('t'));
  const signature = parts.get('v1');
  if (!Number.isSafeInteger(timestamp) || !signature || !/^[0-9a-f]{64}$/.test(signature)) return { ok: false, problem: 'malformed signature header' };
  if (Math.abs(nowSeconds - timestamp) > windowSeconds) return { ok: false, problem: 'timestamp outside the replay window' };
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return { ok: false, problem: 'signature does not match' };
  return { ok: true, timestamp };
}
