/**
 * Which keys a command acts on. `--selector` takes kubectl-like terms joined
 * by commas (all must hold): `name=payments-api`, `namespace=payments`, or a
 * label `team=payments`; `!=` negates a term. Repeating `--selector` ORs the
 * groups. `--namespace` narrows everything further.
 */
export interface SelectorTerm {
  key: string;
  op: '=' | '!=';
  value: string;
}

export type Selector = SelectorTerm[];

export interface Selection {
  /** OR of AND-groups; empty: every key. */
  selectors: Selector[];
  namespace?: string | undefined;
}

export interface Selectable {
  name: string;
  /** Undefined where unknown (a tokens-file entry without "namespace/"). */
  namespace: string | undefined;
  /** Undefined where a thing has no labels (tokens-file entries): label terms never match it. */
  labels: Record<string, string> | undefined;
}

export class SelectorSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorSyntaxError';
  }
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

export function parseSelector(text: string): Selector {
  const terms = text.split(',').map((t) => t.trim());
  if (terms.some((t) => t === '')) throw new SelectorSyntaxError(`selector "${text}": empty term`);
  return terms.map((term) => {
    const match = /^([^=!]+?)\s*(!=|==|=)\s*(.*)$/.exec(term);
    if (!match) throw new SelectorSyntaxError(`selector "${text}": "${term}" is not key=value or key!=value (e.g. name=payments-api)`);
    const [, key, op, value] = match;
    if (!KEY.test(key!)) throw new SelectorSyntaxError(`selector "${text}": "${key}" is not a valid key`);
    if (value === '' && (key === 'name' || key === 'namespace')) throw new SelectorSyntaxError(`selector "${text}": ${key} needs a value`);
    return { key: key!, op: op === '!=' ? '!=' : '=', value: value! };
  });
}

function termHolds(term: SelectorTerm, thing: Selectable): boolean {
  let actual: string | undefined;
  if (term.key === 'name') actual = thing.name;
  else if (term.key === 'namespace') actual = thing.namespace;
  else if (thing.labels === undefined) return false;
  else actual = thing.labels[term.key];
  if (term.key === 'namespace' && actual === undefined) return false;
  return term.op === '=' ? actual === term.value : actual !== term.value;
}

export function selects(selection: Selection, thing: Selectable): boolean {
  if (selection.namespace !== undefined && thing.namespace !== selection.namespace) return false;
  if (selection.selectors.length === 0) return true;
  return selection.selectors.some((group) => group.every((term) => termHolds(term, thing)));
}

export function isEmptySelection(selection: Selection): boolean {
  return selection.selectors.length === 0 && selection.namespace === undefined;
}

/** Names a selection asks for exactly (`name=x` terms), with the namespace it asks for if any. */
export function exactNames(selection: Selection): { name: string; namespace: string | undefined }[] {
  const out: { name: string; namespace: string | undefined }[] = [];
  for (const group of selection.selectors) {
    const name = group.find((t) => t.key === 'name' && t.op === '=');
    if (!name || group.some((t) => t.key !== 'name' && t.key !== 'namespace')) continue;
    const namespace = group.find((t) => t.key === 'namespace' && t.op === '=')?.value ?? selection.namespace;
    out.push({ name: name.value, namespace });
  }
  return out;
}

export function describeSelection(selection: Selection): string {
  const parts: string[] = [];
  if (selection.selectors.length > 0) parts.push(selection.selectors.map((g) => g.map((t) => `${t.key}${t.op}${t.value}`).join(',')).join(' or '));
  if (selection.namespace !== undefined) parts.push(`namespace ${selection.namespace}`);
  return parts.join(' in ') || 'every key';
}
