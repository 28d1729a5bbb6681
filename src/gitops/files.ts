/**
 * File I/O at the edges: expand the paths given on the command line into
 * manifest and rotation-token files, and write edited files only once every
 * edit has succeeded (each via a temporary file and rename, so a crash never
 * leaves half a manifest).
 */
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { ROTATION_TOKENS_FILE_NAMES } from '../core/rotation-tokens.ts';
import { GitopsError, type SourceFile } from './manifests.ts';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml']);
const SKIPPED_DIRS = new Set(['node_modules', 'cdktf.out']);

function kindOf(path: string): SourceFile['kind'] | undefined {
  if ((ROTATION_TOKENS_FILE_NAMES as readonly string[]).includes(basename(path))) return 'tokens';
  if (MANIFEST_EXTENSIONS.has(extname(path).toLowerCase())) return 'manifests';
  return undefined;
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) walk(path, out);
    } else if (entry.isFile() && kindOf(path)) out.push(path);
  }
}

/** Reads every file named or found under the named directories (*.yaml, *.yml, keyward-rotation.json|yaml|yml). */
export function collectFiles(paths: string[]): SourceFile[] {
  const problems: string[] = [];
  const files: SourceFile[] = [];
  const seen = new Set<string>();
  const add = (path: string, explicit: boolean) => {
    if (seen.has(path)) return;
    seen.add(path);
    const kind = kindOf(path);
    if (!kind) {
      problems.push(`${path}: not a YAML manifest (*.yaml, *.yml) or rotation tokens file (${ROTATION_TOKENS_FILE_NAMES.join(', ')})`);
      return;
    }
    try {
      files.push({ path, text: readFileSync(path, 'utf8'), explicit, kind });
    } catch (error) {
      problems.push(`${path}: cannot read: ${(error as Error).message}`);
    }
  };
  for (const path of paths) {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      problems.push(`${path}: no such file or directory`);
      continue;
    }
    if (stat.isDirectory()) {
      const found: string[] = [];
      walk(path, found);
      found.forEach((file) => add(file, false));
    } else add(path, true);
  }
  if (problems.length > 0) throw new GitopsError(problems);
  return files;
}

/** Writes all edited files: first every temporary file, then the renames. */
export function writeFiles(edits: Map<string, string>): void {
  const staged: [string, string][] = [];
  try {
    for (const [path, text] of edits) {
      const temp = join(dirname(path), `.${basename(path)}.keyward-${process.pid}.tmp`);
      writeFileSync(temp, text);
      staged.push([temp, path]);
    }
  } catch (error) {
    for (const [temp] of staged) {
      rmSync(temp, { force: true }); // leave no temporary files behind
    }
    throw error;
  }
  for (const [temp, path] of staged) renameSync(temp, path);
}
