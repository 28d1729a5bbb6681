/**
 * The container image, built from the Containerfile by podman the way the
 * release builds it (scripts/release/image.ts) on the CI base image made from
 * this machine's pinned Node (scripts/image-base.ts; no registry here), then
 * run: `keyward serve` on a read-only root filesystem answers /healthz from
 * inside the container, and `keyward operator` in the container (host
 * network, a mounted kubeconfig) reconciles an ApiKey on the real API server
 * into a Secret holding a working key.
 *
 * Without podman the suite skips with one line; KEYWARD_REQUIRE_PODMAN=1 (CI)
 * makes it fail instead.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage } from '../../scripts/image-base.ts';
import { containerEngine } from '../../scripts/release/containers.ts';
import { buildImage, stageImageContext } from '../../scripts/release/image.ts';
import { packPackage, readPackageJson, sourceUrl, stagePackage } from '../../scripts/release/package.ts';
import { freePort } from '../support/cli-process.ts';
import { describeControlPlane } from '../support/controlplane.ts';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { apiKeyManifest, operatorKey, until, verifies } from '../support/operator.ts';

const execFileAsync = promisify(execFile);
const PKG = readPackageJson();
const IMAGE = `localhost/keyward-test:${PKG.version}`;
const IMAGE_BUILDAH = `localhost/keyward-test-buildah:${PKG.version}`;
const hasPodman = spawnSync('podman', ['--version'], { stdio: 'ignore' }).status === 0;
const hasBuildah = spawnSync('buildah', ['--version'], { stdio: 'ignore' }).status === 0;
const required = process.env.KEYWARD_REQUIRE_PODMAN === '1' || process.env.KEYWARD_REQUIRE_PODMAN === 'true';

const podman = async (args: string[]): Promise<string> => (await execFileAsync('podman', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
const containers: string[] = [];
/** `podman run -d` with host networking on a read-only root; removed when the file ends. */
async function runDetached(args: string[]): Promise<string> {
  const id = (await podman(['run', '-d', '--network', 'host', '--read-only', ...args])).trim();
  containers.push(id);
  return id;
}
/** A container's output, for a failure message (never fails itself). */
const logsOf = async (id: string): Promise<string> => {
  const { stdout, stderr } = await execFileAsync('podman', ['logs', id]).catch((e: { stdout: string; stderr: string }) => e);
  return `${stdout}${stderr}`;
};
/** A container's output for a "no secret in the logs" check: fails if podman cannot read it, and must hold `expected` (the capture works). */
async function logsHolding(id: string, expected: string): Promise<string> {
  const { stdout, stderr } = await execFileAsync('podman', ['logs', id]);
  const logs = `${stdout}${stderr}`;
  expect(logs, 'the container log').toContain(expected);
  return logs;
}

function suite(): void {
  let work: string;
  let baseImage: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'keyward-image-'));
    await stagePackage(path.join(work, 'package'));
    const tarball = packPackage(path.join(work, 'package'), work);
    stageImageContext(tarball, path.join(work, 'context'));
    baseImage = ensureBaseImage();
    buildImage({ context: path.join(work, 'context'), baseImage, tag: IMAGE });
  }, 900_000);

  afterAll(async () => {
    // One podman call for all containers, killed without a grace period (-t 0: they are throwaway, and each
    // graceful stop may wait its 10 s). With vfs storage every container and the image are full copies on disk,
    // so removing them takes minutes under load.
    if (containers.length > 0) await execFileAsync('podman', ['rm', '-f', '-t', '0', ...containers]).catch(() => {});
    await execFileAsync('podman', ['rmi', '-f', IMAGE, IMAGE_BUILDAH]).catch(() => {});
    if (work) rmSync(work, { recursive: true, force: true });
  }, 300_000);

  it('the image: OCI labels from package.json, entrypoint keyward serve, a non-root user', async () => {
    const [info] = JSON.parse(await podman(['image', 'inspect', IMAGE])) as { Config: { Labels: Record<string, string>; User: string; Entrypoint: string[]; Cmd: string[] } }[];
    expect(info!.Config.Labels).toMatchObject({
      'org.opencontainers.image.version': PKG.version,
      'org.opencontainers.image.licenses': PKG.license,
      'org.opencontainers.image.source': sourceUrl(PKG),
      'org.opencontainers.image.title': 'keyward',
    });
    expect(info!.Config.Labels['org.opencontainers.image.source']).toMatch(/^https:\/\//);
    expect(info!.Config.Entrypoint).toEqual(['keyward']);
    expect(info!.Config.Cmd).toEqual(['serve']);
    expect(info!.Config.User).toBe('65532:65532');
  });

  // (Docker builds the same Containerfile; none is installed here.) Without buildah this case skips, unless KEYWARD_REQUIRE_PODMAN=1.
  it.skipIf(!hasBuildah && !required)('the same Containerfile and context build with buildah: the same labels, entrypoint and user, and podman runs it', async () => {
    if (!hasBuildah) throw new Error('buildah not found: apt-get install buildah (.ci/run does)');
    const buildah = containerEngine('buildah');
    buildImage({ context: path.join(work, 'context'), baseImage, tag: IMAGE_BUILDAH, engine: buildah });
    const { 'io.buildah.version': _, ...labels } = buildah.labels(IMAGE_BUILDAH);
    const { 'io.buildah.version': __, ...podmanLabels } = containerEngine('podman').labels(IMAGE);
    expect(labels).toEqual(podmanLabels);
    expect(labels['org.opencontainers.image.version']).toBe(PKG.version);
    const [info] = JSON.parse(await podman(['image', 'inspect', IMAGE_BUILDAH])) as { Config: { User: string; Entrypoint: string[]; Cmd: string[] } }[];
    expect([info!.Config.Entrypoint, info!.Config.Cmd, info!.Config.User]).toEqual([['keyward'], ['serve'], '65532:65532']);
    expect(await podman(['run', '--rm', '--network', 'host', '--read-only', IMAGE_BUILDAH, '--version'])).toBe(`${PKG.version}\n`);
  }, 300_000);

  it('keyward serve on a read-only root filesystem answers /healthz from inside the container, as uid 65532', async () => {
    const port = await freePort();
    const id = await runDetached(['-e', `KEYWARD_PORT=${port}`, '-e', 'KEYWARD_BOOTSTRAP_SECRET_FILE=/var/lib/keyward/admin-secret', IMAGE]);
    const url = `http://127.0.0.1:${port}`;
    await until(
      'the containerized key service answers /healthz',
      async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200,
      60_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await logsOf(id)}`);
    });
    expect(((await (await fetch(`${url}/openapi.json`)).json()) as { info: { version: string } }).info.version).toBe(PKG.version);
    // From inside: the node in the image asks the service, and says who it runs as and that / is read-only.
    const probe = `fetch('${url}/healthz').then(async (r) => { let ro = false; try { require('fs').writeFileSync('/probe', 'x'); } catch (e) { ro = e.code === 'EROFS'; } console.log(JSON.stringify({ status: r.status, body: await r.json(), uid: process.getuid(), readOnlyRoot: ro })); })`;
    const inside = JSON.parse(await podman(['exec', id, 'node', '-e', probe]));
    expect(inside).toEqual({ status: 200, body: { status: 'ok' }, uid: 65532, readOnlyRoot: true });
    const secret = (await podman(['exec', id, 'node', '-e', "process.stdout.write(require('fs').readFileSync('/var/lib/keyward/admin-secret', 'utf8'))"])).trim();
    expect(secret).toMatch(/^kw_/);
    expect(await logsHolding(id, 'keyward key service listening')).not.toContain(secret);
  }, 120_000);

  describeControlPlane('keyward operator from the image', (cp) => {
    let service: TestService;
    beforeAll(async () => {
      service = await startTestService({ host: '127.0.0.1' });
    });
    afterAll(async () => {
      await service?.stop();
    });

    it('reconciles an ApiKey on the real API server into a Secret whose key the key service accepts', async () => {
      // The kubeconfig the container reads (its user is not root: a readable copy).
      const kubeconfig = path.join(work, 'kubeconfig');
      copyFileSync(cp().kubeconfigPath, kubeconfig);
      chmodSync(kubeconfig, 0o644);
      const metrics = await freePort();
      const id = await runDetached([
        '-v',
        `${kubeconfig}:/etc/keyward/kubeconfig:ro`,
        '-e',
        'KUBECONFIG=/etc/keyward/kubeconfig',
        '-e',
        `KEYWARD_API_KEY=${await operatorKey(service)}`,
        IMAGE,
        'operator',
        `--url=${service.url}`,
        `--metrics-bind-address=127.0.0.1:${metrics}`,
      ]);
      await until('the operator in the container is ready', async () => (await fetch(`http://127.0.0.1:${metrics}/readyz`).catch(() => undefined))?.status === 200, 60_000).catch(
        async (error: Error) => {
          throw new Error(`${error.message}\n${await logsOf(id)}`);
        },
      );
      const core = cp().kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: 'shop' } } });
      await cp().kubectl(['apply', '-f', '-'], { input: JSON.stringify(apiKeyManifest('shop', 'checkout', { role: 'viewer' })) });
      const secret = await until(
        'the operator writes Secret shop/checkout',
        async () => (await core.readNamespacedSecret({ namespace: 'shop', name: 'checkout' }).catch(() => undefined))?.data?.API_KEY,
        60_000,
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}\n${await logsOf(id)}`);
      });
      expect(await verifies(service.client(), Buffer.from(secret, 'base64').toString('utf8'))).toBe('VALID');
      expect(await logsHolding(id, 'keyward operator started')).not.toContain(Buffer.from(secret, 'base64').toString('utf8'));
    }, 180_000);
  });
}

if (hasPodman) describe('container image (podman)', suite);
else if (required) {
  describe('container image (podman)', () => {
    it('has podman (KEYWARD_REQUIRE_PODMAN=1)', () => {
      throw new Error('podman not found: apt-get install podman buildah runc (.ci/run does)');
    });
  });
} else {
  console.warn('[keyward] skipping the container image suite: podman not found (apt-get install podman runc to enable it)');
  describe.skip('container image (podman) (skipped: podman not found)', () => {
    it('needs podman', () => {});
  });
}
