/**
 * One process owns a store file. The lock is a sibling file holding the
 * owner's pid. It is created atomically with its content (written to a temp
 * file, then hard-linked into place), so nobody ever sees an empty lock. A
 * lock left by a process that no longer runs (kill -9) is taken over, so a
 * crashed server restarts at once; the takeover renames the stale lock away
 * first, so two restarting processes cannot both win.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
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

const readOwner = (file: string): number | undefined => {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
};

export function acquireFileLock(dataFile: string): () => void {
  const lockFile = resolve(`${dataFile}.lock`);
  const temp = `${lockFile}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  writeSync(fd, String(process.pid));
  closeSync(fd);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(temp, lockFile); // atomic: fails if a lock exists
        held.add(lockFile);
        return () => {
          held.delete(lockFile);
          rmSync(lockFile, { force: true });
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = readOwner(lockFile);
      if (owner === undefined) continue; // vanished meanwhile: try again
      const ownerIsUs = owner === process.pid;
      if ((ownerIsUs && held.has(lockFile)) || (!ownerIsUs && processIsAlive(owner))) {
        throw new StoreLockedError(dataFile, owner);
      }
      // Stale. Move it aside under a name only we use, then check we moved the lock we judged.
      const aside = `${lockFile}.${process.pid}.stale`;
      try {
        renameSync(lockFile, aside);
      } catch {
        continue; // someone else took it over first
      }
      if (readOwner(aside) !== owner) {
        // We moved a fresh lock of another process: put it back unless a new one appeared.
        try {
          linkSync(aside, lockFile);
        } catch {
          /* a newer lock exists; ours to judge again */
        }
      }
      rmSync(aside, { force: true });
    }
    throw new Error(`could not lock ${dataFile}: the lock keeps changing hands`);
  } finally {
    rmSync(temp, { force: true });
  }
}
