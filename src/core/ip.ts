/** IP allowlists: IPv4 and IPv6 addresses and CIDR ranges (ipaddr.js does the parsing). */
import ipaddr from 'ipaddr.js';

export const MAX_ALLOWLIST_ENTRIES = 100;

/** A client address as Node reports it, with IPv4-mapped IPv6 (::ffff:1.2.3.4) turned back into IPv4. */
export function normalizeAddress(address: string): string {
  return ipaddr.process(address.replace(/^\[|\]$/g, '').replace(/%.*$/, '')).toString();
}

export function isAllowlistEntry(entry: string): boolean {
  return ipaddr.isValidCIDR(entry) || ipaddr.isValid(entry);
}

/** Canonical form of an entry: "10.0.0.0/8", "2001:db8::/32", or a single address as /32 or /128. */
export function canonicalEntry(entry: string): string {
  const [address, bits] = ipaddr.isValidCIDR(entry) ? ipaddr.parseCIDR(entry) : [ipaddr.parse(entry), undefined];
  const processed = address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
  const width = processed.kind() === 'ipv4' ? 32 : 128;
  const prefix = bits === undefined ? width : processed === address ? bits : bits - 96;
  // Zero the host bits so "10.1.2.3/8" reads as the range it means.
  const network = processed.kind() === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(`${processed.toString()}/${prefix}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${processed.toString()}/${prefix}`);
  return `${network.toString()}/${prefix}`;
}

export function addressAllowed(address: string, entries: readonly string[]): boolean {
  if (entries.length === 0) return true;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(normalizeAddress(address));
  } catch {
    return false;
  }
  return entries.some((entry) => {
    const range = ipaddr.parseCIDR(entry);
    return range[0].kind() === parsed.kind() && parsed.match(range);
  });
}
