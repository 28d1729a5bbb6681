/**
 * ApiKey documents in manifest files, as the GitOps tooling sees them. Pure:
 * a file's text in, its ApiKeys (with their location) or readable problems
 * out. Problems name the file and the 1-based document index.
 */
import { isMap } from 'yaml';
import { API_GROUP, API_KIND, effectiveSpec, validateApiKeySpec, type EffectiveApiKeySpec, type ParsedApiKeySpec } from '../core/apikey.ts';
import { lineOf, parseDocuments } from './yaml-edit.ts';

/** Maintained by `keyward rotate`: when the manifest last asked for a rotation. */
export const ROTATED_AT_ANNOTATION = 'keyward.dev/rotated-at';


export interface SourceFile {
  /** As given or found (relative paths stay relative, for readable messages). */
  path: string;
  text: string;
  /** Named on the command line (not found by walking a directory). */
  explicit: boolean;
  kind: 'manifests' | 'tokens';
}

export interface ApiKeyDocument {
  file: string;
  /** 0-based index in the file's stream of documents. */
  index: number;
  line: number;
  namespace: string;
  /** Whether metadata.namespace was written (else `namespace` is the default). */
  namespaceSet: boolean;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: ParsedApiKeySpec;
  effective: EffectiveApiKeySpec;
  /** The keyward.dev/rotated-at annotation, if present. */
  rotatedAt: string | undefined;
}

export class GitopsError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'GitopsError';
    this.problems = problems;
  }
}

/** `file: document 2 (line 14)`: how every problem names its place. */
export function where(file: string, index: number, line?: number): string {
  return `${file}: document ${index + 1}${line ? ` (line ${line})` : ''}`;
}

export function keyLabel(key: { namespace: string; name: string }): string {
  return `${key.namespace}/${key.name}`;
}

function stringMap(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/**
 * The ApiKeys of one manifest file. Documents of other kinds are skipped; an
 * explicitly named file must hold at least one ApiKey.
 */
export function parseManifestFile(file: SourceFile, defaultNamespace = 'default'): { keys: ApiKeyDocument[]; problems: string[] } {
  const problems: string[] = [];
  let docs;
  try {
    docs = parseDocuments(file.text);
  } catch (error) {
    return { keys: [], problems: [`${file.path}: does not parse as YAML: ${(error as Error).message}`] };
  }
  const keys: ApiKeyDocument[] = [];
  docs.forEach((doc, index) => {
    const root = doc.contents;
    if (!isMap(root)) return;
    const data = doc.toJS() as Record<string, unknown>;
    const apiVersion = typeof data.apiVersion === 'string' ? data.apiVersion : '';
    if (data.kind !== API_KIND || !apiVersion.startsWith(`${API_GROUP}/`)) return;
    const line = root.range ? lineOf(file.text, root.range[0]) : undefined;
    const at = where(file.path, index, line);
    const metadata = (data.metadata ?? {}) as Record<string, unknown>;
    const name = metadata.name;
    if (typeof name !== 'string' || name === '') {
      problems.push(`${at}: ApiKey has no metadata.name`);
      return;
    }
    const namespaceSet = typeof metadata.namespace === 'string' && metadata.namespace !== '';
    const namespace = namespaceSet ? (metadata.namespace as string) : defaultNamespace;
    const checked = validateApiKeySpec(data.spec ?? {});
    if (!checked.ok) {
      problems.push(`${at}: ApiKey ${namespace}/${name}: invalid spec: ${checked.problems.join('; ')}`);
      return;
    }
    const annotations = stringMap(metadata.annotations);
    keys.push({
      file: file.path,
      index,
      line: line ?? 1,
      namespace,
      namespaceSet,
      name,
      labels: stringMap(metadata.labels),
      annotations,
      spec: checked.spec,
      effective: effectiveSpec(checked.spec, { namespace, name }),
      rotatedAt: annotations[ROTATED_AT_ANNOTATION],
    });
  });
  if (file.explicit && keys.length === 0 && problems.length === 0) {
    problems.push(`${file.path}: holds no ApiKey (kind: ApiKey, apiVersion: ${API_GROUP}/…) in any of its ${docs.length} document(s)`);
  }
  return { keys, problems };
}

/** All ApiKeys of many files; throws GitopsError listing every problem. Duplicate namespace/name pairs are a problem too. */
export function parseManifestFiles(files: SourceFile[], defaultNamespace = 'default'): ApiKeyDocument[] {
  const problems: string[] = [];
  const keys: ApiKeyDocument[] = [];
  for (const file of files) {
    if (file.kind !== 'manifests') continue;
    const parsed = parseManifestFile(file, defaultNamespace);
    problems.push(...parsed.problems);
    keys.push(...parsed.keys);
  }
  const seen = new Map<string, ApiKeyDocument>();
  for (const key of keys) {
    const other = seen.get(keyLabel(key));
    if (other) problems.push(`${where(key.file, key.index, key.line)}: ApiKey ${keyLabel(key)} is also declared at ${where(other.file, other.index, other.line)}`);
    else seen.set(keyLabel(key), key);
  }
  if (problems.length > 0) throw new GitopsError(problems);
  return keys;
}
