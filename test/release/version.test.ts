/**
 * One version source: `npm version` in a copy of the checkout changes
 * package.json, and `npm run release` there produces every artifact with the
 * new version: the CLI's --version and the service's /openapi.json (from
 * the package), the chart's version and appVersion, the image's label and
 * the release manifest's images and labels, and deploy/'s image tag.
 *
 * Needs helm (npm run testbin) and podman like test/helm and test/image:
 * KEYWARD_REQUIRE_HELM=1 / KEYWARD_REQUIRE_PODMAN=1 make a missing one fail.
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, resolveHelm } from '../../src/devcluster/binaries.ts';
import { freePort } from '../support/cli-process.ts';

const execFileAsync = promisify(execFile);
const BUMPED = '9.8.7-rc.1';
const helm = resolveHelm().helm;
const hasPodman = spawnSync('podman', ['--version'], { stdio: 'ignore' }).status === 0;
const required = ['KEYWARD_REQUIRE_HELM', 'KEYWARD_REQUIRE_PODMAN'].some((v) => process.env[v] === '1' || process.env[v] === 'true');

function suite(): void {
  let copy: string;
  let out: string;
  const env = () => ({ ...process.env, TEST_ASSET_HELM: helm, npm_config_update_notifier: 'false' });

  beforeAll(async () => {
    copy = mkdtempSync(path.join(tmpdir(), 'keyward-version-'));
    out = path.join(copy, 'release');
    // The checkout's files (committed or not, never ignored ones), with its node_modules linked.
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const f of files) {
      mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
      try {
        cpSync(path.join(REPO_ROOT, f), path.join(copy, f));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // deleted in the work tree
      }
    }
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(copy, 'node_modules'));
    await execFileAsync('npm', ['version', BUMPED, '--no-git-tag-version'], { cwd: copy, env: env() });
    const release = await execFileAsync(process.execPath, ['scripts/release.ts', '--out', out, '--local-base'], { cwd: copy, env: env(), maxBuffer: 64 * 1024 * 1024 }).catch(
      (error: { stderr: string; stdout: string }) => {
        throw new Error(`npm run release failed:\n${error.stderr}\n${error.stdout}`);
      },
    );
    console.log(release.stderr.split('\n').filter((l) => l.startsWith('[release]')).join('\n'));
  }, 900_000);

  afterAll(async () => {
    await execFileAsync('podman', ['rmi', '-f', `ghcr.io/keyward/keyward:${BUMPED}`]).catch(() => {});
    if (copy) rmSync(copy, { recursive: true, force: true });
  }, 120_000);

  it('the package: its name, package.json, keyward --version and /openapi.json', async () => {
    const tarball = path.join(out, 'npm', `keyward-${BUMPED}.tgz`);
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
    expect(manifest.version).toBe(BUMPED);
    // The staged build the tarball was packed from (its dependencies resolve through the copy's node_modules).
    const bin = path.join(copy, 'build', 'npm', 'dist', 'cli', 'bin.js');
    expect((await execFileAsync(process.execPath, [bin, '--version'])).stdout).toBe(`${BUMPED}\n`);
    const port = await freePort();
    const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--store', path.join(copy, 'db.json')], { stdio: 'ignore', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    try {
      let doc: { info: { version: string } } | undefined;
      while (!doc) {
        if (child.exitCode !== null) throw new Error('keyward serve exited');
        const res = await fetch(`http://127.0.0.1:${port}/openapi.json`).catch(() => undefined);
        if (res?.status === 200) doc = (await res.json()) as typeof doc;
        else await new Promise((r) => setTimeout(r, 100));
      }
      expect(doc!.info.version).toBe(BUMPED);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it("the chart's version and appVersion", async () => {
    const chart = (await execFileAsync(helm!, ['show', 'chart', path.join(out, 'chart', `keyward-${BUMPED}.tgz`)], { env: { ...process.env, HELM_CACHE_HOME: path.join(copy, 'h'), HELM_CONFIG_HOME: path.join(copy, 'h'), HELM_DATA_HOME: path.join(copy, 'h') } })).stdout;
    expect(chart).toMatch(new RegExp(`^version: ${BUMPED.replace(/\./g, '\\.')}$`, 'm'));
    expect(chart).toMatch(new RegExp(`^appVersion: ${BUMPED.replace(/\./g, '\\.')}$`, 'm'));
  });

  it("the image's version label", async () => {
    const [info] = JSON.parse((await execFileAsync('podman', ['image', 'inspect', `ghcr.io/keyward/keyward:${BUMPED}`])).stdout) as { Config: { Labels: Record<string, string> } }[];
    expect(info!.Config.Labels['org.opencontainers.image.version']).toBe(BUMPED);
  });

  it("the release manifest's name, images and version labels; deploy/'s image tag", () => {
    const docs = parseAllDocuments(readFileSync(path.join(out, `keyward-${BUMPED}.yaml`), 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { labels?: Record<string, string> }; spec?: any } | null).filter((d) => d !== null);
    expect(docs.map((d) => d.kind)).toEqual(expect.arrayContaining(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'Role', 'Deployment']));
    const images = docs.filter((d) => d.kind === 'Deployment').map((d) => d.spec.template.spec.containers[0].image);
    expect(images).toEqual([`ghcr.io/keyward/keyward:${BUMPED}`, `ghcr.io/keyward/keyward:${BUMPED}`]);
    for (const d of docs.filter((x) => x.kind !== 'Namespace')) expect(d.metadata.labels?.['app.kubernetes.io/version'], d.kind).toBe(BUMPED);
    expect(readFileSync(path.join(copy, 'deploy', 'kustomization.yaml'), 'utf8')).toContain(`newTag: "${BUMPED}"`);
    for (const f of ['operator.yaml', 'key-service.yaml']) expect(readFileSync(path.join(copy, 'deploy', f), 'utf8'), f).toContain(`image: ghcr.io/keyward/keyward:${BUMPED}`);
  });
}

if (helm && hasPodman) describe(`a version bump to ${BUMPED} reaches every artifact`, suite);
else if (required) {
  describe('a version bump reaches every artifact', () => {
    it('has helm and podman (KEYWARD_REQUIRE_HELM=1, KEYWARD_REQUIRE_PODMAN=1)', () => {
      throw new Error(`needs helm (${resolveHelm().looked}) and podman`);
    });
  });
} else {
  console.warn('[keyward] skipping the version-bump suite: needs helm (npm run testbin) and podman');
  describe.skip('a version bump reaches every artifact (skipped: needs helm and podman)', () => {
    it('needs helm and podman', () => {});
  });
}
