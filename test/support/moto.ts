/**
 * moto_server (moto's HTTP emulator of AWS APIs) on a free loopback port, for
 * tests that run the real AWS SDK against real Secrets Manager semantics
 * (versions, staging labels, errors) instead of a hand-written model.
 *
 * Without `moto_server` on PATH (or KEYWARD_MOTO_SERVER) the suites skip with
 * one line, unless KEYWARD_REQUIRE_MOTO=1 (CI), where that is a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from '../../src/devcluster/ports.ts';

export const REQUIRE_MOTO = process.env.KEYWARD_REQUIRE_MOTO === '1';
const COMMAND = process.env.KEYWARD_MOTO_SERVER ?? 'moto_server';

/** Whether moto_server can be run here (checked once per test file). */
export function motoAvailable(): boolean {
  const found = spawnSync(COMMAND, ['--help'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
  if (!found && !REQUIRE_MOTO) {
    console.log(`[keyward] skipping moto tests: ${COMMAND} not found (moto's AWS emulator, \`pip install 'moto[server]'\`); KEYWARD_REQUIRE_MOTO=1 makes this a failure`);
  }
  return found;
}

export interface Moto {
  /** http://127.0.0.1:<port>, the endpoint for every AWS SDK client. */
  url: string;
  /** Static credentials and region moto accepts (it checks no signature). */
  clientConfig: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  /** POST /moto-api/config (e.g. Lambda without Docker). */
  configure(config: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export async function startMoto(region = 'eu-west-1'): Promise<Moto> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(COMMAND, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // If this worker dies without stop(), a watchdog ends moto within seconds.
  const watchdog = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 2; done; kill ${child.pid} 2>/dev/null`], {
    stdio: 'ignore',
    detached: true,
  });
  watchdog.unref();
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(force);
    }
    if (watchdog.pid) {
      try {
        process.kill(watchdog.pid);
      } catch {
        // already gone
      }
    }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited before it was ready:\n${stderr}`);
    try {
      const response = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not answer within 60 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    clientConfig: { endpoint: url, region, credentials: { accessKeyId: 'keyward-test', secretAccessKey: 'keyward-test' } },
    async configure(config) {
      const response = await fetch(`${url}/moto-api/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(config) });
      if (!response.ok) throw new Error(`moto config refused: ${response.status} ${await response.text()}`);
    },
    stop,
  };
}
