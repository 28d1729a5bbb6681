/** Who an audit record names, for people to read (the CLI's ACTOR column, the dashboard's Actor cell). No runtime imports: the dashboard bundles it. */
import type { Actor } from './people.ts';

/**
 * Who an audit record names, for people to read: a member by email, a key by
 * id; null when the service itself acted (bootstrap, throttling, a sweep).
 * Records from before members existed carry only actorKeyId.
 */
export const actorShown = (event: { actorKeyId: string | null; actor?: Actor | null }): { member: string } | { key: string } | null =>
  event.actor?.type === 'member' ? { member: event.actor.email } : event.actorKeyId !== null ? { key: event.actorKeyId } : null;

/** The same as text: the member's email or the key's id; `nobody` for the service itself. */
export const actorLabel = (event: { actorKeyId: string | null; actor?: Actor | null }, nobody: string): string => {
  const actor = actorShown(event);
  return actor === null ? nobody : 'member' in actor ? actor.member : actor.key;
};
