/**
 * Why the operator's Kubernetes calls are slow (a finding of bench/operator.ts):
 * @kubernetes/client-node 2.0.1 builds a new undici Agent for every typed API
 * request (KubeConfig.applySecurityAuthentication -> createDispatcher), so no
 * connection is ever reused: each call pays a TCP connect, a TLS handshake and
 * a fresh secure context (the CA parsed again), and the abandoned agents keep
 * their sockets open until undici's keep-alive timeout.
 *
 * This compares, against a real control plane, N sequential and N concurrent
 * GETs of one ApiKey through CustomObjectsApi with the stock KubeConfig and
 * with a KubeConfig that keeps the first dispatcher it built and reuses it
 * (the change suggested for src/operator). Reports wall time, CPU of this
 * process, and the TCP connections it had open to the API server.
 *
 *   npx node bench/operator-kubeclient.ts [N=400]
 */
import { execFileSync } from 'node:child_process';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { PooledKubeConfig } from '../src/operator/kubeconfig.ts';
import { startControlPlane } from '../src/devcluster/controlplane.ts';
import { fmt, fmtInt, log, pool, Samples } from './util.ts';


const N = Number(process.argv[2] ?? 400);
const cp = await startControlPlane({ controllerManager: false });
try {
  const port = new URL(cp.server).port;
  const connections = () => {
    try {
      return execFileSync('ss', ['-tan', `( dport = :${port} )`], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('ESTAB')).length;
    } catch {
      return Number.NaN;
    }
  };
  const ns = 'default';
  await cp.kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: 'keyward.dev',
    version: 'v1alpha1',
    namespace: ns,
    plural: 'apikeys',
    body: { apiVersion: 'keyward.dev/v1alpha1', kind: 'ApiKey', metadata: { name: 'probe' }, spec: { role: 'viewer' } },
  });
  const rows: string[] = ['| client | mode | requests | wall s | req/s | p50 ms | p99 ms | CPU ms/request (this process) | peak ESTAB connections to the API server |', '|---|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const round of [1, 2]) {
    for (const [label, make] of [
      ['stock KubeConfig', () => new KubeConfig()],
      ['one shared dispatcher', () => new PooledKubeConfig()],
    ] as const) {
      const kc = make();
      kc.loadFromFile(cp.kubeconfigPath);
      const api = kc.makeApiClient(CustomObjectsApi);
      for (const [mode, concurrency] of [
        ['sequential', 1],
        ['8 concurrent', 8],
      ] as const) {
        const samples = new Samples();
        let peak = 0;
        const sampler = setInterval(() => (peak = Math.max(peak, connections())), 100);
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await pool(Array.from({ length: N }, (_, i) => i), concurrency, async () => {
          const t = performance.now();
          await api.getNamespacedCustomObject({ group: 'keyward.dev', version: 'v1alpha1', namespace: ns, plural: 'apikeys', name: 'probe' });
          samples.add(performance.now() - t);
        });
        const wall = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        clearInterval(sampler);
        peak = Math.max(peak, connections());
        const [p50, p99] = samples.percentiles(50, 99);
        const row = `| ${label} (round ${round}) | ${mode} | ${N} | ${fmt(wall, 2)} | ${fmtInt(N / wall)} | ${fmt(p50!, 2)} | ${fmt(p99!, 2)} | ${fmt((cpu.user + cpu.system) / 1000 / N, 2)} | ${peak} |`;
        rows.push(row);
        log(row);
        await new Promise((r) => setTimeout(r, 5_000)); // let idle sockets close between runs
      }
    }
  }
  process.stdout.write(`\n${rows.join('\n')}\n`);
} finally {
  await cp.stop();
}
process.exit(0);
