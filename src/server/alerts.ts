/**
 * Alerts to a webhook: JSON POSTs sent in the background (never on the
 * request path), retried with exponential backoff, and rate-limited so an
 * attack cannot turn into a flood of alerts.
 */
import pRetry from 'p-retry';
import type { Logger } from './logger.ts';

export interface Alert {
  type: 'auth.throttled';
  at: string;
  [field: string]: unknown;
}

export interface AlertSenderOptions {
  webhookUrl: string | undefined;
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

export class AlertSender {
  readonly #options: Required<Omit<AlertSenderOptions, 'webhookUrl'>> & { webhookUrl: string | undefined };
  #windowStart = 0;
  #sentInWindow = 0;
  #suppressed = 0;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: AlertSenderOptions) {
    this.#options = { perMinute: 10, retries: 4, baseDelayMs: 500, timeoutMs: 5_000, ...options };
  }

  /** Returns at once; delivery happens in the background. */
  send(alert: Alert): void {
    this.#options.logger.warn({ alert }, `alert: ${alert.type}`);
    if (!this.#options.webhookUrl) return;
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
    const payload = { ...alert, suppressedSinceLast: this.#suppressed };
    this.#suppressed = 0;
    const delivery = this.#deliver(this.#options.webhookUrl, payload);
    this.#inFlight.add(delivery);
    void delivery.finally(() => this.#inFlight.delete(delivery));
  }

  async #deliver(url: string, payload: unknown): Promise<void> {
    const { retries, baseDelayMs, timeoutMs, logger } = this.#options;
    const post = async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'keyward-alerts' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(timeoutMs),
      });
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
