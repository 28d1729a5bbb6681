/** IP allowlist tab: the organization's allowed addresses, the caller's own address, and the lock-out guard. */
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { KeywardApiError } from './api.ts';
import type { Ctx } from './context.ts';
import { AllowlistEditor, allowlistProblems, isAddress } from './allowlist-editor.ts';
import { fieldErrors, FormError, rowErrors } from './fields.ts';
import { LoadError, Loading, useAction, useAsync } from './ui.ts';

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export function AllowlistTab({ ctx }: { ctx: Ctx }) {
  const loaded = useAsync(() => ctx.api.getIpAllowlist(), []);
  const [entries, setEntries] = useState<string[]>([]);
  const { busy, error, setError, run } = useAction();
  const [lockout, setLockout] = useState<KeywardApiError | null>(null);
  const manage = ctx.mayCall('putIpAllowlist');
  const guardRef = useRef<HTMLDivElement>(null);
  const saveRef = useRef<HTMLButtonElement>(null);
  // The lock-out question is an alertdialog: focus moves into it, and Escape answers "not now" (nothing saved) as every dialog's does.
  useEffect(() => void (lockout && guardRef.current?.querySelector<HTMLButtonElement>('button')?.focus()), [lockout]);
  const dismissLockout = () => {
    setLockout(null);
    saveRef.current?.focus();
  };

  useEffect(() => {
    if (loaded.data) setEntries(loaded.data.entries);
  }, [loaded.data]);

  const callerIp = loaded.data?.callerIp ?? '';
  const saved = loaded.data?.entries ?? [];
  const dirty = !sameList(entries, saved);
  const invalid = allowlistProblems(entries).size > 0;

  const save = (force: boolean) =>
    run(async () => {
      const trimmed = entries.map((e) => e.trim());
      let result;
      try {
        result = await ctx.api.putIpAllowlist(force ? { entries: trimmed, force: true } : { entries: trimmed });
      } catch (e) {
        // The lock-out guard's refusal is a question (save anyway?), not an error.
        if (!(e instanceof KeywardApiError && e.code === 'SELF_LOCKOUT')) throw e;
        setLockout(e);
        return;
      }
      setLockout(null);
      loaded.setData(result);
      ctx.announce(result.entries.length === 0 ? 'IP allowlist cleared: keys work from any address.' : `IP allowlist saved: ${result.entries.length} entries.`);
      ctx.reloadOrg();
    });

  return h(
    'section',
    { 'aria-labelledby': 'tab-title' },
    h('div', { class: 'page-head' }, h('h1', { id: 'tab-title', tabIndex: -1 }, 'IP allowlist')),
    h(
      'p',
      { class: 'summary' },
      'An extra layer on top of keys: when the list has entries, requests with any of this organization’s keys are accepted only from these addresses or ranges (IPv4 and IPv6, CIDR). When it is empty, keys work from anywhere.',
    ),
    loaded.error ? h(LoadError, { error: loaded.error, feature: 'The IP allowlist', operation: 'getIpAllowlist' }) : null,
    loaded.loading && !loaded.data ? h(Loading, { what: 'the allowlist' }) : null,
    loaded.data
      ? h(
          'div',
          { class: 'allowlist' },
          h('p', { class: 'caller-ip' }, 'Your address, as the service sees it: ', h('code', { 'data-testid': 'caller-ip' }, callerIp)),
          h(AllowlistEditor, {
            id: 'allowlist',
            label: 'Allowed addresses',
            empty: 'No entries: every address is allowed.',
            entries,
            onChange: setEntries,
            callerIp,
            readOnly: !manage,
            serverErrors: rowErrors(fieldErrors(error), 'entries'),
          }),
          manage ? null : h('p', { class: 'help' }, 'Changing the allowlist needs the org.manage permission.'),
          h(FormError, { error, title: 'The allowlist was not saved', shown: ['entries'] }),
          lockout
            ? h(
                'div',
                {
                  class: 'confirm-box',
                  role: 'alertdialog',
                  ref: guardRef,
                  'aria-labelledby': 'lockout-title',
                  'aria-describedby': 'lockout-text',
                  onKeyDown: (event: KeyboardEvent) => {
                    if (event.key !== 'Escape') return;
                    event.preventDefault();
                    dismissLockout();
                  },
                },
                h('h2', { id: 'lockout-title' }, 'This would lock you out'),
                h('p', { id: 'lockout-text' }, lockout.message, ' ', lockout.hint),
                h(
                  'div',
                  { class: 'dialog-actions' },
                  h('button', { type: 'button', class: 'button', onClick: () => (setEntries((l) => (l.some((e) => isAddress(e, callerIp)) ? l : [...l, callerIp])), setLockout(null)) }, 'Add my address instead'),
                  h('button', { type: 'button', class: 'button danger', onClick: () => save(true), disabled: busy }, 'Save anyway and lock me out'),
                ),
              )
            : null,
          manage
            ? h(
                'div',
                { class: 'form-actions' },
                h('button', { type: 'button', class: 'button primary', ref: saveRef, onClick: () => save(false), disabled: busy || !dirty || invalid }, busy ? 'Saving…' : 'Save allowlist'),
                dirty ? h('button', { type: 'button', class: 'button', onClick: () => (setEntries(saved), setLockout(null), setError(null)) }, 'Discard changes') : null,
                dirty ? h('span', { class: 'muted' }, invalid ? 'Fix the marked entries to save' : 'Unsaved changes') : null,
              )
            : null,
        )
      : null,
  );
}
