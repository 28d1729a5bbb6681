import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeywardError } from '../../src/core/errors.ts';
import { secretFormatError, hashSecret, holdsSecretShape, KEY_ID_PATTERN, newKeyId, newSecret, secretHint } from '../../src/core/token.ts';

const codeOf = (fn: () => KeywardError | undefined): string => fn()?.code ?? 'NO_ERROR';

describe('token format', () => {
  it('mints key ids and secrets of the documented shape', () => {
    const secret = newSecret();
    expect(secret).toMatch(/^kw_[0-9A-Za-z]{28}$/);
    expect(newKeyId()).toMatch(KEY_ID_PATTERN);
    expect(newSecret('acme_')).toMatch(/^acme_[0-9A-Za-z]{28}$/);
    expect(() => newSecret('BAD')).toThrow(/prefix/);
  });

  it('never repeats (128+ bits of randomness)', () => {
    const seen = new Set(Array.from({ length: 5_000 }, () => newSecret()));
    expect(seen.size).toBe(5_000);
  });

  it('accepts its own secrets, whatever the prefix', () => {
    for (const prefix of ['kw_', 'sk_', 'acme1_']) {
      const secret = newSecret(prefix);
      expect(secretFormatError(secret)).toBeUndefined();
    }
  });

  it('names each malformed cause', () => {
    const secret = newSecret();
    expect(codeOf(() => secretFormatError(secret.slice(0, -3)))).toBe('KEY_TRUNCATED');
    const typo = secret.slice(0, 5) + (secret[5] === 'a' ? 'b' : 'a') + secret.slice(6);
    expect(codeOf(() => secretFormatError(typo))).toBe('KEY_CHECKSUM_MISMATCH');
    expect(codeOf(() => secretFormatError(` ${secret}`))).toBe('KEY_HAS_WHITESPACE');
    expect(codeOf(() => secretFormatError(`${secret}\n`))).toBe('KEY_HAS_WHITESPACE');
    expect(codeOf(() => secretFormatError(newKeyId()))).toBe('KEY_ID_USED_AS_SECRET');
    expect(codeOf(() => secretFormatError('hunter2'))).toBe('MALFORMED_KEY');
    expect(codeOf(() => secretFormatError(`${secret}xyz`))).toBe('MALFORMED_KEY');
    expect(codeOf(() => secretFormatError(''))).toBe('MALFORMED_KEY');
  });

  it('catches every single-character typo', () => {
    const secret = newSecret();
    let caught = 0;
    for (let i = 3; i < secret.length; i++) {
      const replacement = secret[i] === 'Q' ? 'R' : 'Q';
      const typo = secret.slice(0, i) + replacement + secret.slice(i + 1);
      if (codeOf(() => secretFormatError(typo)) === 'KEY_CHECKSUM_MISMATCH') caught++;
    }
    expect(caught).toBe(secret.length - 3);
  });

  it('the checksum is zlib\'s CRC-32 of prefix + random, in base62; the one-pass check agrees with the secret pattern', () => {
    const base62 = (n: number) => Array.from({ length: 6 }, (_, i) => Math.floor(n / 62 ** (5 - i)) % 62).map((d) => '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'[d]).join('');
    const shaped = /^[a-z][a-z0-9]{0,15}_[0-9A-Za-z]{28}$/;
    // What the answer must be: for the shape, whether the checksum holds; for anything else, a cause other than the checksum.
    const expected = (text: string) =>
      shaped.test(text) && !text.startsWith('key_') ? (base62(crc32(text.slice(0, -6))) === text.slice(-6) ? 'NO_ERROR' : 'KEY_CHECKSUM_MISMATCH') : 'OTHER';
    const answered = (text: string) => {
      const code = codeOf(() => secretFormatError(text));
      return code === 'NO_ERROR' || code === 'KEY_CHECKSUM_MISMATCH' ? code : 'OTHER';
    };
    for (const prefix of ['kw_', 'a_', 'abcdefghijklmnop_']) {
      const secret = newSecret(prefix);
      expect(secret.slice(-6)).toBe(base62(crc32(secret.slice(0, -6))));
    }
    const alphabet = 'kw_0123456789AZaz_ \u00e9';
    const near = fc.oneof(
      fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 40 }),
      // A real secret with one character changed, or cut, or grown: the cases a one-pass check could get wrong.
      fc.tuple(fc.constantFrom('kw_', 'abcdefghijklmnop_', 'key_'), fc.nat(40), fc.constantFrom(...alphabet), fc.constantFrom('set', 'cut', 'add')).map(([prefix, at, c, how]) => {
        const secret = prefix === 'key_' ? `key_${newSecret().slice(3)}` : newSecret(prefix);
        const i = at % secret.length;
        return how === 'set' ? secret.slice(0, i) + c + secret.slice(i + 1) : how === 'cut' ? secret.slice(0, i) : secret.slice(0, i) + c + secret.slice(i);
      }),
    );
    fc.assert(fc.property(near, (text) => answered(text) === expected(text)), { numRuns: 5_000 });
  });

  it('checks a secret in place inside a longer text (an Authorization header) exactly as the secret on its own', () => {
    const alphabet = 'kw_0123456789AZaz_ \u00e9';
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 40 }),
      fc.tuple(fc.nat(40), fc.constantFrom(...alphabet), fc.constantFrom('set', 'cut', 'add', 'keep'), fc.boolean()).map(([at, c, how, keyId]) => {
        const secret = keyId ? `key_${newSecret().slice(3)}` : newSecret();
        const i = at % secret.length;
        return how === 'keep' ? secret : how === 'set' ? secret.slice(0, i) + c + secret.slice(i + 1) : how === 'cut' ? secret.slice(0, i) : secret.slice(0, i) + c + secret.slice(i);
      }),
    );
    const head = fc.constantFrom('Bearer ', 'x', 'kw_', 'abcdefghijklmnopqrstuvwxyz_');
    const same = (a: KeywardError | undefined, b: KeywardError | undefined) => a?.code === b?.code && a?.message === b?.message;
    fc.assert(fc.property(head, text, (before, secret) => same(secretFormatError(before + secret, 'kw_', before.length), secretFormatError(secret, 'kw_'))), { numRuns: 5_000 });
    expect(secretFormatError(`Bearer ${newSecret()}`, 'kw_', 7)).toBeUndefined();
  });

  it('hashes with SHA-256 and shows only a short hint', () => {
    const secret = newSecret();
    expect(hashSecret(secret)).toMatch(/^[0-9a-f]{64}$/);
    expect(secretHint(secret)).toBe(`kw_…${secret.slice(-4)}`);
  });
});

describe('secrets in URLs', () => {
  it('finds a secret-shaped value of any prefix, raw or percent-encoded, standing on its own', () => {
    const secret = newSecret();
    for (const url of [`/v1/keys?api_key=${secret}`, `/v1/keys/${secret}`, `/x?a=1&token=${encodeURIComponent(secret).replace('_', '%5F')}`, `/?${newSecret('acme_')}`, `/?k=${secret}&x=%zz`]) {
      expect(holdsSecretShape(url), url).toBe(true);
    }
  });

  it('leaves key ids, cursors and other values alone', () => {
    const cursor = Buffer.from(`2026-01-01T00:00:00.000Z|${newKeyId()}`).toString('base64url');
    for (const url of [`/v1/audit-log?actorKeyId=${newKeyId()}`, `/v1/keys?cursor=${cursor}&limit=5`, '/v1/keys?name=kw_short', `/v1/x?v=${'a'.repeat(60)}`, `/v1/x?v=ab_${'c'.repeat(29)}`]) {
      expect(holdsSecretShape(url), url).toBe(false);
    }
  });
});
