/**
 * One round of alternating slices, shared by `npm run bench` (keyward and
 * the baseline) and `npm run bench:ab` (two keywards and the baseline).
 *
 * This VM's speed swings over seconds and moves every process alike, so
 * servers measured one after the other compare two stretches of the host,
 * not two servers. Here every server of the round runs the whole time and
 * the load generator takes turns among them in short slices, in the order
 * A B C C B A A B C …: each server's slices sit as often before as after
 * each other's, so a drift within the round cancels.
 */
import { combine, load, steadyRate, type LoadStats } from './load.ts';
import { cpuSeconds, Samples, type Child } from './util.ts';

export interface SliceTarget {
  url: string;
  child: Child;
}

export interface SlicePlan {
  connections: number;
  warmupS: number;
  slices: number;
  sliceS: number;
  requests: NonNullable<Parameters<typeof load>[0]['requests']>;
}

export interface SlicedResult extends LoadStats {
  /** req/s of each of its slices, in order. */
  slices: number[];
  /** The CPU it used (in cores) while the others' slices ran: its background work that fell outside its own slices. */
  idleCpu: number;
  /** Requests it answered in this round, warm-up included (to read a CPU profile per request). */
  served: number;
}

/** The order of slice pair `pair`: forwards, then backwards, and so on. */
export const sliceOrder = <T>(order: readonly T[], pair: number): readonly T[] => (pair % 2 === 0 ? order : [...order].reverse());

/**
 * Warm each target up in `order`, then measure them in `plan.slices` turns
 * each. Throws when a server answers anything but 2xx (a benchmark of
 * errors would mean nothing).
 */
export async function measureInSlices<Name extends string>(
  order: readonly Name[],
  targets: ReadonlyMap<Name, SliceTarget>,
  plan: SlicePlan,
  onWarm?: (name: Name) => void,
): Promise<Map<Name, SlicedResult>> {
  const target = (name: Name): SliceTarget => targets.get(name)!;
  const served = new Map<Name, number>(order.map((name) => [name, 0]));
  for (const name of order) {
    onWarm?.(name);
    const warm = await load({ url: target(name).url, connections: plan.connections, duration: plan.warmupS, requests: plan.requests }, target(name).child.pid);
    served.set(name, warm.ok);
  }
  const slices = new Map<Name, LoadStats[]>(order.map((name) => [name, []]));
  const samples = new Map<Name, Samples>(order.map((name) => [name, new Samples()]));
  // CPU each server used while the others were measured (timers, background GC): reported, so a slice boundary hides nothing.
  const idleCpuSeconds = new Map<Name, number>(order.map((name) => [name, 0]));
  const idleWall = new Map<Name, number>(order.map((name) => [name, 0]));
  for (let pair = 0; pair < plan.slices; pair++) {
    for (const name of sliceOrder(order, pair)) {
      const idle = order.filter((other) => other !== name);
      const idleBefore = idle.map((other) => cpuSeconds(target(other).child.pid));
      const r = await load(
        { url: target(name).url, connections: plan.connections, duration: plan.sliceS, timeout: 30, requests: plan.requests },
        target(name).child.pid,
        undefined,
        samples.get(name),
      );
      idle.forEach((other, i) => {
        idleCpuSeconds.set(other, idleCpuSeconds.get(other)! + cpuSeconds(target(other).child.pid) - idleBefore[i]!);
        idleWall.set(other, idleWall.get(other)! + r.wall);
      });
      if (r.other > 0 || r.errors > 0) {
        const exit = target(name).child.process.exitCode ?? target(name).child.process.signalCode;
        throw new Error(
          `${name} answered ${r.other} non-2xx and ${r.errors} errors${exit === null ? '' : ` (it exited: ${exit})`}; its output:\n${target(name).child.output().slice(-4000)}`,
        );
      }
      slices.get(name)!.push(r);
    }
  }
  return new Map(
    order.map((name) => {
      const mine = slices.get(name)!;
      const r = combine(mine, samples.get(name)!);
      return [name, { ...r, slices: mine.map(steadyRate), idleCpu: idleCpuSeconds.get(name)! / idleWall.get(name)!, served: served.get(name)! + r.ok }];
    }),
  );
}
