/**
 * Informers that keep going. client-node's informer stops for good on most
 * watch errors; this wrapper restarts it with backoff, relists when the watch
 * has been silent too long (a dead connection may never report an error), and
 * reports every object on a periodic resync so time-based work is never missed.
 * (Failures arrive as events at any time, also long after a start succeeded,
 * and the backoff resets on 'connect': a restart timer, not a retried promise,
 * so p-retry does not fit.)
 */
import { makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';

export interface WatchOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  onChange: (object: T, type: 'add' | 'update' | 'delete' | 'resync') => void;
  onError?: (error: unknown, restartInMs: number) => void;
  resyncMs: number;
  /** Restart the watch when nothing arrived for this long. */
  silentMs: number;
}

export class ResilientInformer<T extends KubernetesObject> {
  readonly #options: WatchOptions<T>;
  #informer: (Informer<T> & ObjectCache<T>) | undefined;
  #lastActivity = Date.now();
  #failures = 0;
  #stopped = false;
  #synced = false;
  #timers: NodeJS.Timeout[] = [];
  #restartTimer: NodeJS.Timeout | undefined;
  restarts = 0;

  constructor(options: WatchOptions<T>) {
    this.#options = options;
  }

  get synced(): boolean {
    return this.#synced;
  }

  list(): readonly T[] {
    return this.#informer?.list() ?? [];
  }

  async start(): Promise<void> {
    await this.#startInformer();
    this.#timers.push(
      setInterval(() => {
        for (const object of this.list()) this.#options.onChange(object, 'resync');
      }, this.#options.resyncMs),
      setInterval(() => {
        if (!this.#stopped && Date.now() - this.#lastActivity > this.#options.silentMs) this.#restart(new Error('watch silent'), 0);
      }, Math.max(1_000, Math.floor(this.#options.silentMs / 4))),
    );
    for (const timer of this.#timers) timer.unref();
  }

  async #startInformer(): Promise<void> {
    const { kubeConfig, path, list, labelSelector, onChange } = this.#options;
    const informer = makeInformer<T>(kubeConfig, path, list, labelSelector);
    const touch = () => {
      this.#lastActivity = Date.now();
    };
    informer.on('add', (o) => (touch(), onChange(o, 'add')));
    informer.on('update', (o) => (touch(), onChange(o, 'update')));
    informer.on('delete', (o) => (touch(), onChange(o, 'delete')));
    informer.on('connect', () => {
      touch();
      this.#failures = 0;
    });
    // client-node reports a failed initial list as an 'error' event, not by rejecting start().
    let failed = false;
    informer.on('error', (error) => {
      failed = true;
      this.#restart(error);
    });
    this.#informer = informer;
    this.#lastActivity = Date.now();
    await informer.start();
    if (failed) return; // not synced (e.g. the list was forbidden): /readyz stays 503 while #restart tries again
    this.#synced = true;
    // Everything listed is reported, so nothing is missed across a restart.
    for (const object of informer.list()) onChange(object, 'resync');
  }

  #restart(error: unknown, delayMs?: number): void {
    if (this.#stopped || this.#restartTimer) return;
    this.#failures++;
    const delay = delayMs ?? Math.min(30_000, 250 * 2 ** Math.min(this.#failures, 7));
    this.#options.onError?.(error, delay);
    const old = this.#informer;
    this.#informer = undefined;
    void old?.stop().catch(() => {});
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      this.restarts++;
      this.#startInformer().catch((e: unknown) => this.#restart(e));
    }, delay);
    this.#restartTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    await this.#informer?.stop().catch(() => {});
  }
}
