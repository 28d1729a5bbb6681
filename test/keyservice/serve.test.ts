/**
 * `keyward serve` bootstraps an empty store once. Under a process manager its
 * output is a kept log, so with KEYWARD_BOOTSTRAP_SECRET_FILE the admin secret
 * goes to a mode-600 file instead, and never to the output.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KeywardClient } from '../../src/client/index.ts';
import { freePort, killAll, serve } from '../support/cli-process.ts';
import { freshTestStore, type TestStore } from '../support/keyservice.ts';

let dir: string;
let store: TestStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-serve-'));
  store = await freshTestStore(dir);
});
afterAll(async () => {
  await killAll();
  await store?.drop();
  rmSync(dir, { recursive: true, force: true });
});

it('writes the first admin secret to the bootstrap file, not the output, and only on an empty store', async () => {
  const secretFile = join(dir, 'bootstrap-admin-secret');
  const env = { ...store.env, KEYWARD_BOOTSTRAP_SECRET_FILE: secretFile, KEYWARD_LOG_LEVEL: 'info' };
  const port = await freePort();
  const first = await serve(store.storeFile, port, env);
  const secret = readFileSync(secretFile, 'utf8').trim();
  expect(secret).toMatch(/^kw_[0-9A-Za-z]{28}$/);
  expect(statSync(secretFile).mode & 0o777).toBe(0o600);
  expect((await new KeywardClient({ url: `http://127.0.0.1:${port}`, apiKey: secret }).whoami()).key.role).toBe('admin');
  // The first admin's one-time dashboard link sits next to it, never in the output.
  const link = readFileSync(`${secretFile}.invitation`, 'utf8').trim();
  expect(link).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/#invitation=[0-9A-Za-z]{32}$`));
  expect(statSync(`${secretFile}.invitation`).mode & 0o777).toBe(0o600);
  const token = new URLSearchParams(new URL(link).hash.slice(1)).get('invitation')!;
  const preview = await fetch(`http://127.0.0.1:${port}/v1/auth/invitation`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  expect(await preview.json()).toMatchObject({ role: 'admin', email: '' });
  first.process.kill('SIGTERM');
  await first.exited;
  expect(first.stdout + first.stderr).not.toContain(secret);
  expect(first.stdout + first.stderr).not.toContain(token);
  expect(first.stderr).toContain(secretFile);

  // Restarted on the same store: nothing new is bootstrapped, the file is left alone.
  rmSync(secretFile);
  rmSync(`${secretFile}.invitation`);
  const second = await serve(store.storeFile, await freePort(), env);
  second.process.kill('SIGTERM');
  await second.exited;
  expect(() => statSync(secretFile)).toThrow();
}, 60_000); // two `keyward serve` starts, each several seconds on a loaded machine
