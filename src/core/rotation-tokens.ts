/**
 * Rotation tokens kept in a small file next to the stack, so a pull request
 * (or `keyward rotate`) bumps one line and the key rotates exactly once. The
 * CDKTF constructs read the file (readRotationTokens, in a stack) and the
 * GitOps tooling edits it (`keyward rotate`), so it lives here, beside both.
 *
 * Format, JSON (`keyward-rotation.json`, the default) or YAML
 * (`keyward-rotation.yaml`), keyed by key name (the ApiKey's `name`, or
 * `namespace/name` where names repeat across namespaces; the ApiKeySecret's
 * `name`):
 *
 *     { "tokens": { "payments-api": "2026-11-27-1" } }
 *
 * A token is any non-empty string up to 253 characters; the convention is
 * `YYYY-MM-DD-N` (`nextRotationToken`). Everything here except
 * `readRotationTokens` is pure: text in, text out, so a CLI, a bot or a test
 * can call it. `bumpRotationToken` edits only the one value (or inserts one
 * member), keeping the rest of the file byte for byte: indentation, key
 * order, comments (YAML), trailing newline.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Document, isMap, isScalar, parse as parseYaml, parseDocument, Scalar } from 'yaml';
import { ROTATION_TOKEN_MAX_LENGTH } from './rotation.ts';

export { ROTATION_TOKEN_MAX_LENGTH };
/** The names a rotation tokens file may have; the first is the default. */
export const ROTATION_TOKENS_FILE_NAMES = ['keyward-rotation.json', 'keyward-rotation.yaml', 'keyward-rotation.yml'] as const;
export const ROTATION_TOKENS_FILE = ROTATION_TOKENS_FILE_NAMES[0];

export type RotationTokens = Record<string, string>;
export type RotationTokensFormat = 'json' | 'yaml';

export class RotationTokensError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RotationTokensError';
  }
}

function checkToken(where: string, token: unknown): string {
  if (typeof token !== 'string' || token.length === 0 || token.length > ROTATION_TOKEN_MAX_LENGTH) {
    throw new RotationTokensError(`${where}: a rotation token must be a non-empty string of at most ${ROTATION_TOKEN_MAX_LENGTH} characters (quote it in YAML)`);
  }
  return token;
}

function checkKeyName(keyName: string): void {
  if (keyName.length === 0 || keyName.length > 253) throw new RotationTokensError('the key name must be 1 to 253 characters');
}

/** JSON if the text starts with "{", YAML otherwise. */
export function detectFormat(text: string): RotationTokensFormat {
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}

/** Parses the file's text (JSON or YAML). An empty file holds no tokens. */
export function parseRotationTokens(text: string): RotationTokens {
  if (text.trim() === '') return {};
  let data: unknown;
  try {
    data = detectFormat(text) === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new RotationTokensError(`rotation tokens file is not valid ${detectFormat(text).toUpperCase()}: ${(error as Error).message}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new RotationTokensError('rotation tokens file must hold an object: { "tokens": { "<key name>": "<token>" } }');
  const tokens = (data as { tokens?: unknown }).tokens;
  if (tokens === undefined || tokens === null) return {};
  if (typeof tokens !== 'object' || Array.isArray(tokens)) throw new RotationTokensError('"tokens" must map key names to tokens');
  const out: RotationTokens = {};
  for (const [name, token] of Object.entries(tokens)) out[name] = checkToken(`tokens.${name}`, token);
  return out;
}

/** Reads and parses the file; a missing file holds no tokens (the first bump creates it). */
export function readRotationTokens(file: string | URL): RotationTokens {
  const path = file instanceof URL ? fileURLToPath(file) : file;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    return parseRotationTokens(text);
  } catch (error) {
    throw new RotationTokensError(`${path}: ${(error as Error).message}`);
  }
}

/** "YYYY-MM-DD-N" for today (UTC): N is one more than the previous token's if that was today, else 1. */
export function nextRotationToken(previous: string | undefined, now: Date = new Date()): string {
  const day = now.toISOString().slice(0, 10);
  const match = previous === undefined ? null : /^(\d{4}-\d{2}-\d{2})-(\d+)$/.exec(previous);
  const sequence = match && match[1] === day ? Number(match[2]) + 1 : 1;
  return `${day}-${sequence}`;
}

/**
 * Sets the token of `keyName` (default: `nextRotationToken` of its current
 * token) and returns the new file text; unchanged text if it already holds
 * that token. An empty text becomes a new file in `format` (default JSON).
 */
export function bumpRotationToken(
  fileText: string,
  keyName: string,
  token?: string,
  options: { now?: Date; format?: RotationTokensFormat } = {},
): string {
  checkKeyName(keyName);
  const current = parseRotationTokens(fileText);
  const next = checkToken(keyName, token ?? nextRotationToken(current[keyName], options.now));
  if (current[keyName] === next) return fileText;
  if (fileText.trim() === '') {
    if (options.format === 'yaml') {
      const doc = new Document({ tokens: {} });
      setYamlToken(doc, keyName, next);
      return doc.toString();
    }
    return `${JSON.stringify({ tokens: { [keyName]: next } }, null, 2)}\n`;
  }
  return detectFormat(fileText) === 'json' ? bumpJson(fileText, keyName, next) : bumpYaml(fileText, keyName, next);
}

// ---- YAML: the yaml package's Document keeps comments and layout ----

function setYamlToken(doc: Document, keyName: string, token: string): void {
  const existing = doc.getIn(['tokens', keyName], true);
  if (isScalar(existing)) {
    existing.value = token;
    return;
  }
  const scalar = new Scalar(token);
  // Quoted, so YAML 1.1 readers never take "2026-11-27" for a date.
  scalar.type = Scalar.QUOTE_DOUBLE;
  doc.setIn(['tokens', keyName], scalar);
}

function bumpYaml(text: string, keyName: string, token: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new RotationTokensError(`rotation tokens file is not valid YAML: ${doc.errors[0]!.message}`);
  if (!isMap(doc.contents)) throw new RotationTokensError('rotation tokens file must hold a mapping with "tokens"');
  setYamlToken(doc, keyName, token);
  return doc.toString();
}

// ---- JSON: splice the one value, so formatting stays byte for byte ----

interface JsonMember {
  key: string;
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
  value: JsonNode;
}
type JsonNode =
  | { kind: 'object'; start: number; end: number; members: JsonMember[] }
  | { kind: 'other'; start: number; end: number };

function scanJson(text: string): JsonNode {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const string = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): JsonNode => {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const members: JsonMember[] = [];
      ws();
      while (text[i] !== '}') {
        ws();
        const keyStart = i;
        const key = string();
        const keyEnd = i;
        ws();
        i++; // ':'
        ws();
        const valueStart = i;
        const node = value();
        members.push({ key, keyStart, keyEnd, valueStart, valueEnd: i, value: node });
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
      return { kind: 'object', start, end: i, members };
    }
    if (c === '[') {
      i++;
      ws();
      while (text[i] !== ']') {
        value();
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '"') string();
    else while (i < text.length && !',}] \t\r\n'.includes(text[i]!)) i++;
    return { kind: 'other', start, end: i };
  };
  return value();
}

/** The whitespace that starts the line holding `offset`, if only whitespace precedes it there. */
function lineIndent(text: string, offset: number): string | null {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  return /^[ \t]*$/.test(before) ? before : null;
}

/** Inserts `"name": <json>` as the last member of `object`, in the object's own style. */
function insertMember(text: string, object: Extract<JsonNode, { kind: 'object' }>, name: string, json: (indent: string) => string, outerIndent: string): string {
  const last = object.members.at(-1);
  const entry = (indent: string, separator: string) => `${JSON.stringify(name)}${separator}${json(indent)}`;
  if (last) {
    const indent = lineIndent(text, last.keyStart);
    const separator = text.slice(last.keyEnd, last.valueStart);
    const insert = indent === null ? `, ${entry(outerIndent, separator)}` : `,\n${indent}${entry(indent, separator)}`;
    return text.slice(0, last.valueEnd) + insert + text.slice(last.valueEnd);
  }
  // Empty object: "{}" or "{ }" or "{\n}".
  const multiline = text.slice(object.start, object.end).includes('\n') || outerIndent !== '';
  const unit = outerIndent === '' ? '  ' : outerIndent.startsWith('\t') ? '\t' : outerIndent;
  const inner = multiline ? `\n${outerIndent}${unit}${entry(outerIndent + unit, ': ')}\n${outerIndent}}` : ` ${entry('', ': ')} }`;
  return text.slice(0, object.start) + '{' + inner + text.slice(object.end);
}

function bumpJson(text: string, keyName: string, token: string): string {
  const root = scanJson(text);
  if (root.kind !== 'object') throw new RotationTokensError('rotation tokens file must hold an object');
  const tokens = root.members.find((member) => member.key === 'tokens');
  if (tokens?.value.kind === 'object') {
    const member = tokens.value.members.find((m) => m.key === keyName);
    if (member) return text.slice(0, member.valueStart) + JSON.stringify(token) + text.slice(member.valueEnd);
    const tokensIndent = lineIndent(text, tokens.keyStart) ?? '';
    return insertMember(text, tokens.value, keyName, () => JSON.stringify(token), tokensIndent);
  }
  if (tokens) {
    // "tokens": null
    const replacement = JSON.stringify({ [keyName]: token });
    return text.slice(0, tokens.valueStart) + replacement + text.slice(tokens.valueEnd);
  }
  const rootIndent = lineIndent(text, root.start) ?? '';
  return insertMember(
    text,
    root,
    'tokens',
    // Root members sit one indent unit deep, so that unit is the member's own indent.
    (indent) => (indent === '' ? JSON.stringify({ [keyName]: token }) : `{\n${indent}${indent}${JSON.stringify(keyName)}: ${JSON.stringify(token)}\n${indent}}`),
    rootIndent,
  );
}
