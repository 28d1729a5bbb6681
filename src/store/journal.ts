/**
 * The write-ahead journal of the embedded store: one JSON line per group
 * commit, appended and fdatasync'ed before the commit is acknowledged. A crash
 * can only tear the last line, which was never acknowledged; it is cut off
 * when the journal is opened again.
 */
import { closeSync, fdatasyncSync, ftruncateSync, openSync, readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

export interface JournalEntry<Op> {
  seq: number;
  ops: Op[];
}

export class Journal<Op> {
  readonly file: string;
  #handle: FileHandle | undefined;
  #bytes = 0;

  constructor(file: string) {
    this.file = file;
  }

  /** Reads every complete entry and drops a torn tail. Synchronous: runs once at open. */
  recover(): JournalEntry<Op>[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
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
    if (goodBytes < Buffer.byteLength(text)) {
      const fd = openSync(this.file, 'r+');
      ftruncateSync(fd, goodBytes);
      fdatasyncSync(fd);
      closeSync(fd);
    }
    this.#bytes = goodBytes;
    return entries;
  }

  get bytes(): number {
    return this.#bytes;
  }

  async append(entry: JournalEntry<Op>): Promise<void> {
    this.#handle ??= await open(this.file, 'a', 0o600);
    const line = `${JSON.stringify(entry)}\n`;
    await this.#handle.write(line);
    await this.#handle.datasync();
    this.#bytes += Buffer.byteLength(line);
  }

  /** After a snapshot holds everything: start an empty journal. */
  async reset(): Promise<void> {
    await this.#handle?.close();
    this.#handle = undefined;
    const fd = openSync(this.file, 'w', 0o600);
    fdatasyncSync(fd);
    closeSync(fd);
    this.#bytes = 0;
  }

  async close(): Promise<void> {
    await this.#handle?.close();
    this.#handle = undefined;
  }
}

