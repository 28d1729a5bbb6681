/**
 * `cdktf deploy` end to end, offline: cdktf-cli driving the built OpenTofu,
 * the hashicorp/kubernetes provider from a filesystem mirror, the real
 * control plane, the real key service and the real operator (in-process).
 *
 * The stack is test/deploy/app/main.ts: two ApiKeys (one Revoke, one Retain)
 * whose rotation tokens live in a tokens file, as in a GitOps repository.
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KeywardClient } from '../../src/client/index.ts';
import { REPO_ROOT } from '../../src/devcluster/binaries.ts';
import type { Operator } from '../../src/operator/operator.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { kubeHelpers, operatorKey, startOperator, until, verifies } from '../support/operator.ts';
import { createTofuToolchain, describeCliConfig, describeTofu, type RunResult, type TofuToolchain } from '../support/tofu.ts';

const STACK = 'keyward-deploy-test';
const APP = path.join(REPO_ROOT, 'test', 'deploy', 'app', 'main.ts');
/** A keyward secret as it would appear if leaked: prefix + base62 body (the real ones are 30+ characters). */
const SECRET_SHAPE = /kw_[0-9A-Za-z]{20,}/;
/** Anything that would mean OpenTofu asked a registry (or anything else) over the network. */
const NETWORK_TRACE = /ProviderInstallationDirect|ProviderInstallationNetworkMirror|Service discovery for|\.well-known\/terraform\.json|registry\.(opentofu|terraform)\.(org|io)\/v1\/providers|GET https?:\/\/(?!127\.0\.0\.1)/;

describeTofu('cdktf deploy end to end', { provider: true }, () => {
  describeControlPlane('cdktf deploy (OpenTofu + hashicorp/kubernetes) on the real control plane', (cp) => {
    const ns = 'deploy';
    let service: TestService;
    let operator: Operator;
    let gateway: KeywardClient;
    let k: ReturnType<typeof kubeHelpers>;
    let tc: TofuToolchain;
    let project: string;
    let tokensFile: string;
    const runs: RunResult[] = [];

    const writeTokens = (tokens: Record<string, string>) => writeFileSync(tokensFile, `${JSON.stringify({ tokens }, null, 2)}\n`);
    const cdktf = async (command: 'deploy' | 'destroy') => {
      const res = await tc.cdktf(command, {
        projectDir: project,
        stacks: [STACK],
        env: { KEYWARD_DEPLOY_KUBECONFIG: cp().kubeconfigPath, KEYWARD_DEPLOY_NAMESPACE: ns, KEYWARD_DEPLOY_TOKENS: tokensFile },
        label: `cdktf ${command}`,
      });
      runs.push(res);
      return res;
    };
    const stateText = () => readFileSync(path.join(project, `terraform.${STACK}.tfstate`), 'utf8');
    const status = async (name: string) => (await k.apiKey(ns, name))?.status ?? {};
    const ready = (name: string) =>
      until(`${name} Ready`, async () => {
        const st = await status(name);
        return st.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') && st.keyId ? st : undefined;
      }, 60_000);

    beforeAll(async () => {
      service = await startTestService();
      gateway = service.client((await service.client().createKey({ name: 'gateway', role: 'verifier' })).secret);
      k = kubeHelpers(cp());
      await cp().kubectl(['create', 'namespace', ns]);
      operator = await startOperator(cp(), service, await operatorKey(service));
      tc = createTofuToolchain({ log: (line) => console.log(line) });
      project = mkdtempSync(path.join(tmpdir(), 'keyward-cdktf-project-'));
      // A cdktf project whose app is the test stack; state and cdktf.out stay in this temp dir.
      writeFileSync(
        path.join(project, 'cdktf.json'),
        `${JSON.stringify({ language: 'typescript', app: `node ${JSON.stringify(APP)}`, sendCrashReports: 'false', terraformProviders: [], terraformModules: [], context: {} }, null, 2)}\n`,
      );
      tokensFile = path.join(project, 'keyward-rotation.json');
      writeTokens({ 'checkout-api': '2026-11-27-1', 'ledger-api': '2026-11-27-1' });
    }, 120_000);
    afterAll(async () => {
      await operator?.stop();
      await service?.stop();
      tc?.cleanup();
      if (project && process.env.KEYWARD_TOFU_KEEP !== '1') rmSync(project, { recursive: true, force: true });
    });

    let rotatedSecret = '';
    let first: { checkout: { keyId: string; secret: string }; ledger: { keyId: string; secret: string } };

    it('deploy: two ApiKeys -> the operator issues both keys -> both Secrets verify; the state holds no secret', async () => {
      const res = await cdktf('deploy');
      expect(res.stdout).toMatch(/Apply complete! Resources: 2 added, 0 changed, 0 destroyed/);

      const checkout = await ready('checkout-api');
      const ledger = await ready('ledger-api');
      expect(checkout).toMatchObject({ lastRotationReason: 'Created', observedRotationToken: '2026-11-27-1' });
      const cs = await k.secret(ns, 'checkout-api');
      const ls = await k.secret(ns, 'ledger-api');
      const checkoutSecret = k.value(cs, 'API_KEY')!;
      const ledgerSecret = k.value(ls, 'API_KEY')!;
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
      expect(state).not.toMatch(SECRET_SHAPE);
      for (const secret of [checkoutSecret, ledgerSecret]) {
        expect(secret).toMatch(SECRET_SHAPE);
        expect(state).not.toContain(secret);
        expect(state).not.toContain(Buffer.from(secret).toString('base64'));
      }
    }, 600_000);

    it('a token bumped in the tokens file + deploy rotates exactly that key, with overlap; the other key is untouched', async () => {
      const ledgerBefore = await status('ledger-api');
      writeTokens({ 'checkout-api': '2026-11-28-1', 'ledger-api': '2026-11-27-1' });
      const res = await cdktf('deploy');
      expect(res.stdout).toMatch(/Apply complete! Resources: 0 added, 1 changed, 0 destroyed/);

      const rotated = await until('checkout-api rotated', async () => {
        const st = await status('checkout-api');
        return st.observedRotationToken === '2026-11-28-1' && st.keyId !== first.checkout.keyId && st.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ? st : undefined;
      }, 60_000);
      expect(rotated.lastRotationReason).toBe('Token');
      const cs = await k.secret(ns, 'checkout-api');
      const newSecret = k.value(cs, 'API_KEY')!;
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
      expect(state).toContain('2026-11-28-1');
      for (const secret of [newSecret, first.checkout.secret, first.ledger.secret]) expect(state).not.toContain(secret);
      expect(state).not.toMatch(SECRET_SHAPE);
    }, 600_000);

    it('destroy: the ApiKeys are deleted; the Revoke key is revoked, the Retain key stays active', async () => {
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

    it('offline: the CLI config allows only the filesystem mirror, and no run asked the network', async () => {
      expect(describeCliConfig(readFileSync(tc.cliConfigFile, 'utf8'))).toEqual({ filesystemMirrors: [tc.mirrorDir], direct: false, networkMirror: false });
      const mirrored = readdirSync(path.join(tc.mirrorDir, 'registry.opentofu.org', 'hashicorp', 'kubernetes'));
      expect(mirrored).toEqual([tc.pin.version]);
      expect(runs.length).toBeGreaterThanOrEqual(3);
      for (const run of runs) {
        // cdktf-cli ran tofu with TF_LOG=debug into this run's log.
        expect(run.tofuLog).toMatch(/OpenTofu version: 1\.12\.6/);
        expect(run.tofuLog).not.toMatch(NETWORK_TRACE);
      }
      // And installing the provider needs no network at all: init of the same JSON in a fresh dir,
      // in a network namespace with no interface up.
      const fresh = mkdtempSync(path.join(tmpdir(), 'keyward-offline-init-'));
      try {
        copyFileSync(path.join(project, 'cdktf.out', 'stacks', STACK, 'cdk.tf.json'), path.join(fresh, 'cdk.tf.json'));
        const res = await tc.run(['init', '-input=false', '-backend=false', '-no-color'], { cwd: fresh, offline: true, quiet: true });
        expect(res.stdout).toMatch(new RegExp(`Installed hashicorp/kubernetes v${tc.pin.version.replace(/\./g, '\\.')}`));
        expect(res.tofuLog).toContain(`installing registry.opentofu.org/hashicorp/kubernetes v${tc.pin.version} from ${tc.mirrorDir}/`);
      } finally {
        rmSync(fresh, { recursive: true, force: true });
      }
    }, 120_000);
  });
});
