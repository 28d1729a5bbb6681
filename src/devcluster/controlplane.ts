// A real Kubernetes control plane on loopback: etcd + kube-apiserver (+
// kube-controller-manager), started the way controller-runtime's envtest
// does. Used by the test harness (test/support/controlplane.ts) and by
// `keyward dev cluster`; this file is the one place that knows how to start
// and stop it.
//
// - every component listens on a free 127.0.0.1 port; state lives in one temp dir
// - admin auth: a random bearer token (--token-auth-file, group system:masters)
// - authorization: RBAC; service-account tokens signed with a fresh RSA key
// - each process runs in its own process group; stop() kills the groups and
//   removes the temp dir. If this Node process exits without stop(), an exit
//   hook and a tiny shell watchdog (which also covers SIGKILL) do it instead.

import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import http from 'node:http';
import { freePort } from './ports.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { REPO_ROOT, controlPlaneBinaries, type ControlPlaneBinaries } from './binaries.ts';

export { controlPlaneBinaries, resolveBinaries, testbinCacheDir, type ControlPlaneBinaries } from './binaries.ts';

/** Controllers kube-controller-manager runs by default (enough for GC, rollouts, namespaces, service accounts). */
export const DEFAULT_CONTROLLERS = [
  'garbagecollector',
  'deployment',
  'replicaset',
  'namespace',
  'serviceaccount',
  'serviceaccount-token',
] as const;

/** Where the project's CRDs live; installed on start when the folder exists. */
export const DEFAULT_CRD_DIR = path.join(REPO_ROOT, 'deploy', 'crds');

export interface ControlPlaneOptions {
  /** Binaries to run; default: controlPlaneBinaries() (env vars, then the testbin cache). */
  binaries?: ControlPlaneBinaries;
  /**
   * Directories whose *.yaml / *.yml / *.json files hold CRDs to install on
   * start. Default: [deploy/crds] (skipped when it does not exist). Pass [] to install none.
   */
  crdDirs?: string[];
  /** Extra CRDs: file paths or CRD objects. */
  crds?: (string | V1CustomResourceDefinition | Record<string, unknown>)[];
  /** Run kube-controller-manager (default true); or pick its controllers. */
  controllerManager?: boolean | { controllers: readonly string[] };
  /** Parent of the temp dir (default os.tmpdir()). */
  tmpRoot?: string;
  /** Keep the temp dir (logs, data) after stop(); for debugging. Default: env KEYWARD_CONTROLPLANE_KEEP=1. */
  keep?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Give up starting after this long (default 90 s). */
  startTimeoutMs?: number;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin. */
  input?: string;
  /** Resolve with a non-zero exit code instead of throwing. */
  allowFailure?: boolean;
  /** Kill kubectl after this long (default 60 s). */
  timeoutMs?: number;
  /** Extra environment. */
  env?: NodeJS.ProcessEnv;
}

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager';

export interface ControlPlane {
  /** Temp dir holding data, certs, logs and the kubeconfig. */
  readonly dir: string;
  /** kubeconfig with cluster-admin (system:masters) credentials. */
  readonly kubeconfigPath: string;
  /** The same kubeconfig loaded for @kubernetes/client-node. */
  readonly kubeConfig: KubeConfig;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Bearer token of the admin user (member of system:masters). */
  readonly adminToken: string;
  /** PEM bundle that verifies the API server's serving certificate. */
  readonly caData: string;
  readonly binaries: ControlPlaneBinaries;
  readonly ports: { etcd: number; apiserver: number; controllerManager?: number };
  /** Resolves (never rejects) with a message if a component exits while running (not during stop()). */
  readonly died: Promise<string>;
  /** Run the built kubectl against this control plane. Throws on non-zero exit unless allowFailure. */
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** A KubeConfig for the same server that authenticates with another bearer token (e.g. a ServiceAccount token). */
  kubeConfigForToken(token: string, user?: string): KubeConfig;
  /** Install (create or update) CRDs from files/objects and wait until they are Established. Returns their names. */
  installCRDs(crds: (string | V1CustomResourceDefinition | Record<string, unknown>)[]): Promise<string[]>;
  /** The last lines of a component's log. */
  logs(component: ComponentName, lines?: number): string;
  /** Stop everything and remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

interface Proc {
  name: ComponentName;
  child: ChildProcess;
  logFile: string;
  exited: Promise<void>;
  exitInfo?: string;
}

// ---- process bookkeeping shared by all control planes in this Node process ----

interface LiveState {
  procs: Proc[];
  dir: string;
  keep: boolean;
  watchdog?: ChildProcess;
}

const live = new Set<LiveState>();
let exitHookInstalled = false;

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const s of live) {
      for (const p of s.procs) killGroup(p.child.pid, 'SIGKILL');
      killGroup(s.watchdog?.pid, 'SIGKILL');
      if (!s.keep) rmSync(s.dir, { recursive: true, force: true });
    }
  });
}

/**
 * A detached `sh` that waits for this Node process to disappear (including
 * SIGKILL, which runs no exit hooks), then kills every process group listed
 * in <dir>/pgids and removes <dir>.
 */
function startWatchdog(dir: string, keep: boolean): ChildProcess {
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
    'if [ -f "$2/pgids" ]; then for g in $(cat "$2/pgids"); do kill -TERM -"$g" 2>/dev/null; done; sleep 2;',
    '  for g in $(cat "$2/pgids"); do kill -KILL -"$g" 2>/dev/null; done; fi',
    keep ? 'true' : 'rm -rf "$2"',
  ].join('\n');
  const child = spawn('sh', ['-c', script, 'keyward-controlplane-watchdog', String(process.pid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child;
}

// ---- small helpers ----

export { freePort } from './ports.ts';


function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** GET a URL; resolves with the status code (0 on connection errors). */
function probe(url: string, opts: { token?: string; timeoutMs?: number } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(
      u,
      {
        method: 'GET',
        timeout: opts.timeoutMs ?? 2000,
        // Readiness probes only: the serving cert may not be on disk yet.
        rejectUnauthorized: false,
        headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
}

function isCrd(doc: unknown): doc is V1CustomResourceDefinition {
  const d = doc as { kind?: unknown; apiVersion?: unknown } | null;
  return !!d && d.kind === 'CustomResourceDefinition' && typeof d.apiVersion === 'string' && d.apiVersion.startsWith('apiextensions.k8s.io/');
}

async function loadCrdFile(file: string): Promise<V1CustomResourceDefinition[]> {
  const text = await readFile(file, 'utf8');
  const out: V1CustomResourceDefinition[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const js: unknown = doc.toJS();
    if (js === null || js === undefined) continue;
    const items = (js as { kind?: string; items?: unknown[] }).kind === 'List' ? ((js as { items?: unknown[] }).items ?? []) : [js];
    for (const item of items) if (isCrd(item)) out.push(item);
  }
  return out;
}

function crdFilesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export interface ApiConnection {
  server: string;
  /** PEM bundle that verifies the server. */
  caData: string;
  token: string;
}

/** One JSON request to the API server; resolves with status and parsed body. */
function apiRequest(
  conn: ApiConnection,
  method: string,
  urlPath: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      new URL(urlPath, conn.server),
      {
        method,
        ca: conn.caData,
        timeout: 30_000,
        headers: {
          Authorization: `Bearer ${conn.token}`,
          Accept: 'application/json',
          ...(payload ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // keep text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timeout`)));
    req.on('error', reject);
    req.end(payload);
  });
}

// @kubernetes/client-node's typed models spell a few JSON-schema keywords
// differently from the wire format (x_kubernetes_*, _default, _enum, ref,
// schema). Accept both: rename typed spellings in schema objects only (never
// keys of `properties`, which are user field names).
const SCHEMA_KEY_RENAMES: Record<string, string> = { _default: 'default', _enum: 'enum', ref: '$ref', schema: '$schema' };

function wireSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(wireSchema);
  if (!s || typeof s !== 'object') return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s as Record<string, unknown>)) {
    const key = k.startsWith('x_kubernetes_') ? k.replaceAll('_', '-') : (SCHEMA_KEY_RENAMES[k] ?? k);
    if (['properties', 'patternProperties', 'definitions', 'dependencies'].includes(key) && v && typeof v === 'object') {
      out[key] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([n, sub]) => [n, wireSchema(sub)]));
    } else if (['items', 'additionalProperties', 'additionalItems', 'not', 'allOf', 'anyOf', 'oneOf'].includes(key)) {
      out[key] = wireSchema(v);
    } else out[key] = v;
  }
  return out;
}

function wireCrd(crd: V1CustomResourceDefinition): Record<string, unknown> {
  const c = structuredClone(crd) as { spec?: { versions?: { schema?: { openAPIV3Schema?: unknown } }[] } };
  for (const v of c.spec?.versions ?? []) {
    if (v.schema?.openAPIV3Schema) v.schema.openAPIV3Schema = wireSchema(v.schema.openAPIV3Schema);
  }
  return c as Record<string, unknown>;
}

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/**
 * Create or update CRDs (server-side apply, field manager "keyward") and wait
 * until each is Established. Accepts file paths (YAML/JSON, multi-document)
 * and objects in either wire or @kubernetes/client-node spelling.
 */
export async function installCRDs(
  conn: ApiConnection,
  crds: (string | V1CustomResourceDefinition | Record<string, unknown>)[],
  timeoutMs = 30_000,
): Promise<string[]> {
  const objs: V1CustomResourceDefinition[] = [];
  for (const c of crds) {
    if (typeof c === 'string') objs.push(...(await loadCrdFile(c)));
    else if (isCrd(c)) objs.push(c);
    else throw new Error('installCRDs: not a CustomResourceDefinition');
  }
  const names: string[] = [];
  for (const crd of objs) {
    const name = crd.metadata?.name;
    if (!name) throw new Error('installCRDs: CRD without metadata.name');
    names.push(name);
    const res = await apiRequest(
      conn,
      'PATCH',
      `${CRD_PATH}/${encodeURIComponent(name)}?fieldManager=keyward&force=true`,
      wireCrd(crd),
      'application/apply-patch+yaml',
    );
    if (res.status < 200 || res.status >= 300) {
      const msg = (res.body as { message?: string } | undefined)?.message ?? JSON.stringify(res.body);
      throw new Error(`installing CRD ${name} failed (HTTP ${res.status}): ${msg}`);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const got = await apiRequest(conn, 'GET', `${CRD_PATH}/${encodeURIComponent(name)}`);
      const conds = (got.body as V1CustomResourceDefinition | undefined)?.status?.conditions ?? [];
      if (got.status === 200 && conds.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${timeoutMs} ms`);
      await sleep(100);
    }
  }
  return names;
}

function buildKubeConfig(server: string, caData: string, user: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'keyward', server, caData: Buffer.from(caData).toString('base64'), skipTLSVerify: false }],
    users: [{ name: user, token }],
    contexts: [{ name: 'keyward', cluster: 'keyward', user }],
    currentContext: 'keyward',
  });
  return kc;
}

function kubeconfigYaml(server: string, caData: string, user: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'keyward', cluster: { server, 'certificate-authority-data': Buffer.from(caData).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'keyward', context: { cluster: 'keyward', user, namespace: 'default' } }],
    'current-context': 'keyward',
    preferences: {},
  });
}

// ---- start ----

class StartError extends Error {
  retryable: boolean;
  constructor(msg: string, retryable: boolean) {
    super(msg);
    this.retryable = retryable;
  }
}

/**
 * Start etcd, kube-apiserver and (by default) kube-controller-manager on free
 * loopback ports, wait until they are ready, write a kubeconfig and install
 * CRDs. Retries a couple of times if a port was taken in between.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = opts.binaries ?? controlPlaneBinaries();
  let lastErr: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(binaries, opts);
    } catch (err) {
      lastErr = err;
      if (!(err instanceof StartError && err.retryable)) throw err;
      opts.log?.(`port collision, retrying (${attempt}/3)`);
    }
  }
  throw lastErr;
}

async function startOnce(binaries: ControlPlaneBinaries, opts: ControlPlaneOptions): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const keep = opts.keep ?? process.env.KEYWARD_CONTROLPLANE_KEEP === '1';
  const timeoutMs = opts.startTimeoutMs ?? 90_000;
  const started = Date.now();
  const deadline = started + timeoutMs;

  installExitHook();
  const dir = mkdtempSync(path.join(opts.tmpRoot ?? tmpdir(), 'keyward-cp-'));
  const state: LiveState = { procs: [], dir, keep };
  live.add(state);
  state.watchdog = startWatchdog(dir, keep);
  let stopping = false;
  let stopped: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      const order: ComponentName[][] = [['kube-controller-manager'], ['kube-apiserver'], ['etcd']];
      for (const names of order) {
        const procs = state.procs.filter((p) => names.includes(p.name));
        for (const p of procs) killGroup(p.child.pid, 'SIGTERM');
        await Promise.all(
          procs.map(async (p) => {
            const done = await Promise.race([p.exited.then(() => true), sleep(5000, false, { ref: false })]);
            if (!done) {
              killGroup(p.child.pid, 'SIGKILL');
              await p.exited;
            }
          }),
        );
      }
      killGroup(state.watchdog?.pid, 'SIGKILL');
      live.delete(state);
      if (!keep) rmSync(dir, { recursive: true, force: true });
      else log(`kept ${dir}`);
    })();
    return stopped;
  };

  let resolveDied!: (msg: string) => void;
  const died = new Promise<string>((r) => (resolveDied = r));

  const pgidsFile = path.join(dir, 'pgids');
  const pgids: number[] = [];
  mkdirSync(path.join(dir, 'logs'));

  const launch = (name: ComponentName, bin: string, args: string[]): Proc => {
    const logFile = path.join(dir, 'logs', `${name}.log`);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(bin, args, { cwd: dir, detached: true, stdio: ['ignore', fd, fd], env: { ...process.env } });
    } finally {
      closeSync(fd);
    }
    const proc: Proc = { name, child, logFile, exited: Promise.resolve() };
    proc.exited = new Promise<void>((resolve) => {
      child.on('exit', (code, signal) => {
        proc.exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
        if (!stopping) resolveDied(`${name} exited unexpectedly (${proc.exitInfo})\n${tail(logFile, 20)}`);
        resolve();
      });
      child.on('error', (err) => {
        proc.exitInfo = err.message;
        if (!stopping) resolveDied(`${name} failed to start: ${err.message}`);
        resolve();
      });
    });
    if (child.pid) {
      pgids.push(child.pid);
      writeFileSync(pgidsFile, `${pgids.join('\n')}\n`);
    }
    state.procs.push(proc);
    return proc;
  };

  const waitFor = async (proc: Proc, what: string, check: () => Promise<boolean>): Promise<void> => {
    for (;;) {
      if (proc.exitInfo !== undefined) {
        const logText = tail(proc.logFile, 12);
        throw new StartError(
          `${proc.name} exited during start (${proc.exitInfo}):\n${logText}`,
          /address already in use|bind: address/i.test(logText),
        );
      }
      if (await check()) return;
      if (Date.now() > deadline) {
        throw new StartError(`timed out after ${timeoutMs} ms waiting for ${what}:\n${tail(proc.logFile, 12)}`, false);
      }
      await sleep(100);
    }
  };

  try {
    // Keys and credentials.
    const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const saPub = path.join(dir, 'sa.pub');
    const saKey = path.join(dir, 'sa.key');
    writeFileSync(saPub, publicKey, { mode: 0o600 });
    writeFileSync(saKey, privateKey, { mode: 0o600 });
    const adminToken = randomBytes(24).toString('base64url');
    const tokenFile = path.join(dir, 'tokens.csv');
    writeFileSync(tokenFile, `${adminToken},keyward-admin,keyward-admin,"system:masters"\n`, { mode: 0o600 });

    const [etcdPort, peerPort, apiPort, kcmPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;

    // etcd
    log('starting etcd');
    const etcd = launch('etcd', binaries.etcd, [
      '--name=keyward',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=keyward=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await waitFor(etcd, 'etcd /health', async () => {
      const r = await probe(`${etcdUrl}/health`);
      return r.status === 200 && r.body.includes('true');
    });
    log(`etcd ready on ${etcdUrl} (${Date.now() - started} ms)`);

    // kube-apiserver
    log('starting kube-apiserver');
    const certDir = path.join(dir, 'apiserver-certs');
    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = launch('kube-apiserver', binaries['kube-apiserver'], [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${certDir}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--allow-privileged=true',
      // The endpoint reconciler refuses loopback advertise addresses; no node
      // ever needs to reach the "kubernetes" Service here.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      '--v=0',
    ]);
    await waitFor(apiserver, 'kube-apiserver /readyz', async () => (await probe(`${server}/readyz`, { token: adminToken })).status === 200);
    log(`kube-apiserver ready on ${server} (${Date.now() - started} ms)`);

    // Serving cert generated by kube-apiserver in --cert-dir: leaf + its CA.
    const caData = readFileSync(path.join(certDir, 'apiserver.crt'), 'utf8');
    const kubeconfigPath = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, caData, 'keyward-admin', adminToken), { mode: 0o600 });
    const kubeConfig = buildKubeConfig(server, caData, 'keyward-admin', adminToken);
    const conn: ApiConnection = { server, caData, token: adminToken };

    // kube-controller-manager
    const kcmOpt = opts.controllerManager ?? true;
    let controllerManagerPort: number | undefined;
    if (kcmOpt !== false) {
      const controllers = kcmOpt === true ? DEFAULT_CONTROLLERS : kcmOpt.controllers;
      log(`starting kube-controller-manager (${controllers.join(',')})`);
      controllerManagerPort = kcmPort;
      const kcm = launch('kube-controller-manager', binaries['kube-controller-manager'], [
        `--kubeconfig=${kubeconfigPath}`,
        `--controllers=${controllers.join(',')}`,
        `--service-account-private-key-file=${saKey}`,
        `--root-ca-file=${path.join(certDir, 'apiserver.crt')}`,
        '--use-service-account-credentials=false',
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--cert-dir=${path.join(dir, 'kcm-certs')}`,
        '--controller-start-interval=0s',
        '--v=0',
      ]);
      await waitFor(kcm, 'kube-controller-manager /healthz', async () => (await probe(`https://127.0.0.1:${kcmPort}/healthz`)).status === 200);
      log(`kube-controller-manager ready (${Date.now() - started} ms)`);
    }

    const kubectlCache = path.join(dir, 'kubectl-cache');
    const kubectl = (args: string[], kopts: KubectlOptions = {}): Promise<KubectlResult> =>
      new Promise((resolve, reject) => {
        const child = spawn(binaries.kubectl, [`--kubeconfig=${kubeconfigPath}`, `--cache-dir=${kubectlCache}`, ...args], {
          cwd: dir,
          env: { ...process.env, KUBECONFIG: kubeconfigPath, ...kopts.env },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
        child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
        const timer = setTimeout(() => child.kill('SIGKILL'), kopts.timeoutMs ?? 60_000);
        child.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          const exitCode = code ?? 128;
          if (exitCode !== 0 && !kopts.allowFailure) {
            reject(new Error(`kubectl ${args.join(' ')} failed (${signal ?? `exit ${exitCode}`}): ${stderr.trim()}`));
          } else resolve({ stdout, stderr, exitCode });
        });
        child.stdin.end(kopts.input ?? '');
      });

    const cp: ControlPlane = {
      dir,
      kubeconfigPath,
      kubeConfig,
      server,
      adminToken,
      caData,
      binaries,
      ports: { etcd: etcdPort, apiserver: apiPort, ...(controllerManagerPort ? { controllerManager: controllerManagerPort } : {}) },
      died,
      kubectl,
      kubeConfigForToken: (token, user = 'token-user') => buildKubeConfig(server, caData, user, token),
      installCRDs: (crds) => installCRDs(conn, crds),
      logs: (component, lines = 50) => {
        const p = state.procs.find((x) => x.name === component);
        return p ? tail(p.logFile, lines) : '';
      },
      stop,
    };

    // CRDs
    const crdFiles = (opts.crdDirs ?? [DEFAULT_CRD_DIR]).flatMap(crdFilesIn);
    const crds = [...crdFiles, ...(opts.crds ?? [])];
    if (crds.length > 0) {
      const names = await installCRDs(conn, crds);
      log(`installed ${names.length} CRD(s): ${names.join(', ')}`);
    }
    log(`control plane ready in ${Date.now() - started} ms`);
    return cp;
  } catch (err) {
    await stop();
    throw err;
  }
}
