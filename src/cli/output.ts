/**
 * CLI output in the kubectl style, for every command: `-o table` (aligned
 * columns, the default), `wide` (more columns), `json`, `yaml`, `name`
 * (`key/key_…`, one a line) and `jsonpath=TEMPLATE` (kubectl's template:
 * `{.id}`, `{[*].name}`, literal text between). A list prints as an array in
 * json, yaml and jsonpath; one object as itself. An empty table says so on
 * stderr (stdout stays empty for scripts). Colours only when stdout is a
 * terminal and NO_COLOR is unset. yaml and jsonpath-plus load only when asked.
 */
import { InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { terminalTakesColour } from './settings.ts';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name' | `jsonpath=${string}`;
const FORMATS = ['table', 'wide', 'json', 'yaml', 'name', 'jsonpath=…'] as const;

export function parseOutputFormat(value: string): OutputFormat {
  if (value === 'table' || value === 'wide' || value === 'json' || value === 'yaml' || value === 'name') return value;
  if (value.startsWith('jsonpath=') && value.length > 'jsonpath='.length) return value as OutputFormat;
  throw new InvalidArgumentError(`"${value}" is not an output format: use one of ${FORMATS.join(', ')}`);
}

/** Whether the format prints rows and views for people (table, wide) rather than data (json, yaml, name, jsonpath). */
export const tabular = (format: OutputFormat): format is 'table' | 'wide' => format === 'table' || format === 'wide';

/** `-o, --output <format>`; commands that print no resource leave it out. */
export const outputOption = (formats: readonly string[] = FORMATS) =>
  new Option('-o, --output <format>', `output format: ${formats.join('|')}`).argParser(parseOutputFormat).default('table');

/** Colours for stdout (tables) and stderr (errors), each only on a terminal. */
const colourful = (stream: NodeJS.WriteStream): boolean => stream.isTTY === true && terminalTakesColour();
export const colours = pc.createColors(colourful(process.stdout));
export const errorColours = pc.createColors(colourful(process.stderr));

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A table column: what a row shows under `header`; `wide` columns only with -o wide. */
export interface Column<T> {
  header: string;
  value: (item: T, now: number) => string | null | undefined;
  wide?: boolean;
  /** Colour for the cell's text (applied after padding, so columns stay aligned). */
  colour?: (text: string) => string;
}

/** How a kind of resource prints: its kind (for -o name and "No keys found"), its id, and its columns. */
export interface View<T> {
  kind: string;
  plural: string;
  id: (item: T) => string;
  columns: Column<T>[];
}

const NONE = '<none>';

export function renderTable(headers: string[], rows: (string | null | undefined)[][], colour: ((text: string) => string)[] = []): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined || cell === '' ? NONE : cell)));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[], paint: boolean) =>
    row.map((cell, i) => {
      const padded = i === row.length - 1 ? cell : cell.padEnd(widths[i]! + 3);
      return paint && colour[i] ? padded.replace(cell, colour[i]!(cell)) : padded;
    }).join('');
  return `${[line(headers, false), ...cells.map((row) => line(row, true))].join('\n')}\n`;
}

export function printTable(headers: string[], rows: (string | null | undefined)[][]): void {
  process.stdout.write(renderTable(headers, rows));
}

/** kubectl's jsonpath template: `{expression}` parts (JSONPath from the root, or a "quoted" literal) and text between. */
async function renderJsonPath(template: string, value: unknown): Promise<string> {
  const { JSONPath } = await import('jsonpath-plus');
  let out = '';
  let rest = template.replace(/^'|'$/g, '');
  for (let open = rest.indexOf('{'); open >= 0; open = rest.indexOf('{')) {
    const close = rest.indexOf('}', open);
    if (close < 0) throw new InvalidArgumentError(`jsonpath template ${JSON.stringify(template)}: unclosed "{"`);
    out += rest.slice(0, open);
    const expression = rest.slice(open + 1, close).trim();
    rest = rest.slice(close + 1);
    if (/^".*"$/.test(expression)) {
      out += JSON.parse(expression) as string;
      continue;
    }
    const path = expression === '' || expression === '@' ? '$' : `$${expression.startsWith('[') || expression.startsWith('.') ? '' : '.'}${expression}`;
    const found = JSONPath({ path, json: value as object, wrap: true }) as unknown[];
    out += found.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join(' ');
  }
  out += rest;
  return out.endsWith('\n') ? out : `${out}\n`;
}

/** Prints data (a list or one object) in a format that needs no view: json, yaml, jsonpath. */
async function printData(value: unknown, format: OutputFormat): Promise<boolean> {
  if (format === 'json') printJson(value);
  else if (format === 'yaml') process.stdout.write((await import('yaml')).stringify(value));
  else if (format.startsWith('jsonpath=')) process.stdout.write(await renderJsonPath(format.slice('jsonpath='.length), value));
  else return false;
  return true;
}

/** Prints a list of resources in any format; an empty table says "No <plural> found." on stderr. */
export async function printList<T>(items: T[], view: View<T>, format: OutputFormat, now = Date.now()): Promise<void> {
  if (await printData(items, format)) return;
  if (format === 'name') {
    process.stdout.write(items.map((item) => `${view.kind}/${view.id(item)}\n`).join(''));
    return;
  }
  if (items.length === 0) {
    process.stderr.write(`No ${view.plural} found.\n`);
    return;
  }
  const columns = view.columns.filter((c) => format === 'wide' || !c.wide);
  const identity = (text: string) => text;
  process.stdout.write(
    renderTable(
      columns.map((c) => c.header),
      items.map((item) => columns.map((c) => c.value(item, now))),
      columns.map((c) => (c.colour && colours.isColorSupported ? c.colour : identity)),
    ),
  );
}

/** -q on a list: the ids alone, one a line (for `for id in $(…)`). */
export function printIds(items: { id: string }[]): void {
  process.stdout.write(items.map((item) => `${item.id}\n`).join(''));
}

/** One resource: its table row (or describe view, when given) for table and wide; the object itself otherwise. */
export async function printOne<T>(item: T, view: View<T>, format: OutputFormat, now = Date.now()): Promise<void> {
  if (await printData(item, format)) return;
  await printList([item], view, format, now);
}

/** A result that is more than one resource (a created key and its secret): as data, or its main resource's name with -o name. */
export async function printResult(value: unknown, format: Exclude<OutputFormat, 'table' | 'wide'>, name: string): Promise<void> {
  if (!(await printData(value, format))) process.stdout.write(`${name}\n`);
}

/** A `kubectl describe` view: "Label:  value" lines, nested lists and maps indented under their label. */
export type DescribeValue = string | null | undefined | string[] | Record<string, string | number | boolean>;

export function renderDescribe(fields: [label: string, value: DescribeValue][]): string {
  const width = Math.max(...fields.map(([label]) => label.length)) + 2;
  const lines: string[] = [];
  for (const [label, value] of fields) {
    const head = `${label}:`.padEnd(width);
    if (Array.isArray(value)) {
      if (value.length === 0) lines.push(`${head}${NONE}`);
      else lines.push(`${label}:`, ...value.map((entry) => `  ${entry}`));
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      if (entries.length === 0) lines.push(`${head}${NONE}`);
      else lines.push(`${label}:`, ...entries.map(([k, v]) => `  ${k}=${v}`));
    } else lines.push(`${head}${value === null || value === undefined || value === '' ? NONE : value}`);
  }
  return `${lines.join('\n')}\n`;
}

const unit = (seconds: number): string => {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3_600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
};

/** "3d", "5h", "2m", like kubectl's AGE column. */
export function age(iso: string | null, now = Date.now()): string {
  if (!iso) return '<never>';
  return unit(Math.max(0, Math.round((now - Date.parse(iso)) / 1000)));
}

/** A time seen from now: "in 5h" or "3d ago"; `never` when there is none. */
export function relative(iso: string | null, now = Date.now(), never = '<never>'): string {
  if (!iso) return never;
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  return seconds >= 0 ? `in ${unit(seconds)}` : `${unit(-seconds)} ago`;
}

/** An absolute time with its distance from now: "2026-12-01T10:00:00.000Z (in 5h)". */
export const when = (iso: string | null, now = Date.now()): string | null => (iso ? `${iso} (${relative(iso, now)})` : null);

/**
 * A secret, shown once: on stdout (alone with --quiet, so `$(keyward keys
 * create -q …)` is the secret), with the warning on stderr.
 */
export function printSecretOnce(secret: string, keyId: string, quiet = false): void {
  if (!quiet) process.stderr.write('\nStore this secret now: it is shown once and cannot be retrieved again.\n' + `Key ID (public): ${keyId}\n`);
  process.stdout.write(`${secret}\n`);
}

/** Progress of a long-running command, on stderr and only on a terminal (a pipe or log gets nothing). */
export function progress(): { update(text: string): void; done(): void } {
  const live = process.stderr.isTTY === true;
  let shown = false;
  return {
    update(text) {
      if (!live) return;
      process.stderr.write(`\r\x1b[2K${text}`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[2K');
    },
  };
}
