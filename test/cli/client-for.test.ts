/**
 * A command names the operations it calls when it asks for a client
 * (`clientFor(flags, ['getKey'])`): that list says what a key needs when
 * there is none, so the client it returns has only those operations. A call
 * the command did not name is a type error at `npm run lint` (these
 * expectations are checked by the compiler), not a wrong hint at run time.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { ClientFor } from '../../src/cli/client.ts';

describe('clientFor', () => {
  it('gives a client with only the named operations and their pagers', () => {
    expectTypeOf<ClientFor<'getKey'>>().toHaveProperty('getKey');
    expectTypeOf<ClientFor<'getKey'>>().not.toHaveProperty('revokeKey');
    expectTypeOf<ClientFor<'getKey'>>().not.toHaveProperty('allKeys');
    expectTypeOf<ClientFor<'listKeys'>>().toHaveProperty('allKeys');
    expectTypeOf<ClientFor<'listAuditLog' | 'revokeKey'>>().toHaveProperty('allAuditEvents');
    expectTypeOf<ClientFor<'listAuditLog' | 'revokeKey'>>().toHaveProperty('revokeKey');
    expectTypeOf<ClientFor<'listAuditLog'>>().not.toHaveProperty('allKeys');
  });
});
