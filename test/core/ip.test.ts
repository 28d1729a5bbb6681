import { describe, expect, it } from 'vitest';
import { addressAllowed, addressProblem, canonicalEntry, normalizeAddress, parseAllowlistEntry, throttleBucket } from '../../src/core/ip.ts';

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

  it('takes only canonical text: no leading zeros, short, hex or integer IPv4, no zone ids', () => {
    for (const address of ['10.0.0.1', '0.0.0.0', '255.255.255.255', '2001:db8::1', '2001:DB8:0:0::1', '::ffff:10.0.0.1', '1:2:3:4:5:6:1.2.3.4', '::']) {
      expect(addressProblem(address), address).toBeUndefined();
    }
    expect(addressProblem('010.0.0.1')).toMatch(/not a canonical IPv4 address/);
    expect(addressProblem('1.2.3')).toMatch(/not a canonical IPv4 address/);
    expect(addressProblem('0x7f.0.0.1')).toMatch(/not a canonical IPv4 address/);
    expect(addressProblem('2130706433')).toMatch(/not an IPv4 or IPv6 address/);
    expect(addressProblem('256.0.0.1')).toMatch(/not a canonical IPv4 address/);
    expect(addressProblem('::ffff:010.0.0.1')).toMatch(/IPv4-mapped/);
    expect(addressProblem('fe80::1%eth0')).toMatch(/zone id/);
    // Only address-like text is repeated in a message.
    expect(addressProblem('kw_notanaddress')).toBe('this value is not an IPv4 or IPv6 address');
    // A client address that does not parse is on no list, and is shown as such.
    expect(addressAllowed('010.0.0.1', ['8.0.0.0/8', '10.0.0.0/8'])).toBe(false);
    expect(normalizeAddress('garbage')).toBe('an address that does not parse');
  });

  it('refuses an IPv4-mapped range shorter than /96 and odd prefixes, saying what to write', () => {
    expect(parseAllowlistEntry('::ffff:10.0.0.0/90')).toEqual({ problem: expect.stringMatching(/\/96 or longer.*10\.0\.0\.0\/8/) });
    expect(parseAllowlistEntry('::ffff:10.0.0.0/96')).toEqual({ entry: '0.0.0.0/0' });
    expect(parseAllowlistEntry('10.0.0.0/08')).toEqual({ problem: expect.stringMatching(/prefix length must be a number from 0 to 32/) });
    expect(parseAllowlistEntry('2001:db8::/129')).toEqual({ problem: expect.stringMatching(/from 0 to 128/) });
    expect(parseAllowlistEntry('10.0.0.0/8/9')).toHaveProperty('problem');
    expect(parseAllowlistEntry('2001:DB8::/32')).toEqual({ entry: '2001:db8::/32' });
    expect(() => canonicalEntry('::ffff:10.0.0.0/90')).toThrow(RangeError);
  });

  it('counts failed authentications per IPv4 address and per IPv6 /64', () => {
    expect(throttleBucket('198.51.100.7')).toBe('198.51.100.7');
    expect(throttleBucket('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(throttleBucket('2001:db8:1:2::5')).toBe('2001:db8:1:2::/64');
    expect(throttleBucket('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(throttleBucket('2001:db8:1:3::5')).toBe('2001:db8:1:3::/64');
    expect(throttleBucket('::1')).toBe('::/64');
    expect(throttleBucket('not an address')).toBe('not an address');
  });
});
