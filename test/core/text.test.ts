import { describe, expect, it } from 'vitest';
import { displayNameFromClaim, Name } from '../../src/core/schemas.ts';
import { storedUserAgent } from '../../src/core/retirement.ts';
import { withoutHidden } from '../../src/core/text.ts';

describe('text from outside keyward, as it is stored and shown', () => {
  it('drops control, bidi and invisible characters, and nothing else', () => {
    expect(withoutHidden('Ali\u202Ece\u200B \u0000Smith\n\u2066é')).toBe('Alice Smithé');
    expect(withoutHidden('Zoë Ŋ 李')).toBe('Zoë Ŋ 李');
  });

  it("a member's display name from the identity provider's name claim is a valid Name, else their email", () => {
    const email = 'ana@acme.test';
    // Spoofing characters in the provider's claim would reach the members list and the audit log as they came.
    const spoofed = displayNameFromClaim('\u202Enimda\u202C Ana\u0007', email);
    expect(spoofed).toBe('nimda Ana');
    expect(Name.safeParse(spoofed).success).toBe(true);
    expect(displayNameFromClaim('  Ana  ', email)).toBe('Ana');
    expect(displayNameFromClaim('x'.repeat(300), email)).toHaveLength(100);
    for (const nothing of ['', '   ', '\u200B\u202E', 42, null, undefined]) expect(displayNameFromClaim(nothing, email)).toBe(email);
  });

  it('a user agent is stored without hidden characters and cut to length', () => {
    expect(storedUserAgent('curl/8\u0000\u202E.1')).toBe('curl/8.1');
    expect(storedUserAgent('\u200B')).toBeNull();
    expect(storedUserAgent('a'.repeat(500))).toHaveLength(200);
  });
});
