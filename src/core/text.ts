/**
 * Characters that hide or reorder what a label shows: control characters
 * (Cc, line breaks included), format characters (Cf: bidi embeddings,
 * overrides and isolates U+202A–U+202E, U+2066–U+2069, zero-width characters
 * U+200B–U+200F, the byte order mark, the soft hyphen, tags …), lone
 * surrogates (Cs) and the line and paragraph separators. In a name they allow
 * display spoofing in the dashboard and the audit log: names typed into the
 * API refuse them (schemas.ts); text keyward takes from elsewhere (a
 * User-Agent, an identity provider's name claim) is stored without them.
 */
export const HIDDEN_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

const EVERY_HIDDEN_OR_CONTROL = new RegExp(HIDDEN_OR_CONTROL.source, 'gu');

/** Text from outside, as keyward stores and shows it: without hidden or control characters. */
export const withoutHidden = (text: string): string => text.replace(EVERY_HIDDEN_OR_CONTROL, '');
