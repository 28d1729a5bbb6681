/**
 * A key's metadata as rows of name and value (returned by verify to your
 * APIs: labels, never secrets). The service's problems ("metadata.<name>")
 * mark the row with that name.
 */
import { h } from 'preact';

export type MetadataRow = [name: string, value: string];

export const metadataRows = (metadata: Record<string, string | number | boolean>): MetadataRow[] =>
  Object.entries(metadata).map(([name, value]) => [name, String(value)]);

/** The body's metadata: rows with a name (the last of a repeated name wins, as in JSON). */
export const metadataOf = (rows: readonly MetadataRow[]): Record<string, string> =>
  Object.fromEntries(rows.filter(([name]) => name.trim() !== '').map(([name, value]) => [name.trim(), value]));

export function MetadataEditor({ id, rows, onChange, errors }: { id: string; rows: MetadataRow[]; onChange: (rows: MetadataRow[]) => void; errors: ReadonlyMap<string, string> }) {
  const set = (i: number, row: MetadataRow) => onChange(rows.map((r, j) => (j === i ? row : r)));
  return h(
    'div',
    { class: 'metadata-editor' },
    h(
      'ul',
      { class: 'entry-list', 'aria-label': 'Metadata' },
      rows.map(([name, value], i) => {
        const problem = errors.get(`metadata.${name.trim()}`);
        const rowId = `${id}-${i}`;
        return h(
          'li',
          { key: i, class: problem ? 'invalid' : undefined },
          h('input', {
            class: 'mono',
            value: name,
            placeholder: 'name',
            'aria-label': `Metadata name ${i + 1}`,
            'aria-invalid': problem ? 'true' : undefined,
            'aria-describedby': problem ? `${rowId}-error` : undefined,
            onInput: (e: Event) => set(i, [(e.target as HTMLInputElement).value, value]),
          }),
          h('input', { value, placeholder: 'value', 'aria-label': `Metadata value ${i + 1}`, onInput: (e: Event) => set(i, [name, (e.target as HTMLInputElement).value]) }),
          h('button', { type: 'button', class: 'button small', 'aria-label': `Remove metadata ${name || i + 1}`, onClick: () => onChange(rows.filter((_, j) => j !== i)) }, 'Remove'),
          problem ? h('p', { id: `${rowId}-error`, class: 'field-error' }, problem) : null,
        );
      }),
    ),
    h('button', { type: 'button', class: 'button small', onClick: () => onChange([...rows, ['', '']]) }, '+ Add metadata'),
  );
}
