/**
 * The load generator shared by the benchmarks: one autocannon run with exact
 * latency percentiles and the CPU each side used, and a JSON API call.
 */
import autocannon, { type AutocannonOptions, type AutocannonResult } from 'autocannon';
import { cpuSeconds, machineTicks, Samples } from './util.ts';

export interface LoadStats {
  ok: number;
  other: number;
  errors: number;
  timeouts: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  serverCpu: number;
  /** Server CPU time per successful request, in microseconds: robust to a busy machine. */
  serverUsPerRequest: number;
  clientCpu: number;
  otherCpu: number;
  stoppedEarly: boolean;
  /** Seconds from the start to the first 2xx response (the load generator's own start-up is most of it). */
  firstResponseS: number;
  /** Wall-clock seconds of the run and the CPU-seconds behind the fractions above, so that runs can be combined. */
  wall: number;
  serverCpuSeconds: number;
  clientCpuSeconds: number;
  otherCpuSeconds: number;
}

/**
 * One autocannon run. Latency samples are taken from every 2xx 'response'
 * event (exact, sub-millisecond; autocannon's own histogram has 1 ms
 * resolution), throughput is 2xx responses / (last response - start).
 */
export function load(options: AutocannonOptions, serverPid: number, capSeconds?: number, into: Samples = new Samples()): Promise<LoadStats> {
  return new Promise((resolve, reject) => {
    // Latencies go into `into` (a shared one combines several runs' percentiles); this run's own are computed from its part.
    const samples = into;
    const first = samples.count;
    let ok = 0;
    let other = 0;
    let last = 0;
    let firstAt = 0;
    let stoppedEarly = false;
    const cpu0 = cpuSeconds(serverPid);
    const client0 = process.cpuUsage();
    const machine0 = machineTicks();
    const start = performance.now();
    const instance = autocannon(options, (error: Error | null, result: AutocannonResult) => {
      clearTimeout(cap);
      if (error) {
        reject(error);
        return;
      }
      const end = last > 0 ? last : performance.now();
      const seconds = (end - start) / 1000;
      const wall = (performance.now() - start) / 1000;
      const client = process.cpuUsage(client0);
      const machine1 = machineTicks();
      const serverCpuSeconds = cpuSeconds(serverPid) - cpu0;
      const serverCpu = serverCpuSeconds / wall;
      const clientCpu = (client.user + client.system) / 1e6 / wall;
      const [p50, p99, max] = samples.percentilesFrom(first, 50, 99, 100);
      const otherCpuSeconds = Math.max(0, machine1.busy - machine0.busy - serverCpuSeconds - (client.user + client.system) / 1e6);
      resolve({
        ok,
        other,
        errors: result.errors,
        timeouts: result.timeouts,
        seconds,
        perSecond: ok / seconds,
        p50: p50!,
        p99: p99!,
        max: max!,
        serverCpu,
        serverUsPerRequest: (serverCpuSeconds * 1e6) / Math.max(1, ok),
        clientCpu,
        otherCpu: otherCpuSeconds / wall,
        stoppedEarly,
        firstResponseS: firstAt > 0 ? (firstAt - start) / 1000 : Number.NaN,
        wall,
        serverCpuSeconds,
        clientCpuSeconds: (client.user + client.system) / 1e6,
        otherCpuSeconds,
      });
    });
    instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
      if (status >= 200 && status < 300) {
        ok++;
        samples.add(responseTime);
        last = performance.now();
        if (firstAt === 0) firstAt = last;
      } else other++;
    });
    const cap =
      capSeconds === undefined
        ? undefined
        : setTimeout(() => {
            stoppedEarly = true;
            instance.stop();
          }, capSeconds * 1000);
  });
}

/** A run's rate from its first response to its last (what a short run says about the server; see combine). */
export const steadyRate = (r: LoadStats): number => (r.ok - 1) / (r.seconds - r.firstResponseS);

/**
 * Several short runs against one server as one: totals over their time,
 * percentiles over all their samples (collected in `samples`). Throughput
 * counts each run from its first response to its last: the load generator's
 * own start-up (building its requests, opening the connections: most of a
 * second each time) is not the server's time, and in short runs its scatter
 * would be a large part of the figure.
 */
export function combine(runs: readonly LoadStats[], samples: Samples): LoadStats {
  const sum = (pick: (r: LoadStats) => number): number => runs.reduce((total, r) => total + pick(r), 0);
  const ok = sum((r) => r.ok);
  const seconds = sum((r) => r.seconds - r.firstResponseS);
  const wall = sum((r) => r.wall);
  const serverCpuSeconds = sum((r) => r.serverCpuSeconds);
  const [p50, p99, max] = samples.percentiles(50, 99, 100);
  return {
    ok,
    other: sum((r) => r.other),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    seconds,
    // Each run's first response starts its clock, so it is not counted in its rate.
    perSecond: (ok - runs.length) / seconds,
    p50: p50!,
    p99: p99!,
    max: max!,
    serverCpu: serverCpuSeconds / wall,
    serverUsPerRequest: (serverCpuSeconds * 1e6) / Math.max(1, ok),
    clientCpu: sum((r) => r.clientCpuSeconds) / wall,
    otherCpu: sum((r) => r.otherCpuSeconds) / wall,
    stoppedEarly: runs.some((r) => r.stoppedEarly),
    firstResponseS: sum((r) => r.firstResponseS),
    wall,
    serverCpuSeconds,
    clientCpuSeconds: sum((r) => r.clientCpuSeconds),
    otherCpuSeconds: sum((r) => r.otherCpuSeconds),
  };
}

export async function api(url: string, secret: string, method: string, path: string, body?: unknown, timeoutMs = 120_000): Promise<{ status: number; json: any }> {
  const response = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: response.status, json: await response.json() };
}
