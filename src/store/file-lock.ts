/**
 * One process owns a store file. The lock is a sibling file holding the
 * owner's pid, created exclusively; a lock left by a process that no longer
 * runs (kill -9) is taken over, so a crashed server restarts at once.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';

export class StoreLockedError extends Error {
  constructor(file: string, pid: number) {
    super(
      `${file} is in use by another keyward process (pid ${pid}). ` +
        'Only one process may own a lowdb store: stop it, point KEYWARD_STORE at another file, ' +
        'or use PostgreSQL (KEYWARD_DATABASE_URL) to run several replicas.',
    );
    this.name = 'StoreLockedError';
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Lock files this process holds (a second open in the same process is refused too). */
const held = new Set<string>();

export function acquireFileLock(dataFile: string): () => void {
  const lockFile = resolve(`${dataFile}.lock`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      held.add(lockFile);
      return () => {
        held.delete(lockFile);
        rmSync(lockFile, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
      const ownerIsUs = owner === process.pid;
      if (Number.isInteger(owner) && ((ownerIsUs && held.has(lockFile)) || (!ownerIsUs && processIsAlive(owner)))) {
        throw new StoreLockedError(dataFile, owner);
      }
      rmSync(lockFile, { force: true }); // stale: its owner is gone
    }
  }
  throw new Error(`could not lock ${dataFile}`);
}
