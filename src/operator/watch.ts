/**
 * Informers that keep going, and keep what they know. A list (in pages), then
 * a watch from the list's resourceVersion with bookmarks; a watch that ends
 * the ordinary way (the server's timeout, the client's inactivity timeout) is
 * resumed from the last resourceVersion seen, without a list. One that fails
 * (an error, a reset, a watch silent too long, a resourceVersion too old) is
 * restarted with backoff by listing again and comparing resourceVersions with
 * the cache: only what changed, appeared or vanished is reported, so a
 * restart does not re-queue every object.
 *
 * Why not client-node's informer (ListWatch): it has no transform (client-go's
 * SetTransform), so every Secret would be cached whole with its managedFields
 * and values; no bookmarks or pages; and it stops for good on most errors.
 * (Failures arrive as events at any time, also long after a start succeeded:
 * a restart timer, not a retried promise, so p-retry does not fit.)
 */
import { Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';

/** What the cache keeps of an object: at least its name, namespace and resourceVersion. */
export interface Cached {
  metadata: {
    name: string;
    namespace?: string | undefined;
    resourceVersion?: string | undefined;
  };
}

export type ChangeType = 'add' | 'update' | 'delete';

export interface WatchOptions<T extends KubernetesObject, C extends Cached> {
  kubeConfig: KubeConfig;
  /** The collection's path, e.g. /api/v1/namespaces/team-a/secrets. */
  path: string;
  /** One page of the list. */
  list: (page: { limit: number; continue: string | undefined }) => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  /** What the cache keeps of each object (strip what the operator never reads); default: all of it. */
  transform?: (object: T) => C;
  onChange: (object: C, type: ChangeType) => void;
  onError?: (error: unknown, restartInMs: number) => void;
  /** Every so often, everything cached (time-based work must not wait for a change). */
  resync?: { everyMs: number; onResync: (objects: readonly C[]) => void };
  /** Restart (list again) when nothing arrived for this long. */
  silentMs: number;
  /** List page size (client-go's pager uses 500). */
  pageSize?: number;
}

const keyOf = (object: Cached): string => `${object.metadata.namespace ?? ''}/${object.metadata.name}`;

/** Approximate bytes an entry holds (its JSON), for the cache-size metric. */
const sizeOf = (object: Cached): number => JSON.stringify(object).length;

/** A watch event's object as it arrives: a resource, a bookmark or a Status. */
type WatchObject = KubernetesObject & { code?: number; message?: string };

export class ResilientInformer<T extends KubernetesObject, C extends Cached = T & Cached> {
  readonly #options: WatchOptions<T, C>;
  readonly #transform: (object: T) => C;
  readonly #watch: Watch;
  readonly #cache = new Map<string, { object: C; bytes: number }>();
  #bytes = 0;
  #resourceVersion: string | undefined;
  #request: AbortController | undefined;
  /** Bumped on each (re)start: callbacks of an abandoned watch or list are ignored. */
  #generation = 0;
  #lastActivity = Date.now();
  #failures = 0;
  #stopped = false;
  #synced = false;
  #timers: NodeJS.Timeout[] = [];
  #restartTimer: NodeJS.Timeout | undefined;
  /** Restarts after a failure (each lists again). */
  restarts = 0;
  /** Lists completed, the first included. */
  lists = 0;

  constructor(options: WatchOptions<T, C>) {
    this.#options = options;
    this.#transform = options.transform ?? ((object) => object as unknown as C);
    this.#watch = new Watch(options.kubeConfig);
    // client-node aborts a watch that received nothing for 30 s; the API server sends a bookmark about once a
    // minute, so allow a little more than that before a quiet watch is resumed (a field typed private, public in JS).
    (this.#watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 75_000;
  }

  get synced(): boolean {
    return this.#synced;
  }

  get(namespace: string | undefined, name: string): C | undefined {
    return this.#cache.get(`${namespace ?? ''}/${name}`)?.object;
  }

  list(): C[] {
    return [...this.#cache.values()].map((entry) => entry.object);
  }

  /** Objects cached, and the bytes of their JSON (what the cache holds, roughly). */
  get stats(): { objects: number; bytes: number } {
    return { objects: this.#cache.size, bytes: this.#bytes };
  }

  async start(): Promise<void> {
    await this.#listAndWatch(this.#generation);
    const { resync } = this.#options;
    if (resync) this.#timers.push(setInterval(() => resync.onResync(this.list()), resync.everyMs));
    this.#timers.push(
      setInterval(() => {
        if (!this.#stopped && Date.now() - this.#lastActivity > this.#options.silentMs) this.#restart(new Error('watch silent'), 0);
      }, Math.max(1_000, Math.floor(this.#options.silentMs / 4))),
    );
    for (const timer of this.#timers) timer.unref();
  }

  /** Lists (reporting only differences from the cache), then watches from the list's resourceVersion. */
  async #listAndWatch(generation: number): Promise<void> {
    this.#lastActivity = Date.now();
    let listed: { items: T[]; resourceVersion: string | undefined };
    try {
      listed = await this.#listAll();
    } catch (error) {
      // Not synced (e.g. the list was forbidden): /readyz stays 503 while #restart tries again.
      if (generation === this.#generation) this.#restart(error);
      return;
    }
    if (generation !== this.#generation || this.#stopped) return;
    this.#replace(listed.items.map((item) => this.#transform(item)));
    this.#resourceVersion = listed.resourceVersion;
    this.#synced = true;
    await this.#startWatch(generation);
  }

  async #listAll(): Promise<{
    items: T[];
    resourceVersion: string | undefined;
  }> {
    const items: T[] = [];
    let token: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.#options.list({
        limit: this.#options.pageSize ?? 500,
        continue: token,
      });
      items.push(...page.items);
      // Every page of a list is of one snapshot: its resourceVersion is where the watch starts.
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      token = page.metadata?._continue || undefined;
    } while (token);
    this.lists++;
    return { items, resourceVersion };
  }

  /** The cache becomes the list: new objects are added, changed ones (another resourceVersion) updated, missing ones deleted. */
  #replace(objects: C[]): void {
    const seen = new Set<string>();
    for (const object of objects) {
      seen.add(keyOf(object));
      this.#put(object);
    }
    for (const [key, { object }] of this.#cache) {
      if (!seen.has(key)) this.#remove(object);
    }
  }

  #put(object: C): void {
    const key = keyOf(object);
    const before = this.#cache.get(key);
    if (before && before.object.metadata.resourceVersion === object.metadata.resourceVersion) return;
    const bytes = sizeOf(object);
    this.#bytes += bytes - (before?.bytes ?? 0);
    this.#cache.set(key, { object, bytes });
    this.#options.onChange(object, before ? 'update' : 'add');
  }

  #remove(object: C): void {
    const key = keyOf(object);
    const before = this.#cache.get(key);
    if (!before) return;
    this.#bytes -= before.bytes;
    this.#cache.delete(key);
    this.#options.onChange(before.object, 'delete');
  }

  async #startWatch(generation: number): Promise<void> {
    const params: Record<string, string | boolean | number> = {
      allowWatchBookmarks: true,
      // The server ends a watch after this long (5-10 min, spread as client-go does); it is then resumed.
      timeoutSeconds: 300 + Math.floor(Math.random() * 300),
      ...(this.#resourceVersion ? { resourceVersion: this.#resourceVersion } : {}),
      ...(this.#options.labelSelector ? { labelSelector: this.#options.labelSelector } : {}),
    };
    let gone = false;
    let request: AbortController;
    try {
      request = await this.#watch.watch(
        this.#options.path,
        params,
        (type: string, object: WatchObject) => {
          if (generation !== this.#generation) return;
          this.#lastActivity = Date.now();
          if (type === 'ERROR') {
            // 410 Gone: the resourceVersion is older than the server keeps; list again.
            if (object.code === 410) gone = true;
            return;
          }
          if (type === 'ADDED' || type === 'MODIFIED') this.#put(this.#transform(object as T));
          else if (type === 'DELETED') this.#remove(this.#transform(object as T));
          this.#resourceVersion = object.metadata?.resourceVersion ?? this.#resourceVersion;
        },
        (error: unknown) => {
          if (generation !== this.#generation || this.#stopped) return;
          this.#request = undefined;
          const ordinaryEnd = !error || (error as Error).name === 'TimeoutError';
          if (gone || (error as { statusCode?: number } | null)?.statusCode === 410) this.#restart(new Error('resourceVersion too old (410 Gone)'), 0, false);
          else if (ordinaryEnd && this.#resourceVersion) void this.#startWatch(generation);
          else this.#restart(error);
        },
      );
    } catch (error) {
      if (generation === this.#generation) this.#restart(error);
      return;
    }
    if (generation !== this.#generation) {
      request.abort();
      return;
    }
    this.#request = request;
    this.#lastActivity = Date.now();
    this.#failures = 0;
  }

  /** Abandons the watch under way; after `delayMs` (backoff by default), lists and watches again. */
  #restart(error: unknown, delayMs?: number, failure = true): void {
    if (this.#stopped || this.#restartTimer) return;
    if (failure) this.#failures++;
    const delay = delayMs ?? Math.min(30_000, 250 * 2 ** Math.min(this.#failures, 7));
    if (failure) this.#options.onError?.(error, delay);
    const generation = ++this.#generation;
    this.#request?.abort();
    this.#request = undefined;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      this.restarts++;
      void this.#listAndWatch(generation);
    }, delay);
    this.#restartTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    for (const timer of this.#timers) clearInterval(timer);
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#request?.abort();
  }
}
