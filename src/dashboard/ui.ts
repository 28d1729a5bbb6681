/** Small shared components: dialog, error box, copy button, the one-time secret panel. */
import { h, type ComponentChildren } from 'preact';
import { useEffect, useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { API, type OperationId } from '../core/api.ts';
import { describeError, isNotAvailable } from './api.ts';
import { formatDateTime, relativeTime } from './format.ts';

/** Shows an API error with its code, message and the hint that says what to do. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (error === null || error === undefined) return null;
  const e = describeError(error);
  const fields = validationFields(e.details);
  return h(
    'div',
    { class: 'error-box', role: 'alert' },
    h('p', { class: 'error-title' }, title ? `${title}: ` : '', h('code', null, e.code)),
    h('p', { class: 'error-message' }, e.message),
    fields.length > 0 ? h('ul', { class: 'error-fields' }, fields.map((f) => h('li', { key: f }, f))) : null,
    e.hint ? h('p', { class: 'error-hint' }, h('strong', null, 'What to do: '), e.hint) : null,
  );
}

/** A VALIDATION_FAILED's problems ([{ path, message }]) as lines, when there is more than the message already says. */
function validationFields(details: unknown): string[] {
  if (!Array.isArray(details) || details.length < 2) return [];
  return (details as { path?: unknown; message?: unknown }[]).slice(0, 8).map((i) => `${String(i.path ?? '')}: ${String(i.message ?? '')}`);
}

/** "GET /v1/roles": how the route table names an operation on the wire. */
const endpointOf = (operation: OperationId): string => `${API[operation].method} ${API[operation].path}`;

/** For tabs whose endpoint this service does not have yet. */
export function NotAvailable({ feature, operation }: { feature: string; operation: OperationId }) {
  return h(
    'div',
    { class: 'notice', role: 'status' },
    h('p', null, h('strong', null, `${feature} is not available on this key service.`)),
    h('p', null, `It needs `, h('code', null, endpointOf(operation)), `, which this version of the service does not provide yet (it answered ROUTE_NOT_FOUND). Upgrade the keyward service to use it.`),
  );
}

/** Either the endpoint-missing notice or the error box. */
export function LoadError({ error, feature, operation }: { error: unknown; feature: string; operation: OperationId }) {
  return isNotAvailable(error) ? h(NotAvailable, { feature, operation }) : h(ErrorBox, { error, title: `Could not load ${feature.toLowerCase()}` });
}

/**
 * A modal <dialog>: focus moves in and is trapped by the browser, Escape
 * closes it (unless `closable` is false), focus returns to where it was. A
 * dialog that must not close (the once-only secret) stays open even when the
 * browser closes it anyway (Chromium does on a second Escape, whatever the
 * cancel handler says): it is shown again, so nothing is lost.
 */
export function Dialog(props: { title: string; onClose: () => void; closable?: boolean; children?: ComponentChildren; class?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const closable = props.closable ?? true;
  const unmounting = useRef(false);
  useLayoutEffect(() => {
    const dialog = ref.current!;
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog.showModal();
    return () => {
      unmounting.current = true;
      if (dialog.open) dialog.close();
      if (previous?.isConnected) previous.focus();
      else document.querySelector<HTMLElement>('main h1')?.focus();
    };
  }, []);
  return h(
    'dialog',
    {
      ref,
      class: `dialog ${props.class ?? ''}`,
      'aria-labelledby': titleId,
      // Where the browser knows it (closedby), Escape does not even try to close a dialog that must stay.
      closedby: closable ? 'closerequest' : 'none',
      onCancel: (event: Event) => {
        event.preventDefault();
        if (closable) props.onClose();
      },
      onClose: () => {
        const dialog = ref.current;
        if (unmounting.current || !dialog?.isConnected) return;
        // Closed by the browser, not by us: keep our state in step, or reopen what must stay.
        if (closable) props.onClose();
        else dialog.showModal();
      },
    },
    h('h2', { id: titleId, class: 'dialog-title' }, props.title),
    props.children,
  );
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Copies `text`; says "Copied to the clipboard" beside the button (announced) or, where the clipboard is refused, asks for Ctrl+C. */
export function CopyButton({ text, label, visibleLabel = 'Copy', selectTarget }: { text: string; label: string; visibleLabel?: string; selectTarget?: () => HTMLElement | null }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const timer = setTimeout(() => setState('idle'), 2500);
    return () => clearTimeout(timer);
  }, [state]);
  const onClick = async () => {
    const ok = await copyText(text);
    if (!ok) {
      const target = selectTarget?.();
      if (target) {
        const range = document.createRange();
        range.selectNodeContents(target);
        const selection = getSelection();
        selection?.removeAllRanges();
        selection?.addRange(range);
      }
    }
    setState(ok ? 'copied' : 'failed');
  };
  return h(
    'span',
    { class: 'copy' },
    // The label stays put (its visible words are part of its accessible name, as axe asks); the status beside it says it copied.
    h('button', { type: 'button', class: 'button small', 'aria-label': label, onClick }, visibleLabel),
    h('span', { class: 'copy-status', role: 'status' }, state === 'copied' ? 'Copied to the clipboard' : state === 'failed' ? 'Press Ctrl+C (⌘C) to copy the selection' : ''),
  );
}

/**
 * The one moment a secret is on screen. The parent holds the secret and
 * drops it (and this panel) when "I have copied it" is pressed.
 */
export function SecretReveal({ keyId, secret, onDone }: { keyId: string; secret: string; onDone: () => void }) {
  const secretRef = useRef<HTMLElement>(null);
  const warningRef = useRef<HTMLParagraphElement>(null);
  // The form that was focused is gone: read the warning first.
  useEffect(() => warningRef.current?.focus(), []);
  return h(
    'div',
    { class: 'secret-reveal' },
    h(
      'p',
      { class: 'warning', ref: warningRef, tabIndex: -1 },
      h('strong', null, 'Copy the secret key now. '),
      'This is the only time it is shown: it cannot be retrieved later. Store it in a secret manager, never in Git, logs or chat.',
    ),
    h(
      'dl',
      { class: 'secret-fields' },
      h('dt', null, 'Key ID'),
      h('dd', null, h('code', { class: 'key-id' }, keyId), ' ', h(CopyButton, { text: keyId, label: 'Copy Key ID' })),
      h('dt', null, 'Secret key'),
      h(
        'dd',
        null,
        h('code', { class: 'secret', ref: secretRef, 'data-testid': 'secret' }, secret),
        ' ',
        h(CopyButton, { text: secret, label: 'Copy secret key', visibleLabel: 'Copy secret', selectTarget: () => secretRef.current }),
      ),
    ),
    h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'button primary', onClick: onDone, autofocus: true }, 'I have copied it')),
  );
}

export type BadgeTone = 'success' | 'warning' | 'danger' | 'neutral' | 'info';
export const Badge = ({ tone, children, title }: { tone: BadgeTone; children?: ComponentChildren; title?: string }) =>
  h('span', { class: `badge badge-${tone}`, title }, children);

/** Loads data on mount and when deps change; `reload` runs it again. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: unknown; loading: boolean; reload: () => void; setData: (t: T) => void } {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error: unknown) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1), setData: (data: T) => setState({ data, error: null, loading: false }) };
}

/**
 * A form's submission (or an action button's): `run(step)` marks it busy and
 * clears the last error, runs the step, and keeps what it threw as `error`
 * for the caller to show. Busy ends with the step; with `keepBusyOnSuccess`
 * only when it fails, for steps whose success leaves the form (a new
 * session, a navigation, a dialog that closes), so nothing is pressed twice
 * meanwhile. A check before the request either stays outside `run` (nothing
 * happens) or throws inside it (shown as the error).
 */
export function useAction({ keepBusyOnSuccess = false }: { keepBusyOnSuccess?: boolean } = {}): {
  busy: boolean;
  error: unknown;
  setError: (error: unknown) => void;
  run: (step: () => Promise<unknown>) => Promise<void>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (step: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await step();
      if (!keepBusyOnSuccess) setBusy(false);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}

export const Loading = ({ what }: { what: string }) => h('p', { class: 'loading', role: 'status' }, `Loading ${what}…`);

/** An instant as date and time with how long ago (or ahead) it is; `empty` when there is none. */
export const When = ({ iso, now, empty }: { iso: string | null; now: number; empty: string }) =>
  iso ? h('time', { dateTime: iso, title: formatDateTime(iso) }, `${formatDateTime(iso)} (${relativeTime(iso, now)})`) : h('span', { class: 'muted' }, empty);

/**
 * A destructive action in two steps, in place: the button ("Remove"), then
 * "Confirm: remove" and Cancel, focus on the confirmation. `subject` (e.g. an
 * email) completes each button's accessible name: "Remove ada@example.com".
 */
export function ConfirmButton({ label, subject, onConfirm }: { label: string; subject?: string; onConfirm: () => void }) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => void (asking && confirmRef.current?.focus()), [asking]);
  const named = (text: string) => (subject ? `${text} ${subject}` : undefined);
  if (!asking) return h('button', { type: 'button', class: 'button small', 'aria-label': named(label), onClick: () => setAsking(true) }, label);
  const confirm = `Confirm: ${label.charAt(0).toLowerCase()}${label.slice(1)}`;
  return h(
    'span',
    { class: 'actions' },
    h('button', { type: 'button', class: 'button small danger', ref: confirmRef, 'aria-label': named(confirm), onClick: () => (setAsking(false), onConfirm()) }, confirm),
    h('button', { type: 'button', class: 'button small', 'aria-label': named('Cancel'), onClick: () => setAsking(false) }, 'Cancel'),
  );
}
