/**
 * In-place YAML edits that keep every byte outside the changed scalar.
 *
 * The `yaml` package's document API is used only to FIND nodes and their
 * source ranges; the original text is then spliced. Re-stringifying a
 * document would normalise quoting, flow collections, blank lines and
 * comment placement, which is exactly what a reviewer of a rotation pull
 * request must not have to read past.
 *
 * `setScalarIn(text, documentIndex, path, value)` sets one string value at a
 * map path (e.g. ['spec', 'rotation', 'token']), creating missing maps as
 * correctly indented block lines (or `k: v` members in flow maps), and then
 * checks its own work: the result must parse, hold exactly the old data plus
 * that one value, and leave every other document equal. Pure: text in, text
 * out.
 */
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, parse, parseAllDocuments, Scalar, type Document, type YAMLMap } from 'yaml';

export class YamlEditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'YamlEditError';
  }
}

export type ParsedDocument = Document.Parsed;

/** Every document of a YAML stream; throws YamlEditError naming the document (1-based) and line of the first error. */
export function parseDocuments(text: string): ParsedDocument[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return []; // an empty stream (only comments or nothing)
  docs.forEach((doc, i) => {
    const error = doc.errors[0];
    if (error) {
      const line = error.linePos?.[0]?.line;
      throw new YamlEditError(`document ${i + 1}${line ? ` (line ${line})` : ''}: ${error.message.split('\n')[0]}`);
    }
  });
  return docs as ParsedDocument[];
}

/** 1-based line of a character offset. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function eolOf(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** The end of the line holding `offset` (before its line break). */
function lineEnd(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  if (nl === -1) return text.length;
  return text[nl - 1] === '\r' ? nl - 1 : nl;
}

const YAML11_SPECIAL = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$/;

/** True when `value` reads back as the same string, plain, under both YAML 1.2 and 1.1 (what kubectl's parser follows). */
export function isSafePlain(value: string): boolean {
  if (value === '' || value.trim() !== value || YAML11_SPECIAL.test(value)) return false;
  if (/[:#,[\]{}&*!|>'"%@`\r\n\t]/.test(value) || /^[-?]/.test(value)) return false;
  try {
    return parse(value) === value && parse(value, { version: '1.1' }) === value;
  } catch {
    return false;
  }
}

/** A scalar in the given style; double quotes (JSON escaping is valid YAML) where another style cannot hold the value. */
export function formatScalar(value: string, style: Scalar.Type | undefined = Scalar.QUOTE_DOUBLE): string {
  if (style === Scalar.PLAIN && isSafePlain(value)) return value;
  if (style === Scalar.QUOTE_SINGLE && !/[\r\n]/.test(value)) return `'${value.replaceAll("'", "''")}'`;
  return JSON.stringify(value);
}

/** The indentation step of a document: the first nested block map's offset from its parent, else 2. */
function indentUnit(text: string, doc: ParsedDocument): number {
  const visit = (map: YAMLMap, column: number): number | undefined => {
    for (const pair of map.items) {
      const value = pair.value;
      if (isMap(value) && !value.flow && value.range && value.items.length > 0) {
        const childColumn = columnOf(text, value.range[0]);
        if (childColumn > column) return childColumn - column;
      }
    }
    for (const pair of map.items) {
      const value = pair.value;
      if (isMap(value) && !value.flow && value.range) {
        const found = visit(value, columnOf(text, value.range[0]));
        if (found) return found;
      }
    }
    return undefined;
  };
  const root = doc.contents;
  if (isMap(root) && !root.flow && root.range) return visit(root, columnOf(text, root.range[0])) ?? 2;
  return 2;
}

function keyName(key: unknown): unknown {
  return isScalar(key) ? key.value : key;
}

function findPair(map: YAMLMap, key: string) {
  return map.items.find((pair) => keyName(pair.key) === key);
}

/** `k1: {k2: value}` for flow context. */
function flowEntry(path: string[], value: string): string {
  const [head, ...rest] = path;
  const key = formatKey(head!);
  return rest.length === 0 ? `${key}: ${formatScalar(value)}` : `${key}: {${flowEntry(rest, value)}}`;
}

function formatKey(key: string): string {
  return isSafePlain(key) || /^[A-Za-z0-9][A-Za-z0-9_.\-/]*$/.test(key) ? key : JSON.stringify(key);
}

/** Block lines for `path: value`, starting at `column`, each ending with `eol`. */
function blockLines(path: string[], value: string, column: number, unit: number, eol: string): string {
  let out = '';
  path.forEach((key, depth) => {
    const indent = ' '.repeat(column + depth * unit);
    out += depth === path.length - 1 ? `${indent}${formatKey(key)}: ${formatScalar(value)}${eol}` : `${indent}${formatKey(key)}:${eol}`;
  });
  return out;
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

/** The raw edit, unchecked. */
function spliceValue(text: string, doc: ParsedDocument, path: string[], value: string): string {
  const eol = eolOf(text);
  const unit = indentUnit(text, doc);
  let node: unknown = doc.contents;
  for (let depth = 0; depth < path.length; depth++) {
    if (!isMap(node) || !node.range) throw new YamlEditError(`${path.slice(0, depth).join('.') || 'the document'} is not a map`);
    const map: YAMLMap = node;
    const mapRange = node.range;
    const pair = findPair(map, path[depth]!);
    const rest = path.slice(depth);
    if (!pair) {
      // Insert the missing rest of the path as a new member of this map.
      if (map.flow) {
        const close = text.lastIndexOf('}', mapRange[1] - 1);
        if (close < mapRange[0]) throw new YamlEditError(`cannot find the end of the flow map at ${path.slice(0, depth).join('.')}`);
        const before = text.slice(mapRange[0] + 1, close);
        const entry = flowEntry(rest, value);
        if (map.items.length === 0) return splice(text, mapRange[0] + 1, close, before.trim() === '' ? (before.length > 0 ? ` ${entry} ` : entry) : entry);
        // After the last member's value (keep a trailing comma style if present).
        const trimmedEnd = mapRange[0] + 1 + before.trimEnd().length;
        const hasTrailingComma = text[trimmedEnd - 1] === ',';
        return splice(text, trimmedEnd, trimmedEnd, hasTrailingComma ? ` ${entry},` : `, ${entry}`);
      }
      const first = map.items[0];
      const firstKey = first?.key as { range?: [number, number, number] } | undefined;
      if (!firstKey?.range) throw new YamlEditError(`cannot find where to insert ${rest.join('.')}`);
      const column = columnOf(text, firstKey.range[0]);
      const end = mapRange[1];
      if (end > 0 && text[end - 1] === '\n') return splice(text, end, end, blockLines(rest, value, column, unit, eol));
      // The map ends the file without a final line break.
      const lines = blockLines(rest, value, column, unit, eol);
      return splice(text, end, end, eol + lines.slice(0, -eol.length));
    }
    const child = pair.value;
    if (depth === path.length - 1) {
      // The target itself.
      if (isScalar(child) && child.range && (typeof child.value === 'string' || child.value === null || typeof child.value === 'number' || typeof child.value === 'boolean')) {
        const [start, end] = child.range;
        if (start === end) {
          // `token:` with nothing after it.
          const keyEnd = (pair.key as Scalar).range![1];
          const at = lineEnd(text, keyEnd);
          return splice(text, at, at, ` ${formatScalar(value)}`);
        }
        if (child.type === Scalar.BLOCK_LITERAL || child.type === Scalar.BLOCK_FOLDED) {
          const body = text.slice(start, end);
          return splice(text, start, end, formatScalar(value) + (body.endsWith('\n') ? eol : ''));
        }
        const style = child.value === null || typeof child.value !== 'string' ? Scalar.QUOTE_DOUBLE : child.type;
        return splice(text, start, end, formatScalar(value, style));
      }
      throw new YamlEditError(`${path.join('.')} is not a scalar`);
    }
    if (isScalar(child) && child.value === null && child.range) {
      // `rotation:` (or `rotation: null`) with no map yet: open one.
      const keyRange = (pair.key as Scalar).range!;
      const [start, end] = child.range;
      // Removing an explicit `null` leaves `rotation: `; the trailing space stays, as written.
      const out = end > start ? splice(text, start, end, '') : text;
      const at = lineEnd(out, keyRange[1]);
      const lines = blockLines(path.slice(depth + 1), value, columnOf(text, keyRange[0]) + unit, unit, eol);
      return splice(out, at, at, eol + lines.slice(0, -eol.length));
    }
    node = child;
  }
  throw new YamlEditError(`empty path`);
}

function setIn(data: unknown, path: string[], value: string): unknown {
  const [head, ...rest] = path;
  const base = data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
  return { ...base, [head!]: rest.length === 0 ? value : setIn(base[head!], rest, value) };
}

/**
 * Sets `path` of document `documentIndex` (0-based) to the string `value`,
 * splicing the source. Throws YamlEditError if the edit cannot be made
 * cleanly, or if the result would differ from the old data in anything but
 * that value.
 */
export function setScalarIn(text: string, documentIndex: number, path: string[], value: string): string {
  const docs = parseDocuments(text);
  const doc = docs[documentIndex];
  if (!doc) throw new YamlEditError(`there is no document ${documentIndex + 1}`);
  if (doc.getIn(path) === value) return text;
  const out = spliceValue(text, doc, path, value);

  // Check the edit: it must parse, and change nothing but this one value.
  let after: ParsedDocument[];
  try {
    after = parseDocuments(out);
  } catch (error) {
    throw new YamlEditError(`editing ${path.join('.')} in place would break the file (${(error as Error).message}); please report this layout`);
  }
  const expected = docs.map((d, i) => (i === documentIndex ? setIn(d.toJS(), path, value) : d.toJS()));
  const actual = after.map((d) => d.toJS());
  if (!isDeepStrictEqual(expected, actual)) {
    throw new YamlEditError(`editing ${path.join('.')} in place would change more than that value; please report this layout`);
  }
  return out;
}
