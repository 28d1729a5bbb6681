/**
 * Plans a GitOps rotation: which ApiKey documents (and rotation-token file
 * entries) change, and the new text of every touched file. Pure: files in,
 * edits out; nothing is written here. Any problem anywhere fails the whole
 * plan, so a caller writes all files or none.
 */
import type { RESTART_KINDS, RevokeOldPolicy } from '../core/apikey.ts';
import { formatDuration, parseDuration } from '../core/duration.ts';
import { quietPeriodProblem } from '../core/retirement.ts';
import { DEFAULT_ROTATION_OVERLAP } from '../core/rotation.ts';
import { bumpRotationToken, nextRotationToken, parseRotationTokens, ROTATION_TOKEN_MAX_LENGTH } from '../core/rotation-tokens.ts';
import { GitopsError, keyLabel, parseManifestFiles, ROTATED_AT_ANNOTATION, where, type ApiKeyDocument, type SourceFile } from './manifests.ts';
import { describeSelection, exactNames, isEmptySelection, selects, type Selection } from './selector.ts';
import { setScalarIn } from './yaml-edit.ts';

export interface RotateRequest {
  selection: Selection;
  /** Narrows to these manifest keys (used by `rotation due --bump`); rotation-token files are then left alone. */
  only?: (key: ApiKeyDocument) => boolean;
  /** The new token; default `nextRotationToken` of each key's current token. */
  token?: string | undefined;
  /** A compromised key: overlap 0, the old key stops working as soon as the operator rotates. */
  immediate?: boolean;
  /** Sets spec.rotation.overlap (a duration). */
  overlap?: string | undefined;
  now: Date;
}

export interface RotationChange {
  target: 'manifest' | 'tokens-file';
  file: string;
  /** 1-based document index (manifests). */
  document: number | null;
  line: number | null;
  namespace: string | null;
  name: string;
  previousToken: string | null;
  token: string;
  /** Overlap after the change (manifests); null for tokens-file entries, whose overlap is set in the CDKTF stack. */
  overlap: string | null;
  overlapMs: number | null;
  immediate: boolean;
  environment: string | null;
  interval: string | null;
  secretName: string | null;
  restartTargets: { kind: (typeof RESTART_KINDS)[number]; name: string }[];
  /** How the previous key ends (manifests): spec.rotation.revokeOld, and its quiet period with WhenUnused. */
  revokeOld: RevokeOldPolicy | null;
  quietPeriod: string | null;
  suspend: boolean;
  /** The keyward.dev/rotated-at annotation written (manifests). */
  rotatedAt: string | null;
}

export interface RotationPlan {
  changes: RotationChange[];
  /** New text per touched file. */
  edits: Map<string, string>;
  warnings: string[];
}

export function checkRequest(request: RotateRequest): string[] {
  const problems: string[] = [];
  if (request.token !== undefined && (request.token.length === 0 || request.token.length > ROTATION_TOKEN_MAX_LENGTH)) {
    problems.push(`--token must be 1 to ${ROTATION_TOKEN_MAX_LENGTH} characters`);
  }
  if (request.overlap !== undefined) {
    try {
      parseDuration(request.overlap);
    } catch (error) {
      problems.push(`--overlap: ${(error as Error).message}`);
      return problems;
    }
    if (request.immediate && parseDuration(request.overlap) !== 0) problems.push('--now revokes the old key immediately (overlap 0); it cannot be combined with a non-zero --overlap');
  }
  return problems;
}

function splitEntry(entry: string): { namespace: string | undefined; name: string } {
  const slash = entry.indexOf('/');
  return slash === -1 ? { namespace: undefined, name: entry } : { namespace: entry.slice(0, slash), name: entry.slice(slash + 1) };
}

export function planRotation(files: SourceFile[], request: RotateRequest): RotationPlan {
  const requestProblems = checkRequest(request);
  if (requestProblems.length > 0) throw new GitopsError(requestProblems);
  const keys = parseManifestFiles(files);
  const problems: string[] = [];
  const warnings: string[] = [];
  const changes: RotationChange[] = [];
  const texts = new Map(files.map((f) => [f.path, f.text]));
  const rotatedAt = request.now.toISOString();
  const overlap = request.immediate ? '0' : request.overlap;

  for (const key of keys) {
    if (!selects(request.selection, { name: key.name, namespace: key.namespace, labels: key.labels })) continue;
    if (request.only && !request.only(key)) continue;
    const at = `${where(key.file, key.index, key.line)}: ApiKey ${keyLabel(key)}`;
    const previous = key.spec.rotation?.token ?? null;
    const token = request.token ?? nextRotationToken(previous ?? undefined, request.now);
    if (token === previous) {
      problems.push(`${at} already has rotation token "${token}": the operator would not rotate it; choose another --token`);
      continue;
    }
    // A new overlap must still leave room for a WhenUnused quiet period (the CRD refuses the manifest otherwise).
    const quiet = overlap !== undefined ? quietPeriodProblem(key.effective.revokeOld === 'WhenUnused', key.spec.rotation?.quietPeriod, overlap, { grace: 'the overlap', mode: 'revokeOld WhenUnused' }) : undefined;
    if (quiet) {
      problems.push(`${at}: quietPeriod ${quiet}; for ${request.immediate ? 'an immediate rotation' : `an overlap of ${overlap}`} set spec.rotation.revokeOld: AfterOverlap (and drop quietPeriod) first`);
      continue;
    }
    try {
      let text = texts.get(key.file)!;
      text = setScalarIn(text, key.index, ['spec', 'rotation', 'token'], token);
      if (overlap !== undefined) text = setScalarIn(text, key.index, ['spec', 'rotation', 'overlap'], overlap);
      text = setScalarIn(text, key.index, ['metadata', 'annotations', ROTATED_AT_ANNOTATION], rotatedAt);
      texts.set(key.file, text);
    } catch (error) {
      problems.push(`${at}: ${(error as Error).message}`);
      continue;
    }
    const overlapMs = overlap !== undefined ? parseDuration(overlap) : key.effective.overlapMs;
    changes.push({
      target: 'manifest',
      file: key.file,
      document: key.index + 1,
      line: key.line,
      namespace: key.namespace,
      name: key.name,
      previousToken: previous,
      token,
      overlap: overlap ?? key.spec.rotation?.overlap ?? DEFAULT_ROTATION_OVERLAP,
      overlapMs,
      immediate: overlapMs === 0,
      environment: key.effective.environment,
      interval: formatDuration(key.effective.intervalMs),
      secretName: key.effective.secretName,
      restartTargets: key.effective.restartTargets,
      revokeOld: key.effective.revokeOld,
      quietPeriod: key.effective.quietPeriod,
      suspend: key.effective.suspend,
      rotatedAt,
    });
  }

  if (!request.only) {
    const wanted = exactNames(request.selection);
    for (const file of files) {
      if (file.kind !== 'tokens') continue;
      let tokens: Record<string, string>;
      try {
        tokens = parseRotationTokens(file.text);
      } catch (error) {
        problems.push(`${file.path}: ${(error as Error).message}`);
        continue;
      }
      const entries = Object.keys(tokens).filter((entry) => isEmptySelection(request.selection) || selects(request.selection, { ...splitEntry(entry), labels: undefined }));
      // An explicitly named tokens file gets a first entry for a key asked for by name.
      if (file.explicit) {
        for (const { name, namespace } of wanted) {
          const entry = namespace === undefined ? name : `${namespace}/${name}`;
          const present = Object.keys(tokens).some((e) => e === entry || (namespace === undefined && splitEntry(e).name === name));
          if (!present && !entries.includes(entry)) entries.push(entry);
        }
      }
      for (const entry of entries) {
        const previous = tokens[entry] ?? null;
        const token = request.token ?? nextRotationToken(previous ?? undefined, request.now);
        if (token === previous) {
          problems.push(`${file.path}: "${entry}" already has rotation token "${token}"; choose another --token`);
          continue;
        }
        try {
          const text = texts.get(file.path)!;
          texts.set(file.path, bumpRotationToken(text, entry, token, { now: request.now, format: file.path.endsWith('.json') ? 'json' : 'yaml' }));
        } catch (error) {
          problems.push(`${file.path}: "${entry}": ${(error as Error).message}`);
          continue;
        }
        const { namespace, name } = splitEntry(entry);
        changes.push({
          target: 'tokens-file',
          file: file.path,
          document: null,
          line: null,
          namespace: namespace ?? null,
          name,
          previousToken: previous,
          token,
          overlap: null,
          overlapMs: null,
          immediate: false,
          environment: null,
          interval: null,
          secretName: null,
          restartTargets: [],
          revokeOld: null,
          quietPeriod: null,
          suspend: false,
          rotatedAt: null,
        });
        if (overlap !== undefined) {
          warnings.push(`${file.path}: "${entry}": a rotation-token file holds no overlap; set the key's rotation overlap to "${overlap}" in the CDKTF stack for this rotation to revoke the old key as asked`);
        }
      }
    }
  }

  if (problems.length > 0) throw new GitopsError(problems);
  if (changes.length === 0) {
    const scope = `${keys.length} ApiKey(s) in ${files.length} file(s)`;
    throw new GitopsError([`the selector (${describeSelection(request.selection)}) matches none of the ${scope}${keys.length ? `: ${keys.map(keyLabel).join(', ')}` : ''}`]);
  }
  const edits = new Map<string, string>();
  for (const file of files) {
    const text = texts.get(file.path)!;
    if (text !== file.text) edits.set(file.path, text);
  }
  return { changes, edits, warnings };
}
