/**
 * A rotated key's transition on its page: how the old key ends (at the end of
 * the grace period, or revoked by the service once unused), whether it has
 * ended, and the stragglers, the clients that still used it lately ("10.0.3.7
 * used the old key 40 s ago"). While the transition is open the page reloads
 * the key every few seconds, so a consumer that moves shows up without a
 * reload.
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { KeyView } from './api.ts';
import type { Ctx } from './context.ts';
import { DEFAULT_QUIET_PERIOD } from '../core/retirement.ts';
import { agoPrecise, formatDateTime, relativeTime } from './format.ts';
import { ErrorBox } from './ui.ts';

/** How often an open transition is reloaded (a poll: the API has no push). */
export const TRANSITION_REFRESH_MS = 5_000;

type Transition = NonNullable<KeyView['transition']>;

const ENDED_BY: Record<NonNullable<Transition['endedBy']>, string> = {
  unused: 'revoked by the service: nothing used it for the quiet period',
  deadline: 'stopped at the deadline while still in use',
  revoked: 'revoked by a person',
  expired: 'expired when the grace period ended',
};

/** Reloads the key while its transition is open and the page is shown; `onLoaded` gets each fresh view. */
function useTransitionRefresh(ctx: Ctx, apiKey: KeyView, onLoaded: (key: KeyView) => void): { error: unknown; now: number } {
  const [error, setError] = useState<unknown>(null);
  const [now, setNow] = useState(Date.now());
  const open = apiKey.transition !== null && apiKey.transition.endedBy === null;
  useEffect(() => {
    if (!open) return undefined;
    let live = true;
    const timer = setInterval(() => {
      if (document.hidden) return;
      ctx.api.getKey(apiKey.id).then(
        (key) => live && (setError(null), setNow(Date.now()), onLoaded(key)),
        (e: unknown) => live && setError(e),
      );
    }, TRANSITION_REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [apiKey.id, open]);
  return { error, now };
}

export function TransitionPanel({ ctx, apiKey, onLoaded }: { ctx: Ctx; apiKey: KeyView; onLoaded: (key: KeyView) => void }) {
  const { error, now } = useTransitionRefresh(ctx, apiKey, onLoaded);
  const transition = apiKey.transition;
  if (!transition) return null;
  const quiet = transition.quietPeriod ?? DEFAULT_QUIET_PERIOD;
  const deadline = transition.deadline ? `${formatDateTime(transition.deadline)} (${relativeTime(transition.deadline, now)})` : 'none';
  return h(
    'div',
    { 'data-testid': 'transition' },
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'Rotated'),
      h('dd', null, h('time', { dateTime: transition.rotatedAt }, formatDateTime(transition.rotatedAt))),
      h('dt', null, 'Ends'),
      h('dd', null, transition.revokeOld === 'whenUnused' ? `When unused for ${quiet}, at the latest ${deadline}` : `When the grace period ends, ${deadline}`),
      h('dt', null, 'State'),
      h('dd', { 'data-testid': 'transition-state' }, transition.endedBy === null ? 'In transition' : `Ended ${transition.endedAt ? formatDateTime(transition.endedAt) : ''}: ${ENDED_BY[transition.endedBy]}`),
    ),
    h('h3', { id: 'stragglers-title' }, 'Still using the old key'),
    transition.stragglers.length === 0
      ? h('p', { class: 'muted', 'data-testid': 'no-stragglers' }, `No client has used this key within the last ${quiet} since the rotation.`)
      : h(
          'ul',
          { class: 'stragglers', 'aria-labelledby': 'stragglers-title', 'aria-live': 'polite' },
          transition.stragglers.map((client) =>
            h(
              'li',
              { key: `${client.ip}|${client.userAgent}` },
              h('code', null, client.ip ?? 'unknown address'),
              ' used the old key ',
              h('time', { dateTime: client.lastUsedAt, title: formatDateTime(client.lastUsedAt) }, agoPrecise(client.lastUsedAt, now)),
              client.userAgent ? [' (', h('span', { class: 'muted' }, client.userAgent), ')'] : null,
            ),
          ),
        ),
    h(ErrorBox, { error, title: 'The transition could not be refreshed' }),
  );
}
