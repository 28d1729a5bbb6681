/**
 * The container engine the release and image scripts drive: podman, docker
 * or buildah, the same Containerfile for each. KEYWARD_CONTAINER_ENGINE
 * picks one; else the first of podman, docker, buildah on PATH. Machine
 * settings (storage driver, OCI runtime, ulimits) come from the engine's
 * own configuration (containers.conf, storage.conf): `.ci/run` writes the
 * ones these machines need.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export type EngineName = 'podman' | 'docker' | 'buildah';
const ENGINES: readonly EngineName[] = ['podman', 'docker', 'buildah'];

export interface BuildOptions {
  containerfile: string;
  context: string;
  tag: string;
  buildArgs: Record<string, string>;
  /** Build every step again (no layer cache). */
  noCache?: boolean;
}

export interface ContainerEngine {
  command: EngineName;
  imageExists(name: string): boolean;
  /** A one-layer image from a root filesystem tar, with Containerfile-style config changes (`ENV …`, `CMD …`). */
  importTar(tar: string, name: string, changes: string[]): void;
  build(options: BuildOptions): void;
  /** The image's config labels. */
  labels(name: string): Record<string, string>;
  /** Write the image as an OCI archive (for the release). */
  saveOciArchive(name: string, file: string): void;
}

function available(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

function exec(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
}

function buildArgv(o: BuildOptions): string[] {
  const args = ['-f', o.containerfile, '-t', o.tag];
  for (const [k, v] of Object.entries(o.buildArgs)) args.push('--build-arg', `${k}=${v}`);
  if (o.noCache) args.push('--no-cache');
  return [...args, o.context];
}

export function containerEngine(name: string | undefined = process.env.KEYWARD_CONTAINER_ENGINE): ContainerEngine {
  const command = (name || ENGINES.find(available)) as EngineName | undefined;
  if (!command || !ENGINES.includes(command)) {
    throw new Error(`no container engine: install podman, docker or buildah (or set KEYWARD_CONTAINER_ENGINE to one of ${ENGINES.join(', ')})`);
  }
  // podman and docker: [{Config: {Labels}}]; buildah: {OCIv1: {config: {Labels}}} (its top-level Config is a JSON string).
  type Inspected = { Config?: { Labels?: Record<string, string> }; OCIv1?: { config?: { Labels?: Record<string, string> } } };
  const inspect = (image: string): Inspected => {
    const args = command === 'buildah' ? ['inspect', '--type', 'image', image] : ['image', 'inspect', image];
    const out = JSON.parse(exec(command, args)) as unknown;
    return (Array.isArray(out) ? out[0] : out) as Inspected;
  };
  return {
    command,
    imageExists: (image) => {
      const args = command === 'podman' ? ['image', 'exists', image] : command === 'docker' ? ['image', 'inspect', image] : ['inspect', '--type', 'image', image];
      return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
    },
    importTar: (tar, image, changes) => {
      if (command === 'buildah') {
        const container = exec('buildah', ['from', 'scratch']).trim();
        try {
          exec('buildah', ['add', container, tar, '/']);
          for (const change of changes) {
            const [instruction, ...rest] = change.split(' ');
            const value = rest.join(' ');
            if (instruction === 'ENV') exec('buildah', ['config', '--env', value, container]);
            else if (instruction === 'CMD') exec('buildah', ['config', '--cmd', value, container]);
            else throw new Error(`buildah import: unsupported change ${change}`);
          }
          exec('buildah', ['commit', container, image]);
        } finally {
          spawnSync('buildah', ['rm', container], { stdio: 'ignore' });
        }
        return;
      }
      exec(command, ['import', ...changes.flatMap((c) => ['--change', c]), tar, image]);
    },
    build: (o) => {
      // Build steps need no network (the Containerfile only copies); host networking avoids setting one up.
      const args = command === 'buildah' ? ['build', '--network', 'host', ...buildArgv(o)] : command === 'podman' ? ['build', '--network', 'host', ...buildArgv(o)] : ['build', ...buildArgv(o)];
      execFileSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    },
    labels: (image) => {
      const info = inspect(image);
      return (command === 'buildah' ? info.OCIv1?.config?.Labels : info.Config?.Labels) ?? {};
    },
    saveOciArchive: (image, file) => {
      if (command === 'docker') exec('docker', ['save', '-o', file, image]);
      else if (command === 'podman') exec('podman', ['save', '--format', 'oci-archive', '-o', file, image]);
      else exec('buildah', ['push', image, `oci-archive:${file}:${image}`]);
    },
  };
}
