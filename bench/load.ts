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
}

/**
 * One autocannon run. Latency samples are taken from every 2xx 'response'
 * event (exact, sub-millisecond; autocannon's own histogram has 1 ms
 * resolution), throughput is 2xx responses / (last response - start).
 */
export function load(options: AutocannonOptions, serverPid: number, capSeconds?: number): Promise<LoadStats> {
  return new Promise((resolve, reject) => {
    const samples = new Samples();
    let ok = 0;
    let other = 0;
    let last = 0;
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
      const [p50, p99, max] = samples.percentiles(50, 99, 100);
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
        otherCpu: Math.max(0, (machine1.busy - machine0.busy) / wall - serverCpu - clientCpu),
        stoppedEarly,
      });
    });
    instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
      if (status >= 200 && status < 300) {
        ok++;
        samples.add(responseTime);
        last = performance.now();
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

export async function api(url: string, secret: string, method: string, path: string, body?: unknown, timeoutMs = 120_000): Promise<{ status: number; json: any }> {
  const response = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: response.status, json: await response.json() };
}
