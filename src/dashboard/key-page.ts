/** A key's own page (`#/keys/<Key ID>`). */
import { h } from 'preact';
import type { Ctx } from './context.ts';

export function KeyPage({ ctx, keyId }: { ctx: Ctx; keyId: string }) {
  void ctx;
  return h('section', null, h('h1', { tabIndex: -1 }, keyId));
}
