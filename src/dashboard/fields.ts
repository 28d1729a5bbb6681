/**
 * Form fields that show the API's validation errors where they belong: the
 * service answers VALIDATION_FAILED with details `[{ path, message }]`
 * (`path` like "name", "ipAllowlist.2", "metadata.team"); `fieldErrors` turns
 * that into a map the form reads per field, and `FormError` says what is left
 * (a summary when every problem is shown at its field).
 */
import { cloneElement, h, type ComponentChildren, type VNode } from 'preact';
import { KeywardApiError } from './api.ts';
import { ErrorBox } from './ui.ts';

/** Validation problems by path ("name", "ipAllowlist.2"); empty for any other error. */
export type FieldErrors = ReadonlyMap<string, string>;

export function fieldErrors(error: unknown): FieldErrors {
  const errors = new Map<string, string>();
  if (!(error instanceof KeywardApiError) || error.code !== 'VALIDATION_FAILED' || !Array.isArray(error.details)) return errors;
  for (const issue of error.details as unknown[]) {
    const { path, message } = (issue ?? {}) as { path?: unknown; message?: unknown };
    if (typeof path === 'string' && typeof message === 'string' && !errors.has(path)) errors.set(path, message);
  }
  return errors;
}

/** The problems under `prefix` ("ipAllowlist" → row index → message), for list editors. */
export function rowErrors(errors: FieldErrors, prefix: string): Map<number, string> {
  const rows = new Map<number, string>();
  for (const [path, message] of errors) {
    const match = path.startsWith(`${prefix}.`) ? /^(\d+)/.exec(path.slice(prefix.length + 1)) : null;
    if (match) rows.set(Number(match[1]), message);
  }
  return rows;
}

/** The message for a field itself or anything under it ("metadata" covers "metadata.team"). */
export const errorUnder = (errors: FieldErrors, field: string): string | undefined => {
  for (const [path, message] of errors) if (path === field || path.startsWith(`${field}.`)) return message;
  return undefined;
};

/**
 * A labelled control with its help and its error: the control (one element,
 * given `id`) is marked aria-invalid and described by both.
 */
export function Field({ id, label, help, error, children }: { id: string; label: string; help?: ComponentChildren; error?: string | undefined; children?: ComponentChildren }) {
  const described = [help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return h(
    'div',
    { class: `form-field${error ? ' invalid' : ''}` },
    h('label', { for: id }, label),
    cloneElement(children as VNode, { id, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': described || undefined }),
    error ? h('p', { id: `${id}-error`, class: 'field-error' }, error) : null,
    help ? h('p', { id: `${id}-help`, class: 'help' }, help) : null,
  );
}

/**
 * The error box under a form. A validation failure whose every problem is
 * shown at a field (`shown`: the form's field names) says so instead of
 * listing them again; problems at no field are listed.
 */
export function FormError({ error, title, shown }: { error: unknown; title: string; shown: readonly string[] }) {
  const errors = fieldErrors(error);
  if (errors.size === 0) return h(ErrorBox, { error, title });
  const elsewhere = [...errors].filter(([path]) => !shown.some((field) => path === field || path.startsWith(`${field}.`)));
  return h(
    'div',
    { class: 'error-box', role: 'alert' },
    h('p', { class: 'error-title' }, `${title}: `, h('code', null, 'VALIDATION_FAILED')),
    elsewhere.length === 0
      ? h('p', { class: 'error-message' }, `Fix the ${errors.size === 1 ? 'field' : `${errors.size} fields`} marked above, then try again.`)
      : h('ul', { class: 'error-fields' }, elsewhere.map(([path, message]) => h('li', { key: path }, `${path}: ${message}`))),
  );
}
