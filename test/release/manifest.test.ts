/**
 * The release manifest keyward-<version>.yaml installed the way the README's
 * "Release manifest" section says, on the real API server: made by
 * `npm run release -- --only manifest`, then `kubectl apply -f` (client-side,
 * as a user runs it) creates every object it names, in order (the Namespace
 * before what lives in it, the CRD before the README's first ApiKey); applied
 * again it changes nothing (an upgrade to the same version is a no-op).
 *
 * Needs helm (npm run testbin) and the control plane; KEYWARD_REQUIRE_HELM=1
 * makes a missing helm fail instead of skipping.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, resolveHelm } from '../../src/devcluster/binaries.ts';
import { readPackageJson } from '../../scripts/release/package.ts';
import { describeControlPlane } from '../support/controlplane.ts';

const execFileAsync = promisify(execFile);
const VERSION = readPackageJson().version;
const helm = resolveHelm();
const required = process.env.KEYWARD_REQUIRE_HELM === '1' || process.env.KEYWARD_REQUIRE_HELM === 'true';

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** The README's sh block that holds `marker`, as written there. */
function readmeBlock(marker: string): string {
  const block = [...readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes(marker));
  if (!block) throw new Error(`README.md has no sh block with ${marker}`);
  return block;
}

function suite(): void {
  let out: string;
  let manifest: string;
  let objects: Obj[];

  beforeAll(async () => {
    out = mkdtempSync(path.join(tmpdir(), 'keyward-manifest-'));
    await execFileAsync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'release.ts'), '--only', 'manifest', '--out', out], {
      cwd: REPO_ROOT,
      env: { ...process.env, TEST_ASSET_HELM: helm.helm },
    });
    manifest = path.join(out, `keyward-${VERSION}.yaml`);
    objects = parseAllDocuments(readFileSync(manifest, 'utf8'))
      .map((d) => d.toJS() as Obj | null)
      .filter((o): o is Obj => !!o);
  }, 120_000);
  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  describeControlPlane(
    'release manifest on the real API server',
    (cp) => {
      it(`kubectl apply -f keyward-${VERSION}.yaml, as the README says, creates every object it names`, async () => {
        // The README's command (its first line, the comment cut), on the file where the release wrote it.
        const command = readmeBlock('kubectl apply -f keyward-').split('\n')[0]!.replace(/\s+#.*$/, '');
        expect(command).toMatch(/^kubectl apply -f keyward-[\w.+-]+\.yaml$/);
        const applied = await cp().kubectl(['apply', '-f', manifest], { allowFailure: true });
        expect(applied.exitCode, applied.stderr).toBe(0);
        expect(applied.stdout.trim().split('\n')).toHaveLength(objects.length);
        expect(applied.stdout).not.toMatch(/unchanged|configured/);
        for (const o of objects) {
          const got = await cp().kubectl(['get', o.kind, o.metadata.name, ...(o.metadata.namespace ? ['-n', o.metadata.namespace] : []), '-o', 'name'], { allowFailure: true });
          expect(got.exitCode, `${o.kind}/${o.metadata.name}: ${got.stderr}`).toBe(0);
        }
        expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'Deployment', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']));
      });

      it('applied again, it changes nothing (every object keeps its resourceVersion)', async () => {
        const versions = async () =>
          Object.fromEntries(
            (JSON.parse((await cp().kubectl(['get', '-f', manifest, '-o', 'json'])).stdout).items as { kind: string; metadata: { name: string; resourceVersion: string } }[]).map((o) => [
              `${o.kind}/${o.metadata.name}`,
              o.metadata.resourceVersion,
            ]),
          );
        const before = await versions();
        expect(Object.keys(before)).toHaveLength(objects.length);
        const again = await cp().kubectl(['apply', '-f', manifest]);
        expect(again.stdout.trim().split('\n')).toHaveLength(objects.length);
        // (kubectl may still say "configured" for the PodDisruptionBudget: its selector's patch strategy is
        // "replace", so its patch is never empty; the API server writes nothing for it.)
        expect(await versions()).toEqual(before);
      });

      it("the README's first ApiKey is accepted by the CRD the manifest installed", async () => {
        const block = readmeBlock("kubectl apply -f - <<'YAML'");
        const yaml = /<<'YAML'\n([\s\S]*?)\nYAML\n/.exec(block)?.[1];
        expect(yaml).toBeDefined();
        await cp().kubectl(['wait', '--for=condition=Established', 'crd/apikeys.keyward.dev', '--timeout=30s']);
        await cp().kubectl(['create', 'namespace', 'payments']);
        const created = await cp().kubectl(['apply', '-f', '-'], { input: yaml!, allowFailure: true });
        expect(created.exitCode, created.stderr).toBe(0);
        const apiKey = JSON.parse((await cp().kubectl(['-n', 'payments', 'get', 'apikey', 'payments-api', '-o', 'json'])).stdout);
        expect(apiKey.spec).toMatchObject({ role: 'viewer', environment: 'production' });
      });
    },
    // The manifest installs the CRD itself; nothing here needs controllers.
    { crdDirs: [], controllerManager: false },
  );
}

if (helm.helm) describe(`release manifest keyward-${VERSION}.yaml`, suite);
else if (required) {
  describe('release manifest', () => {
    it('has helm (KEYWARD_REQUIRE_HELM=1)', () => {
      throw new Error(`helm not found (${helm.looked}): run \`npm run testbin\``);
    });
  });
} else {
  console.warn(`[keyward] skipping the release manifest suite: helm not found (${helm.looked}): run \`npm run testbin\` to enable it`);
  describe.skip('release manifest (skipped: run `npm run testbin` to enable)', () => {
    it('needs helm', () => {});
  });
}
