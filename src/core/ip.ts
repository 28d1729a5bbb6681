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

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

/** Parsed allowlists, per list object (records keep their arrays): parsing CIDRs per request is slow. */
const compiledLists = new WeakMap<readonly string[], Range[]>();
/** Decisions per list object and client address: clients repeat, and the verify path asks up to three times per request. */
const decisions = new WeakMap<readonly string[], Map<string, boolean>>();
const MAX_DECISIONS_PER_LIST = 1_000;
/** Parsed client addresses; clients repeat, so a bounded cache saves the parse. */
const parsedAddresses = new Map<string, Address | null>();
const MAX_PARSED_ADDRESSES = 10_000;

function compile(entries: readonly string[]): Range[] {
  let ranges = compiledLists.get(entries);
  if (!ranges) {
    ranges = entries.map((entry) => ipaddr.parseCIDR(entry));
    compiledLists.set(entries, ranges);
  }
  return ranges;
}

/** A client address parsed once (IPv4-mapped IPv6 as IPv4), or null if it is not an address. */
export function parseAddress(address: string): Address | null {
  let parsed = parsedAddresses.get(address);
  if (parsed === undefined) {
    try {
      parsed = ipaddr.process(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
    } catch {
      parsed = null;
    }
    if (parsedAddresses.size >= MAX_PARSED_ADDRESSES) parsedAddresses.delete(parsedAddresses.keys().next().value!);
    parsedAddresses.set(address, parsed);
  }
  return parsed;
}

function matches(address: string, entries: readonly string[]): boolean {
  const parsed = parseAddress(address);
  if (!parsed) return false;
  const kind = parsed.kind();
  for (const range of compile(entries)) {
    if (range[0].kind() === kind && parsed.match(range)) return true;
  }
  return false;
}

/** Whether `address` is on the list (an empty list allows every address; no address is on a non-empty one). */
export function addressAllowed(address: string | null, entries: readonly string[]): boolean {
  if (entries.length === 0) return true;
  if (address === null) return false;
  let known = decisions.get(entries);
  if (!known) decisions.set(entries, (known = new Map()));
  let allowed = known.get(address);
  if (allowed === undefined) {
    allowed = matches(address, entries);
    if (known.size >= MAX_DECISIONS_PER_LIST) known.clear();
    known.set(address, allowed);
  }
  return allowed;
}
