/**
 * The verify benchmark's fixture, shared by `npm run bench` (bench/run.ts) and
 * the A/B runner (bench/ab.ts): a store with a `verifier` caller and N viewer
 * keys with issue 3's features on (organization and key allowlists, the end
 * client's address in every request), the answers keyward gives for them, and
 * the bare node:http baseline serving the same answers.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashSecret } from '../src/core/token.ts';
import { api } from './load.ts';
import { freePort, HOST, log, pool, runNode, startKeywardServer, startNode, waitReady, type Child } from './util.ts';

export const BASELINE = fileURLToPath(new URL('./baseline-server.ts', import.meta.url));

/** The end client's address a gateway passes to /v1/verify (inside both allowlists). */
export const CLIENT_IP = '10.1.2.3';

export interface VerifyFixture {
  verifierSecret: string;
  /** The secrets of the keys to verify. */
  secrets: string[];
  /** keyward's answer for each of them (the baseline sends the same bytes). */
  answers: Record<string, unknown>[];
  /** The autocannon requests, cycled round-robin. */
  requests: { method: string; path: string; headers: Record<string, string>; body: string }[];
  responseBytes: number;
}

/** Creates the caller and `count` keys to verify through keyward's API, and checks that every one verifies. */
export async function prepareVerify(url: string, adminSecret: string, count: number): Promise<VerifyFixture> {
  const verifier = await api(url, adminSecret, 'POST', '/v1/keys', { name: 'bench verifier', role: 'verifier' });
  if (verifier.status !== 201) throw new Error(`creating the verifier key failed: ${JSON.stringify(verifier.json)}`);
  const verifierSecret = verifier.json.secret as string;
  // Issue 3's features on, as in production: an organization allowlist, a per-key allowlist, and the client address in every verify.
  const orgList = await api(url, adminSecret, 'PUT', '/v1/ip-allowlist', { entries: ['127.0.0.0/8', '10.0.0.0/8'] });
  if (orgList.status !== 200) throw new Error(`setting the organization allowlist failed: ${JSON.stringify(orgList.json)}`);
  const secrets = await pool(Array.from({ length: count }, (_, i) => i), 16, async (i) => {
    const r = await api(url, adminSecret, 'POST', '/v1/keys', {
      name: `verify target ${i}`,
      role: 'viewer',
      environment: (['production', 'staging', 'development'] as const)[i % 3],
      metadata: { team: `team-${i % 17}`, tier: i % 2 === 0 ? 'gold' : 'silver' },
      ipAllowlist: ['10.0.0.0/8', '192.168.0.0/16', '2001:db8::/32'],
    });
    if (r.status !== 201) throw new Error(`create failed: ${JSON.stringify(r.json)}`);
    return r.json.secret as string;
  });
  const answers = await verifyAll(url, verifierSecret, secrets);
  const requests = secrets.map((secret) => ({
    method: 'POST',
    path: '/v1/verify',
    headers: { authorization: `Bearer ${verifierSecret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key: secret, ip: CLIENT_IP }),
  }));
  const responseBytes = Math.round(answers.reduce((n, a) => n + Buffer.byteLength(JSON.stringify(a)), 0) / answers.length);
  return { verifierSecret, secrets, answers, requests, responseBytes };
}

/** Verifies every secret once (each must be valid) and returns the answers. */
export async function verifyAll(url: string, verifierSecret: string, secrets: readonly string[]): Promise<Record<string, unknown>[]> {
  return pool(secrets, 16, async (secret) => {
    const r = await api(url, verifierSecret, 'POST', '/v1/verify', { key: secret, ip: CLIENT_IP });
    if (r.status !== 200 || r.json.valid !== true) throw new Error(`verify pre-check at ${url} failed: ${JSON.stringify(r.json)}`);
    return r.json as Record<string, unknown>;
  });
}

/** Fails unless `url` answers every key exactly as the fixture recorded (another server, or another version of keyward). */
export async function checkSameAnswers(url: string, fixture: VerifyFixture, what: string): Promise<void> {
  await pool(fixture.secrets, 16, async (secret, i) => {
    const r = await api(url, fixture.verifierSecret, 'POST', '/v1/verify', { key: secret, ip: CLIENT_IP });
    if (JSON.stringify(r.json) !== JSON.stringify(fixture.answers[i])) throw new Error(`${what} answers differently: ${JSON.stringify(r.json)}`);
  });
}

/** Writes the baseline's data file: the caller's and the keys' hashes, and keyward's answer for each key. */
export function writeBaselineData(fixture: VerifyFixture, organizationId: string, dataFile: string): void {
  writeFileSync(
    dataFile,
    JSON.stringify({
      callers: [{ hash: hashSecret(fixture.verifierSecret), organizationId }],
      keys: fixture.secrets.map((secret, i) => ({ hash: hashSecret(secret), organizationId, result: fixture.answers[i] })),
    }),
  );
}

/** Starts the bare node:http baseline serving the fixture's answers (data file in `dataFile`), and checks it answers alike. */
export async function startBaseline(fixture: VerifyFixture, organizationId: string, dataFile: string, nodeArgs: string[] = [], cpus?: string): Promise<{ child: Child; url: string }> {
  writeBaselineData(fixture, organizationId, dataFile);
  const port = await freePort();
  const child = startNode('baseline', [...nodeArgs, BASELINE], { BASELINE_PORT: String(port), BASELINE_DATA: dataFile }, cpus);
  const url = `http://${HOST}:${port}`;
  await waitReady(child, `${url}/healthz`);
  await checkSameAnswers(url, fixture, 'the baseline');
  return { child, url };
}

/** Exports `rev`'s src/ and package.json into `dir` beside this tree's node_modules, to run another commit's keyward. Returns its CLI. */
export function exportCommit(root: string, rev: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${rev} src package.json | tar -x -C "${dir}"`], { cwd: root });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'src/cli/main.ts');
}

/**
 * A bootstrapped store in `dir`/db.json with the verify fixture's keys in it,
 * made by the keyward at `cli` (served once, then stopped so db.json is
 * self-contained); copy it for each keyward that should start from it.
 */
export async function prepareVerifyStore(cli: string, dir: string, keys: number): Promise<{ organizationId: string; store: string; fixture: VerifyFixture }> {
  mkdirSync(dir, { recursive: true });
  const store = join(dir, 'db.json');
  const boot = JSON.parse(await runNode([cli, 'bootstrap', '--org', 'bench', '--output', 'json'], { KEYWARD_STORE: store })) as { organizationId: string; secret: string };
  const server = await startKeywardServer(cli, 'keyward-setup', store);
  log(`creating ${keys} keys to verify`);
  const fixture = await prepareVerify(server.url, boot.secret, keys);
  await server.child.stop(); // closing writes a self-contained db.json
  return { organizationId: boot.organizationId, store, fixture };
}
