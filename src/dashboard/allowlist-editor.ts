/**
 * An IP allowlist editor (the organization's, a key's, a new key's): one row
 * per address or CIDR range, each judged as it is typed by the service's own
 * parser (src/core/ip.ts, bundled with node:net's patterns), a wrong row
 * marked with the reason. The service's verdict on save (details paths like
 * "entries.2") marks rows too, through `serverErrors`.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { MAX_ALLOWLIST_ENTRIES, parseAllowlistEntry } from '../core/ip.ts';

/** The service stores a single address as address/32 (IPv4) or /128 (IPv6). */
export const isAddress = (entry: string, ip: string): boolean => entry === ip || entry === `${ip}/32` || entry === `${ip}/128`;

/** Why each row is refused (by index), as the service would refuse it. */
export function allowlistProblems(entries: readonly string[]): Map<number, string> {
  const problems = new Map<number, string>();
  entries.forEach((entry, i) => {
    const parsed = parseAllowlistEntry(entry.trim());
    if ('problem' in parsed) problems.set(i, parsed.problem);
  });
  return problems;
}

export interface AllowlistEditorProps {
  /** Prefix of element ids, unique on the page. */
  id: string;
  entries: string[];
  onChange: (entries: string[]) => void;
  /** The caller's address as the service sees it: marked, and offered as "Add my address". */
  callerIp?: string | null;
  /** Problems the service reported, by row. */
  serverErrors?: ReadonlyMap<number, string>;
  /** Read-only view (no permission to change it). */
  readOnly?: boolean;
  /** Label of the list, e.g. "Allowed addresses". */
  label: string;
  empty: string;
}

export function AllowlistEditor(props: AllowlistEditorProps) {
  const { id, entries, onChange, callerIp, readOnly } = props;
  const [draft, setDraft] = useState('');
  const problems = allowlistProblems(entries);
  const add = (event: Event) => {
    event.preventDefault();
    // Several entries may be pasted at once, separated by spaces, commas or lines.
    const fresh = draft.split(/[\s,]+/).filter((e) => e !== '' && !entries.includes(e));
    if (fresh.length === 0) return;
    onChange([...entries, ...fresh]);
    setDraft('');
  };
  const setRow = (i: number, value: string) => onChange(entries.map((e, j) => (j === i ? value : e)));
  return h(
    'div',
    { class: 'allowlist-editor' },
    h(
      'ul',
      { class: 'entry-list', 'aria-label': props.label },
      entries.length === 0
        ? h('li', { class: 'muted' }, props.empty)
        : entries.map((entry, i) => {
            const problem = problems.get(i) ?? props.serverErrors?.get(i);
            const rowId = `${id}-row-${i}`;
            return h(
              'li',
              { key: i, class: problem ? 'invalid' : undefined, 'data-entry': entry },
              readOnly
                ? h('code', null, entry)
                : h('input', {
                    id: rowId,
                    class: 'mono',
                    value: entry,
                    'aria-label': `Entry ${i + 1}`,
                    'aria-invalid': problem ? 'true' : undefined,
                    'aria-describedby': problem ? `${rowId}-error` : undefined,
                    autocomplete: 'off',
                    spellcheck: false,
                    onInput: (e: Event) => setRow(i, (e.target as HTMLInputElement).value),
                  }),
              callerIp && isAddress(entry.trim(), callerIp) ? h('span', { class: 'you' }, ' (your address)') : null,
              readOnly
                ? null
                : h('button', { type: 'button', class: 'button small', 'aria-label': `Remove ${entry}`, onClick: () => onChange(entries.filter((_, j) => j !== i)) }, 'Remove'),
              problem ? h('p', { id: `${rowId}-error`, class: 'field-error' }, problem) : null,
            );
          }),
    ),
    readOnly
      ? null
      : h(
          'div',
          { class: 'inline-form' },
          h('label', { for: `${id}-new` }, 'Address or range'),
          h('input', {
            id: `${id}-new`,
            class: 'mono',
            value: draft,
            placeholder: '10.0.0.0/8 or 2001:db8::/32',
            autocomplete: 'off',
            spellcheck: false,
            onInput: (e: Event) => setDraft((e.target as HTMLInputElement).value),
            // A form inside a form is not allowed (the create dialog): Enter adds here instead of submitting.
            onKeyDown: (e: KeyboardEvent) => e.key === 'Enter' && add(e),
          }),
          h('button', { type: 'button', class: 'button', onClick: add, disabled: entries.length >= MAX_ALLOWLIST_ENTRIES }, 'Add'),
          callerIp && !entries.some((e) => isAddress(e.trim(), callerIp))
            ? h('button', { type: 'button', class: 'button small', onClick: () => onChange([...entries, callerIp]) }, 'Add my address')
            : null,
        ),
  );
}
