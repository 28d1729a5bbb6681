/**
 * Alerts to a webhook: JSON POSTs sent in the background (never on the
 * request path), signed (core/webhook-signature.ts) when a secret is set,
 * retried with exponential backoff. Throttling alerts are rate-limited so an
 * attack cannot turn into a flood of alerts; incident notifications are not,
 * and report each attempt (shown on the incident).
 */
import pRetry from 'p-retry';
import type { NotificationAttempt } from '../core/model.ts';
import { SIGNATURE_HEADER, signWebhook } from '../core/webhook-signature.ts';
import type { Logger } from './logger.ts';

export interface Alert {
  type: 'auth.throttled' | 'key.compromised' | 'key.leaked';
  at: string;
  [field: string]: unknown;
}

export interface SendOptions {
  /** Called after each delivery attempt (or once, when no webhook is configured). */
  onAttempt?: (attempt: NotificationAttempt) => void;
  /** Incident notifications: never dropped by the rate limit. */
  always?: boolean;
}

/** Where incidents are notified (the AlertSender; tests and embedders may pass another). */
export interface Notifier {
  send(alert: Alert, options?: SendOptions): void;
}

export interface AlertSenderOptions {
  webhookUrl: string | undefined;
  /** Signs each delivery (Keyward-Signature); unset: deliveries are unsigned. */
  webhookSecret?: string | undefined;
  logger: Logger;
  /** Most alerts sent per minute; the rest are counted and reported in the next one. */
  perMinute?: number;
  retries?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
}

/** The webhook answered, but not with 2xx. */
class WebhookRefused extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`the alert webhook answered HTTP ${status}`);
    this.status = status;
  }
}

export class AlertSender implements Notifier {
  readonly #options: Required<Omit<AlertSenderOptions, 'webhookUrl' | 'webhookSecret'>> & { webhookUrl: string | undefined; webhookSecret: string | undefined };
  #windowStart = 0;
  #sentInWindow = 0;
  #suppressed = 0;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: AlertSenderOptions) {
    this.#options = { perMinute: 10, retries: 4, baseDelayMs: 500, timeoutMs: 5_000, webhookSecret: undefined, ...options };
  }

  /** Returns at once; delivery happens in the background. */
  send(alert: Alert, options: SendOptions = {}): void {
    this.#options.logger.warn({ alert }, `alert: ${alert.type}`);
    if (!this.#options.webhookUrl) {
      options.onAttempt?.({ at: new Date().toISOString(), attempt: 0, outcome: 'not-configured', httpStatus: null });
      return;
    }
    let payload: Record<string, unknown> = alert;
    if (!options.always) {
      const now = Date.now();
      if (now - this.#windowStart >= 60_000) {
        this.#windowStart = now;
        this.#sentInWindow = 0;
      }
      if (this.#sentInWindow >= this.#options.perMinute) {
        this.#suppressed++;
        return;
      }
      this.#sentInWindow++;
      payload = { ...alert, suppressedSinceLast: this.#suppressed };
      this.#suppressed = 0;
    }
    const delivery = this.#deliver(this.#options.webhookUrl, JSON.stringify(payload), options.onAttempt);
    this.#inFlight.add(delivery);
    void delivery.finally(() => this.#inFlight.delete(delivery));
  }

  async #deliver(url: string, body: string, onAttempt: SendOptions['onAttempt']): Promise<void> {
    const { retries, baseDelayMs, timeoutMs, logger, webhookSecret } = this.#options;
    let attempt = 0;
    const post = async () => {
      attempt++;
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'keyward-alerts' };
      // Signed per attempt, so a retry carries a fresh timestamp inside the receiver's replay window.
      if (webhookSecret) headers[SIGNATURE_HEADER] = signWebhook(webhookSecret, body, Math.floor(Date.now() / 1000));
      const at = new Date().toISOString();
      let response: Response;
      try {
        response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        onAttempt?.({ at, attempt, outcome: 'unreachable', httpStatus: null });
        throw error;
      }
      onAttempt?.({ at, attempt, outcome: response.ok ? 'delivered' : 'refused', httpStatus: response.status });
      if (!response.ok) throw new WebhookRefused(response.status);
    };
    try {
      // Exponential backoff (baseDelayMs, twice that, …); the timers never keep the process alive.
      await pRetry(post, {
        retries,
        minTimeout: baseDelayMs,
        factor: 2,
        randomize: false,
        unref: true,
        onFailedAttempt: ({ error, attemptNumber }) => {
          const attempt = attemptNumber - 1;
          if (error instanceof WebhookRefused) logger.warn({ status: error.status, attempt }, 'alert webhook refused the alert');
          else logger.warn({ err: error.message, attempt }, 'alert webhook unreachable');
        },
      });
    } catch {
      logger.error('alert dropped after retries');
    }
  }

  /** For shutdown and tests: wait for deliveries under way. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }
}
