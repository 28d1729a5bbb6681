/**
 * The write-ahead journal of the embedded store: one JSON line per group
 * commit, appended and fdatasync'ed before the commit is acknowledged. A crash
 * can only tear the last line, which was never acknowledged; it is cut off
 * when the journal is opened again.
 *
 * A background compaction first retires the journal (renames it to
 * `<file>.old`) and starts an empty one, so commits go on while the snapshot
 * is written; the retired journal is deleted once the snapshot holding it is
 * durable. Recovery reads the retired journal, if one is left, then the
 * current one.
 */
import { closeSync, existsSync, fdatasyncSync, ftruncateSync, openSync, readFileSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { syncDirectory } from './durable-file.ts';

export interface JournalEntry<Op> {
  seq: number;
  ops: Op[];
}

export class Journal<Op> {
  readonly file: string;
  readonly retiredFile: string;
  #handle: FileHandle | undefined;
  #bytes = 0;
  #hasRetired = false;

  constructor(file: string) {
    this.file = file;
    this.retiredFile = `${file}.old`;
  }

  /** Reads every complete entry (retired journal first) and drops a torn tail. Synchronous: runs once at open. */
  recover(): JournalEntry<Op>[] {
    const retired = readEntries<Op>(this.retiredFile);
    const current = readEntries<Op>(this.file);
    if (current.goodBytes < current.totalBytes) {
      const fd = openSync(this.file, 'r+');
      ftruncateSync(fd, current.goodBytes);
      fdatasyncSync(fd);
      closeSync(fd);
    }
    this.#bytes = current.goodBytes;
    this.#hasRetired = existsSync(this.retiredFile);
    return [...retired.entries, ...current.entries];
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Whether a retired journal is on disk (its compaction is running, or failed). */
  get hasRetired(): boolean {
    return this.#hasRetired;
  }

  async append(entry: JournalEntry<Op>): Promise<void> {
    this.#handle ??= await open(this.file, 'a', 0o600);
    const line = `${JSON.stringify(entry)}\n`;
    await this.#handle.write(line);
    await this.#handle.datasync();
    this.#bytes += Buffer.byteLength(line);
  }

  /** Renames the journal to the retired file and starts an empty one. Call between appends. */
  async retire(): Promise<void> {
    // Never over a retired journal: its entries may be in no snapshot yet.
    if (this.#hasRetired) throw new Error(`${this.retiredFile} is still there`);
    await this.#handle?.close();
    this.#handle = undefined;
    await rename(this.file, this.retiredFile);
    this.#hasRetired = true;
    this.#handle = await open(this.file, 'a', 0o600);
    await syncDirectory(this.file);
    this.#bytes = 0;
  }

  /** After a snapshot holds everything the retired journal did. */
  async dropRetired(): Promise<void> {
    await rm(this.retiredFile, { force: true });
    await syncDirectory(this.file);
    this.#hasRetired = false;
  }

  /** After a snapshot holds everything: start an empty journal, and drop a retired one. */
  async reset(): Promise<void> {
    await this.#handle?.close();
    this.#handle = undefined;
    const fd = openSync(this.file, 'w', 0o600);
    fdatasyncSync(fd);
    closeSync(fd);
    this.#bytes = 0;
    await this.dropRetired();
  }

  async close(): Promise<void> {
    await this.#handle?.close();
    this.#handle = undefined;
  }
}

function readEntries<Op>(file: string): { entries: JournalEntry<Op>[]; goodBytes: number; totalBytes: number } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], goodBytes: 0, totalBytes: 0 };
    throw error;
  }
  const entries: JournalEntry<Op>[] = [];
  let goodBytes = 0;
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    if (end < 0) break; // no newline: torn
    try {
      entries.push(JSON.parse(text.slice(start, end)) as JournalEntry<Op>);
    } catch {
      break; // torn or garbled: nothing after it was acknowledged
    }
    goodBytes += Buffer.byteLength(text.slice(start, end + 1));
    start = end + 1;
  }
  return { entries, goodBytes, totalBytes: Buffer.byteLength(text) };
}
