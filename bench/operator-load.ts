/**
 * Helpers for bench/operator.ts: an open-loop, steady-rate HTTP load (every
 * request's send and completion time and answer kept, so requests can be
 * classified against the end of a rotation overlap), a watch-based tracker of
 * ApiKey readiness, /proc readings and operator /metrics parsing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Watch, type KubeConfig, type KubernetesListObject } from '@kubernetes/client-node';
import type { ApiKeyResource } from '../src/operator/types.ts';

// ---------------------------------------------------------------- steady-rate load

export interface Sample {
  /** performance.timeOrigin-relative ms converted to epoch ms (Date.now() scale, sub-ms). */
  sentAt: number;
  doneAt: number;
  status: number;
  valid: boolean | undefined;
  code: string | undefined;
}

export interface SteadyLoad {
  samples: Sample[];
  /** Stops sending; resolves when every request in flight has answered (or timed out). */
  stop(): Promise<void>;
  readonly inFlight: number;
  readonly dropped: number;
}

const now = (): number => performance.timeOrigin + performance.now();

/**
 * Sends `rate` POSTs per second (open loop: the schedule does not wait for
 * answers, so a stall shows up as errors or latency, not as a lower rate),
 * on keep-alive connections. At most `maxInFlight` requests are outstanding;
 * a send that would exceed it is counted as dropped (and as a failure).
 */
export function steadyLoad(opts: { url: string; path: string; headers: Record<string, string>; body: string; rate: number; maxInFlight?: number; timeoutMs?: number }): SteadyLoad {
  const target = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const samples: Sample[] = [];
  const body = Buffer.from(opts.body);
  const headers = { ...opts.headers, 'content-type': 'application/json', 'content-length': String(body.length) };
  const maxInFlight = opts.maxInFlight ?? 512;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  let inFlight = 0;
  let dropped = 0;
  let sent = 0;
  let stopped = false;
  let drained: (() => void) | undefined;
  const start = now();

  const one = () => {
    const sample: Sample = { sentAt: now(), doneAt: 0, status: 0, valid: undefined, code: undefined };
    samples.push(sample);
    if (inFlight >= maxInFlight) {
      dropped++;
      sample.doneAt = sample.sentAt;
      sample.code = 'DROPPED_CLIENT_SIDE';
      return;
    }
    inFlight++;
    const finish = () => {
      if (sample.doneAt !== 0) return;
      sample.doneAt = now();
      inFlight--;
      if (stopped && inFlight === 0) drained?.();
    };
    const req = request(
      { host: target.hostname, port: target.port, path: opts.path, method: 'POST', headers, agent, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          sample.status = res.statusCode ?? 0;
          try {
            const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { valid?: boolean; code?: string; error?: { code?: string } };
            sample.valid = json.valid;
            sample.code = json.code ?? json.error?.code;
          } catch {
            sample.code = 'UNPARSABLE';
          }
          finish();
        });
        res.on('error', () => finish());
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => {
      sample.code ??= `CLIENT_ERROR ${(error as Error).message}`;
      finish();
    });
    req.end(body);
  };

  const timer = setInterval(() => {
    const due = Math.floor(((now() - start) / 1000) * opts.rate);
    // Catch up after a timer hiccup, but never burst more than 1/4 s worth.
    if (due - sent > opts.rate / 4) sent = due - Math.ceil(opts.rate / 4);
    while (sent < due) {
      sent++;
      one();
    }
  }, 2);

  return {
    samples,
    get inFlight() {
      return inFlight;
    },
    get dropped() {
      return dropped;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      agent.destroy();
    },
  };
}

// ---------------------------------------------------------------- ApiKey readiness

export const isReady = (o: ApiKeyResource | undefined): boolean =>
  !!o?.status?.keyId && !o.status.pending && (o.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * Watches the ApiKeys of one namespace and records, per name, when it was
 * first seen (ADDED) and when it first became Ready (Ready=True with a key id
 * and no issue under way). Restarts its watch when it ends (client-node aborts
 * a watch silent for 30 s), re-listing so nothing is missed.
 */
export class ReadyTracker {
  readonly addedAt = new Map<string, number>();
  readonly readyAt = new Map<string, number>();
  readonly latest = new Map<string, ApiKeyResource>();
  readonly #kubeConfig: KubeConfig;
  readonly #namespace: string;
  readonly #list: () => Promise<KubernetesListObject<ApiKeyResource>>;
  #abort: AbortController | undefined;
  #stopped = false;
  #waiters: { name: string; resolve: () => void }[] = [];
  restarts = 0;

  constructor(kubeConfig: KubeConfig, namespace: string, list: () => Promise<KubernetesListObject<ApiKeyResource>>) {
    this.#kubeConfig = kubeConfig;
    this.#namespace = namespace;
    this.#list = list;
  }

  async start(): Promise<void> {
    const listed = await this.#list();
    for (const item of listed.items) this.#seen(item);
    const path = `/apis/keyward.dev/v1alpha1/namespaces/${this.#namespace}/apikeys`;
    this.#abort = await new Watch(this.#kubeConfig).watch(
      path,
      { resourceVersion: listed.metadata?.resourceVersion, allowWatchBookmarks: true },
      (type, object: ApiKeyResource) => {
        if (type === 'ADDED' || type === 'MODIFIED') this.#seen(object);
      },
      () => {
        if (this.#stopped) return;
        this.restarts++;
        setTimeout(() => void this.start().catch(() => {}), 100);
      },
    );
  }

  #seen(object: ApiKeyResource): void {
    const t = now();
    const name = object.metadata.name;
    if (!this.addedAt.has(name)) this.addedAt.set(name, t);
    this.latest.set(name, object);
    if (isReady(object) && !this.readyAt.has(name)) {
      this.readyAt.set(name, t);
      this.#waiters = this.#waiters.filter((w) => (w.name === name ? (w.resolve(), false) : true));
    }
  }

  /** Resolves when `name` is Ready (recorded time in readyAt), or rejects after timeoutMs. */
  waitReady(name: string, timeoutMs: number): Promise<void> {
    if (this.readyAt.has(name)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ApiKey ${this.#namespace}/${name} not Ready after ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({ name, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
  }
}

// ---------------------------------------------------------------- /proc and /metrics

/** VmRSS and VmHWM (peak RSS since the process started) in MiB. */
export function memory(pid: number | undefined): { rss: number; hwm: number } {
  if (!pid) return { rss: Number.NaN, hwm: Number.NaN };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) / 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: Number.NaN, hwm: Number.NaN };
  }
}

/** Pids of processes whose command line contains `needle` and starts with a binary named `binary`. */
export function findPids(binary: string, needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args[0]?.endsWith(`/${binary}`) && args.some((a) => a.includes(needle))) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Keeps the highest VmRSS seen per named process, sampled every `everyMs`. */
export class RssSampler {
  readonly peak = new Map<string, number>();
  readonly #pids: Map<string, number | undefined>;
  readonly #timer: NodeJS.Timeout;
  constructor(pids: Record<string, number | undefined>, everyMs = 200) {
    this.#pids = new Map(Object.entries(pids));
    this.#timer = setInterval(() => this.sample(), everyMs);
    this.#timer.unref();
  }
  sample(): void {
    for (const [name, pid] of this.#pids) {
      const { rss } = memory(pid);
      if (Number.isFinite(rss) && rss > (this.peak.get(name) ?? 0)) this.peak.set(name, rss);
    }
  }
  reset(): void {
    this.peak.clear();
    this.sample();
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

export type Metrics = Map<string, number>;

/** Prometheus text -> "name{labels}" -> value (labels as printed). */
export async function scrape(url: string): Promise<Metrics> {
  const out: Metrics = new Map();
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const at = line.lastIndexOf(' ');
      out.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
  } catch {
    // the operator may be busy; a missing scrape is reported as n/a
  }
  return out;
}

/** Sum of every series of `name` whose labels contain all of `labels` (e.g. 'result="success"'). */
export function metric(m: Metrics, name: string, ...labels: string[]): number {
  let sum = 0;
  let found = false;
  for (const [key, value] of m) {
    const base = key.includes('{') ? key.slice(0, key.indexOf('{')) : key;
    if (base !== name || !labels.every((l) => key.includes(l))) continue;
    sum += value;
    found = true;
  }
  return found ? sum : Number.NaN;
}
