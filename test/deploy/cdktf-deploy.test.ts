/**
 * `cdktf deploy` end to end, offline: cdktf-cli driving the built OpenTofu
 * and, where installed, HashiCorp Terraform, with the hashicorp/kubernetes
 * provider (built from its source by `npm run testbin`) from a filesystem
 * mirror, against the real control plane, the real key service and the real
 * operator (in-process). One control plane, key service and operator serve
 * both tools; each tool gets its own namespace, cdktf project and state.
 *
 * The stack is test/deploy/app/main.ts: two ApiKeys (one Revoke, one Retain)
 * whose rotation tokens live in a tokens file, as in a GitOps repository.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeywardClient } from '../../src/client/index.ts';
import { REPO_ROOT } from '../../src/devcluster/binaries.ts';
import { operatorLogger, type Operator } from '../../src/operator/operator.ts';
import { DEFAULT_OPERATOR_NAMESPACE } from '../../src/operator/role-admission.ts';
import { describeControlPlane, type ControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { run as keyward } from '../support/cli-process.ts';
import { installRolePolicy, kubeHelpers, operatorKey, startOperator, until, verifies } from '../support/operator.ts';
import { createTofuToolchain, describeCliConfig, describeTerraform, describeTofu, offlineOrSay, type RunResult, type TerraformCli, type TofuToolchain } from '../support/tofu.ts';

const STACK = 'keyward-deploy-test';
const APP = path.join(REPO_ROOT, 'test', 'deploy', 'app', 'main.ts');
/** The project's pinned Node 24 (type stripping), by path, as cdktf.json's app runs it. */
const NODE = path.join(REPO_ROOT, 'node_modules', '.bin', 'node');
/** A keyward secret as it would appear if leaked: prefix + base62 body (the real ones are 30+ characters). */
const SECRET_SHAPE = /kw_[0-9A-Za-z]{20,}/;
/** Anything that would mean the CLI asked a registry (or anything else) over the network. */
const NETWORK_TRACE = /ProviderInstallationDirect|ProviderInstallationNetworkMirror|Service discovery for|\.well-known\/terraform\.json|registry\.(opentofu|terraform)\.(org|io)\/v1\/providers|GET https?:\/\/(?!127\.0\.0\.1)/;
/** The registry hostname each CLI resolves `source = "kubernetes"` to (the mirror has both). */
const REGISTRY: Record<TerraformCli, string> = { tofu: 'registry.opentofu.org', terraform: 'registry.terraform.io' };
const LOG_NAME: Record<TerraformCli, string> = { tofu: 'OpenTofu', terraform: 'Terraform' };

type Ready = { keyId?: string; conditions?: { type: string; status: string }[]; [k: string]: any };

/** What the suites share: one key service and one operator on one control plane. */
interface World {
  service: TestService;
  operator: Operator;
  gateway: KeywardClient;
  k: ReturnType<typeof kubeHelpers>;
  operatorLogs: string[];
  /** Every secret any suite saw, for the "no secret in any log" checks. */
  secrets: Set<string>;
}

function noSecretIn(text: string, secrets: Iterable<string>, what: string): void {
  expect(text, what).not.toMatch(SECRET_SHAPE);
  for (const secret of secrets) {
    expect(text.includes(secret), `${what} holds a secret`).toBe(false);
    expect(text.includes(Buffer.from(secret).toString('base64')), `${what} holds a secret (base64)`).toBe(false);
  }
}

/** The same suite for each CLI: deploy, diff + rotate, bad input, out-of-band delete, destroy, offline, no secret anywhere. */
function deploySuite(cli: TerraformCli, cp: () => ControlPlane, world: () => World): void {
  const ns = `deploy-${cli}`;
  let tc: TofuToolchain;
  let version: string;
  let project: string;
  let tokensFile: string;
  const runs: RunResult[] = [];
  const w = () => world();

  const writeTokens = (tokens: Record<string, string>) => writeFileSync(tokensFile, `${JSON.stringify({ tokens }, null, 2)}\n`);
  const readTokens = () => (JSON.parse(readFileSync(tokensFile, 'utf8')) as { tokens: Record<string, string> }).tokens;
  let bumped = '';
  const cdktf = async (command: 'deploy' | 'destroy' | 'diff', o: { edit?: object; allowFailure?: boolean } = {}) => {
    const res = await tc.cdktf(command, {
      projectDir: project,
      stacks: [STACK],
      env: {
        KEYWARD_DEPLOY_KUBECONFIG: cp().kubeconfigPath,
        KEYWARD_DEPLOY_NAMESPACE: ns,
        KEYWARD_DEPLOY_TOKENS: tokensFile,
        ...(o.edit ? { KEYWARD_DEPLOY_EDIT: JSON.stringify(o.edit) } : {}),
      },
      label: `${cli}: cdktf ${command}`,
      allowFailure: o.allowFailure,
    });
    runs.push(res);
    return res;
  };
  const statePath = () => path.join(project, `terraform.${STACK}.tfstate`);
  const stateText = () => readFileSync(statePath(), 'utf8');
  const status = async (name: string): Promise<Ready> => (await w().k.apiKey(ns, name))?.status ?? {};
  const isReady = (st: Ready) => st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && st.keyId;
  const ready = (name: string) =>
    until(`${name} Ready`, async () => {
      const st = await status(name);
      return isReady(st) ? st : undefined;
    }, 60_000);
  const remember = (...secrets: string[]) => secrets.forEach((s) => w().secrets.add(s));

  /** Everything a bad deploy must leave as it was: both ApiKeys (generation, spec, key), both Secrets, the service's keys, the state's manifests. */
  const snapshot = async () => {
    const objects = await Promise.all(
      ['checkout-api', 'ledger-api'].map(async (name) => {
        const o = await w().k.apiKey(ns, name);
        const s = await w().k.secret(ns, name);
        return { name, generation: o?.metadata.generation, spec: o?.spec, keyId: o?.status?.keyId, secretVersion: s?.metadata?.resourceVersion, secretData: s?.data };
      }),
    );
    const keys: string[] = [];
    for await (const key of w().service.client().allKeys({ status: 'all' })) keys.push(`${key.id} ${key.status} ${key.role} ${key.expiresAt ?? ''}`);
    const state = JSON.parse(stateText()) as { resources: { instances: { attributes: { manifest: unknown } }[] }[] };
    return { objects, keys: keys.sort(), manifests: state.resources.map((r) => r.instances.map((i) => i.attributes.manifest)) };
  };

  beforeAll(async () => {
    await cp().kubectl(['create', 'namespace', ns]);
    tc = createTofuToolchain({ cli, log: (line) => console.log(line) });
    version = JSON.parse((await tc.run(['version', '-json'], { quiet: true })).stdout).terraform_version;
    project = mkdtempSync(path.join(tmpdir(), `keyward-cdktf-${cli}-`));
    // A cdktf project whose app is the test stack, run on the pinned Node by path (as cdktf.json's is); state and cdktf.out stay in this temp dir.
    writeFileSync(
      path.join(project, 'cdktf.json'),
      `${JSON.stringify({ language: 'typescript', app: `${JSON.stringify(NODE)} ${JSON.stringify(APP)}`, sendCrashReports: 'false', terraformProviders: [], terraformModules: [], context: {} }, null, 2)}\n`,
    );
    tokensFile = path.join(project, 'keyward-rotation.json');
    writeTokens({ 'checkout-api': '2026-11-27-1', 'ledger-api': '2026-11-27-1' });
  }, 120_000);
  afterAll(() => {
    tc?.cleanup();
    if (project && process.env.KEYWARD_TOFU_KEEP !== '1') rmSync(project, { recursive: true, force: true });
  });

  let rotatedSecret = '';
  let first: { checkout: { keyId: string; secret: string }; ledger: { keyId: string; secret: string } };

  it('deploy: two ApiKeys -> the operator issues both keys -> both Secrets verify; the state holds no secret', async () => {
    const { k, service, gateway } = w();
    const res = await cdktf('deploy');
    expect(res.stdout).toMatch(/Apply complete! Resources: 2 added, 0 changed, 0 destroyed/);

    const checkout = await ready('checkout-api');
    const ledger = await ready('ledger-api');
    expect(checkout).toMatchObject({ lastRotationReason: 'Created', observedRotationToken: '2026-11-27-1' });
    const cs = await k.secret(ns, 'checkout-api');
    const ls = await k.secret(ns, 'ledger-api');
    const checkoutSecret = k.value(cs, 'API_KEY')!;
    const ledgerSecret = k.value(ls, 'API_KEY')!;
    remember(checkoutSecret, ledgerSecret);
    expect(k.value(cs, 'API_KEY_ID')).toBe(checkout.keyId);
    expect(k.value(ls, 'API_KEY_ID')).toBe(ledger.keyId);
    expect(await verifies(gateway, checkoutSecret)).toBe('VALID');
    expect(await verifies(gateway, ledgerSecret)).toBe('VALID');
    expect(await service.client().getKey(checkout.keyId!)).toMatchObject({ name: 'Checkout API (deploy test)', role: 'viewer', environment: 'development' });
    first = { checkout: { keyId: checkout.keyId!, secret: checkoutSecret }, ledger: { keyId: ledger.keyId!, secret: ledgerSecret } };

    // Refresh the state so it reflects the objects as the operator left them (finalizer, status), then grep it.
    await tc.run(['apply', '-refresh-only', '-auto-approve', '-input=false', '-no-color'], { cwd: path.join(project, 'cdktf.out', 'stacks', STACK), quiet: true });
    const state = stateText();
    expect(JSON.parse(state).resources.map((r: { type: string }) => r.type)).toEqual(['kubernetes_manifest', 'kubernetes_manifest']);
    expect(state).toContain('checkout-api');
    for (const secret of [checkoutSecret, ledgerSecret]) expect(secret).toMatch(SECRET_SHAPE);
    noSecretIn(state, w().secrets, 'the state');
  }, 600_000);

  it('a token bump (`keyward rotate`): `cdktf diff` shows an in-place update of that ApiKey (no replacement) and changes nothing', async () => {
    const before = await snapshot();
    const rotate = await keyward(['rotate', tokensFile, '--selector', 'name=checkout-api']);
    expect(rotate.code, rotate.stderr).toBe(0);
    bumped = readTokens()['checkout-api']!;
    expect(bumped).not.toBe('2026-11-27-1');
    expect(readTokens()['ledger-api']).toBe('2026-11-27-1');
    const res = await cdktf('diff');
    const plan = res.stdout;
    // A replacement would delete the ApiKey (revoking the key) and create a new one: never for a token bump.
    expect(plan).toMatch(/# kubernetes_manifest\.checkout_manifest_[0-9A-Za-z]+ \(checkout\/manifest\) will be updated in-place/);
    expect(plan).toContain(`"2026-11-27-1" -> "${bumped}"`);
    expect(plan).toMatch(/Plan: 0 to add, 1 to change, 0 to destroy/);
    expect(plan).not.toMatch(/must be replaced|will be replaced|-\/\+ resource|will be destroyed|will be created/);
    expect(plan).not.toMatch(/# kubernetes_manifest\.ledger_manifest/);
    expect(await snapshot()).toEqual(before);
    expect((await status('checkout-api')).observedRotationToken).toBe('2026-11-27-1');
  }, 600_000);

  it('deploy of the bump rotates exactly that key, with overlap; the other key is untouched', async () => {
    const { k, service, gateway } = w();
    const ledgerBefore = await status('ledger-api');
    const res = await cdktf('deploy');
    expect(res.stdout).toMatch(/Apply complete! Resources: 0 added, 1 changed, 0 destroyed/);

    const rotated = await until('checkout-api rotated', async () => {
      const st = await status('checkout-api');
      return st.observedRotationToken === bumped && st.keyId !== first.checkout.keyId && isReady(st) ? st : undefined;
    }, 60_000);
    expect(rotated.lastRotationReason).toBe('Token');
    const cs = await k.secret(ns, 'checkout-api');
    const newSecret = k.value(cs, 'API_KEY')!;
    remember(newSecret);
    expect(newSecret).not.toBe(first.checkout.secret);
    rotatedSecret = newSecret;
    expect(k.value(cs, 'API_KEY_ID')).toBe(rotated.keyId);
    expect(k.value(cs, 'API_KEY_PREVIOUS')).toBe(first.checkout.secret);
    // Overlap: both keys work; the old one now expires about an hour from now, on the server.
    expect(await verifies(gateway, newSecret)).toBe('VALID');
    expect(await verifies(gateway, first.checkout.secret)).toBe('VALID');
    const old = await service.client().getKey(first.checkout.keyId);
    const expiresIn = Date.parse(old.expiresAt!) - Date.now();
    expect(expiresIn).toBeGreaterThan(50 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(60 * 60_000);
    expect(rotated.previousKeys?.map((p: { keyId: string }) => p.keyId)).toContain(first.checkout.keyId);

    // The other key: same key, same Secret, no rotation.
    const ledgerAfter = await status('ledger-api');
    expect(ledgerAfter.keyId).toBe(first.ledger.keyId);
    expect(ledgerAfter.lastRotationTime).toBe(ledgerBefore.lastRotationTime);
    expect(ledgerAfter.sequence).toBe(ledgerBefore.sequence);
    expect(k.value(await k.secret(ns, 'ledger-api'), 'API_KEY')).toBe(first.ledger.secret);
    expect(await verifies(gateway, first.ledger.secret)).toBe('VALID');

    const state = stateText();
    expect(state).toContain(bumped);
    noSecretIn(state, w().secrets, 'the state');
  }, 600_000);

  describe('bad input in the stack fails with a clear message and changes nothing in the cluster', () => {
    const failsCleanly = async (edit: object, message: RegExp) => {
      const before = await snapshot();
      const res = await cdktf('deploy', { edit, allowFailure: true });
      expect(res.exitCode).not.toBe(0);
      // cdktf wraps long lines; compare with runs of whitespace as one space.
      expect(`${res.stdout}\n${res.stderr}`.replace(/\s+/g, ' ')).toMatch(message);
      expect(res.stdout).not.toMatch(/Apply complete!/);
      expect(await snapshot()).toEqual(before);
    };

    it('a malformed overlap: the construct names the stack path and the field', async () => {
      await failsCleanly({ overlap: 'one hour' }, /ApiKey at "keyward-deploy-test\/checkout" has invalid props:\s+- rotation\.overlap: [^\n]*duration/);
    }, 600_000);

    it('a role that is no role id: the construct says so', async () => {
      await failsCleanly({ role: 'Super-Admin' }, /ApiKey at "keyward-deploy-test\/checkout" has invalid props:\s+- role: must be lowercase letters, digits and dashes/);
    }, 600_000);

    it('the same role past the construct (escape hatch): the API server rejects it at apply, quoting the CRD rule', async () => {
      await failsCleanly({ manifestRole: 'Super-Admin' }, /ApiKey\.keyward\.dev "checkout-api" is invalid: spec\.role: Invalid value: "Super-Admin": spec\.role in body should match '\^\[a-z\]\[a-z0-9-\]\{0,62\}\$'/);
    }, 600_000);

    // Well-formed, but not one of the organization's roles: neither the construct nor the CRD knows them; the role
    // admission policy (deploy/apikey-role-policy.yaml) does, from the ConfigMap the operator publishes them in.
    it('a role the organization does not have: the API server refuses it at apply, naming the role and `keyward roles list`', async () => {
      await failsCleanly(
        { role: 'no-such-role' },
        /ValidatingAdmissionPolicy 'keyward-apikey-role' with binding 'keyward-apikey-role' denied request: spec\.role: the organization has no role "no-such-role" \(run `keyward roles list` for its roles/,
      );
    }, 600_000);
  });

  it('an ApiKey deleted out of band is re-created by the next deploy, and the operator issues it a working key', async () => {
    const { k, gateway, service } = w();
    const before = await status('checkout-api');
    await cp().kubectl(['delete', 'apikey', 'checkout-api', '-n', ns, '--wait=true']);
    await until('checkout-api gone', async () => !(await k.apiKey(ns, 'checkout-api')), 60_000);
    // Its deletion policy (Revoke) ran: the key and the one still in overlap are revoked.
    expect((await service.client().getKey(before.keyId!)).status).toBe('revoked');
    expect(await verifies(gateway, rotatedSecret)).not.toBe('VALID');

    const res = await cdktf('deploy');
    expect(res.stdout).toMatch(/Apply complete! Resources: 1 added, 0 changed, 0 destroyed/);
    const again = await ready('checkout-api');
    expect(again.keyId).not.toBe(before.keyId);
    expect(again.lastRotationReason).toBe('Created');
    const secret = k.value(await k.secret(ns, 'checkout-api'), 'API_KEY')!;
    remember(secret);
    expect(await verifies(gateway, secret)).toBe('VALID');
    expect(await service.client().getKey(again.keyId!)).toMatchObject({ status: 'active', role: 'viewer' });
    // The other key was not touched.
    expect((await status('ledger-api')).keyId).toBe(first.ledger.keyId);
    rotatedSecret = secret;
  }, 600_000);

  it('destroy: the ApiKeys are deleted; the Revoke key is revoked, the Retain key stays active', async () => {
    const { k, gateway, service } = w();
    const checkoutKeyId = (await status('checkout-api')).keyId!;
    const res = await cdktf('destroy');
    expect(res.stdout).toMatch(/Destroy complete! Resources: 2 destroyed/);
    // The provider waits for the deletion; the operator's finalizer runs the deletion policy first.
    await until('both ApiKeys gone', async () => !(await k.apiKey(ns, 'checkout-api')) && !(await k.apiKey(ns, 'ledger-api')), 60_000);
    expect((await service.client().getKey(checkoutKeyId)).status).toBe('revoked');
    expect(await verifies(gateway, rotatedSecret)).not.toBe('VALID');
    expect(await verifies(gateway, first.ledger.secret)).toBe('VALID');
    expect((await service.client().getKey(first.ledger.keyId)).status).toBe('active');
    expect(JSON.parse(stateText()).resources).toEqual([]);
  }, 600_000);

  it(`offline: the CLI config allows only the filesystem mirror (${REGISTRY[cli]}), and no run asked the network`, async () => {
    expect(describeCliConfig(readFileSync(tc.cliConfigFile, 'utf8'))).toEqual({ filesystemMirrors: [tc.mirrorDir], direct: false, networkMirror: false });
    const mirrored = readdirSync(path.join(tc.mirrorDir, REGISTRY[cli], 'hashicorp', 'kubernetes'));
    expect(mirrored).toEqual([tc.pin.version]);
    expect(runs.length).toBeGreaterThanOrEqual(8);
    for (const run of runs) {
      // Every run of the CLI under cdktf-cli logged (TF_LOG=trace) into this run's log.
      expect(run.tofuLog).toContain(`${LOG_NAME[cli]} version: ${version}`);
      expect(run.tofuLog).not.toMatch(NETWORK_TRACE);
    }
    // And installing the provider needs no network at all: init of the same JSON in a fresh dir,
    // in a network namespace with no interface up.
    const fresh = mkdtempSync(path.join(tmpdir(), 'keyward-offline-init-'));
    try {
      copyFileSync(path.join(project, 'cdktf.out', 'stacks', STACK, 'cdk.tf.json'), path.join(fresh, 'cdk.tf.json'));
      const res = await tc.run(['init', '-input=false', '-backend=false', '-no-color'], { cwd: fresh, ...offlineOrSay(), quiet: true });
      expect(res.stdout).toMatch(new RegExp(`Installed hashicorp/kubernetes v${tc.pin.version.replace(/\./g, '\\.')}`));
      expect(res.tofuLog).toContain(`installing ${REGISTRY[cli]}/hashicorp/kubernetes v${tc.pin.version} from ${tc.mirrorDir}/`);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  }, 120_000);

  it('no secret in the state, in cdktf output or in any trace log of the runs', () => {
    expect(w().secrets.size).toBeGreaterThanOrEqual(4);
    expect(existsSync(statePath())).toBe(true);
    noSecretIn(stateText(), w().secrets, 'the state');
    for (const [i, run] of runs.entries()) {
      noSecretIn(run.stdout + run.stderr, w().secrets, `run ${i + 1}'s output`);
      noSecretIn(run.tofuLog, w().secrets, `run ${i + 1}'s trace log`);
    }
  });
}

describeTofu('cdktf deploy end to end', { provider: true }, () => {
  describeControlPlane('cdktf deploy (hashicorp/kubernetes from the mirror) on the real control plane', (cp) => {
    let world: World;
    beforeAll(async () => {
      const service = await startTestService();
      const gateway = service.client((await service.client().createKey({ name: 'gateway', role: 'verifier' })).secret);
      const operatorLogs: string[] = [];
      const policy = await installRolePolicy(cp());
      // The operator's own logger, every line as written (debug and up); it publishes the roles the policy reads.
      const operator = await startOperator(cp(), service, await operatorKey(service), {
        logger: operatorLogger('debug', { write: (line: string) => void operatorLogs.push(line) }),
        rolesNamespace: DEFAULT_OPERATOR_NAMESPACE,
      });
      await policy.enforced();
      world = { service, gateway, operator, k: kubeHelpers(cp()), operatorLogs, secrets: new Set() };
    }, 120_000);
    afterAll(async () => {
      await world?.operator.stop();
      await world?.service.stop();
    });

    describe('with OpenTofu', () => deploySuite('tofu', cp, () => world));
    describeTerraform('with HashiCorp Terraform', () => deploySuite('terraform', cp, () => world));

    it('no secret in the key service\'s or the operator\'s logs', () => {
      expect(world.operatorLogs.length).toBeGreaterThan(0);
      expect(world.service.logs.length).toBeGreaterThan(0);
      noSecretIn(world.operatorLogs.join('\n'), world.secrets, 'the operator log');
      noSecretIn(world.service.logs.join('\n'), world.secrets, 'the key service log');
    });
  });
});
