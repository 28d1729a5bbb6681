/**
 * A lowdb adapter that survives power loss, not only process death: the new
 * content goes to a temp file that is fsync'ed, renamed over the old one, and
 * the directory is fsync'ed so the rename itself is on disk. (lowdb's own
 * JSONFile replaces atomically but never fsyncs.) Writes are serialized by the
 * store, so one temp file suffices.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';

/** fsyncs the directory holding `file`, so a rename or delete in it is on disk. */
export async function syncDirectory(file: string): Promise<void> {
  const directory = await open(dirname(file), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

export class DurableJsonFile<T> implements Adapter<T> {
  readonly #file: string;
  readonly #temp: string;
  /** Size of the last snapshot written or read, to decide when to compact. */
  lastBytes = 0;

  constructor(file: string) {
    this.#file = file;
    this.#temp = join(dirname(file), `.${basename(file)}.tmp`);
  }

  async read(): Promise<T | null> {
    try {
      const text = await readFile(this.#file, 'utf8');
      this.lastBytes = Buffer.byteLength(text);
      return JSON.parse(text) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async write(data: T): Promise<void> {
    // Serialize before the first await: the snapshot is the state at call time.
    await this.writeParts([JSON.stringify(data)]);
  }

  /**
   * Writes the file from parts of its text, awaiting each write: a large
   * snapshot produced part by part (a generator) leaves the event loop free
   * between parts.
   */
  async writeParts(parts: Iterable<string>): Promise<void> {
    let bytes = 0;
    const handle = await open(this.#temp, 'w', 0o600);
    try {
      for (const part of parts) {
        await handle.write(part);
        bytes += Buffer.byteLength(part);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(this.#temp, this.#file);
    await syncDirectory(this.#file);
    this.lastBytes = bytes;
  }
}
