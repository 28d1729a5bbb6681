import { describe, expect, it } from 'vitest';
import { addressAllowed, canonicalEntry, normalizeAddress } from '../../src/core/ip.ts';

describe('IP allowlists', () => {
  const list = ['10.0.0.0/8', '192.168.1.0/24', '2001:db8::/32'];

  it('matches IPv4, IPv6 and IPv4-mapped IPv6 addresses against CIDR ranges', () => {
    expect(addressAllowed('10.1.2.3', list)).toBe(true);
    expect(addressAllowed('192.168.1.77', list)).toBe(true);
    expect(addressAllowed('192.168.2.1', list)).toBe(false);
    expect(addressAllowed('2001:db8::1', list)).toBe(true);
    expect(addressAllowed('2001:db9::1', list)).toBe(false);
    expect(addressAllowed('::ffff:10.9.9.9', list)).toBe(true);
    expect(addressAllowed('[2001:db8::5]', list)).toBe(true);
  });

  it('allows everything on an empty list, nothing without an address or with garbage', () => {
    expect(addressAllowed('8.8.8.8', [])).toBe(true);
    expect(addressAllowed(null, [])).toBe(true);
    expect(addressAllowed(null, list)).toBe(false);
    expect(addressAllowed('not-an-address', list)).toBe(false);
  });

  it('gives the same answers when decisions are remembered, past the per-list bound, and per list', () => {
    const wide = ['10.0.0.0/16'];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2_500; i++) {
        const address = `10.${i % 2}.${Math.floor(i / 250)}.${i % 250}`;
        expect(addressAllowed(address, wide)).toBe(i % 2 === 0);
      }
    }
    // An updated list is a new array: its answers are its own, not the old list's.
    const narrowed = ['10.0.1.0/24'];
    expect(addressAllowed('10.0.0.1', wide)).toBe(true);
    expect(addressAllowed('10.0.0.1', narrowed)).toBe(false);
  });

  it('canonicalizes entries and addresses', () => {
    expect(canonicalEntry('10.1.2.3/8')).toBe('10.0.0.0/8');
    expect(canonicalEntry('10.1.2.3')).toBe('10.1.2.3/32');
    expect(canonicalEntry('::ffff:10.0.0.0/104')).toBe('10.0.0.0/8');
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
  });
});
