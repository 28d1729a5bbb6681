/**
 * IP allowlists: IPv4 and IPv6 addresses and CIDR ranges. Only canonical
 * text is taken (node:net's strict parser decides): dotted-quad IPv4 without
 * leading zeros, short or hex forms (which other parsers read as octal or
 * fill in: "010.0.0.1" is 8.0.0.1 to some, 10.0.0.1 to others), and IPv6 in
 * RFC 4291 text form (any form RFC 5952 writes) without a zone. ipaddr.js
 * does the range arithmetic.
 */
import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { LRUCache } from 'lru-cache';

export const MAX_ALLOWLIST_ENTRIES = 100;

const ALLOWLIST_HELP = 'must be an IPv4 or IPv6 address or CIDR range, e.g. 10.0.0.0/8 or 2001:db8::/32';
/** Only text made of address characters is repeated in a message (never, say, a pasted secret). */
const quoted = (text: string): string => (/^[0-9A-Fa-f:./%]{1,64}$/.test(text) ? `"${text}"` : 'this value');

/** Why `text` is not an address keyward takes (canonical IPv4, or IPv6 without a zone), or undefined. */
export function addressProblem(text: string): string | undefined {
  if (isIPv4(text)) return undefined;
  if (text.includes('%')) return `${quoted(text)} has a zone id (%…), which means nothing off its own host; write the address alone`;
  if (isIPv6(text)) return undefined;
  if (/^[0-9A-Fa-fx.]+$/.test(text) && text.includes('.')) {
    return `${quoted(text)} is not a canonical IPv4 address: write four decimal numbers without leading zeros, e.g. 10.0.0.1`;
  }
  if (/^::ffff:/i.test(text)) return `${quoted(text)}: the IPv4 part of an IPv4-mapped address must be four decimal numbers without leading zeros`;
  return `${quoted(text)} is not an IPv4 or IPv6 address`;
}

/** An allowlist entry in canonical form ("10.0.0.0/8", "2001:db8::/32", a single address as /32 or /128), or why it is not one. */
export function parseAllowlistEntry(entry: string): { entry: string } | { problem: string } {
  const slash = entry.indexOf('/');
  const text = slash < 0 ? entry : entry.slice(0, slash);
  const problem = addressProblem(text);
  if (problem) return { problem: `${ALLOWLIST_HELP}; ${problem}` };
  const address = ipaddr.parse(text);
  const width = address.kind() === 'ipv4' ? 32 : 128;
  let bits = width;
  if (slash >= 0) {
    const prefix = entry.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix) || Number(prefix) > width) {
      return { problem: `${ALLOWLIST_HELP}; ${quoted(entry)}: the prefix length must be a number from 0 to ${width} without leading zeros` };
    }
    bits = Number(prefix);
  }
  const mapped = address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress();
  if (mapped && bits < 96) {
    return {
      problem: `${ALLOWLIST_HELP}; ${quoted(entry)}: an IPv4-mapped IPv6 range (::ffff:a.b.c.d/n) needs a prefix of /96 or longer, since /96 is all of IPv4; write the IPv4 range instead, e.g. 10.0.0.0/8`,
    };
  }
  const processed = mapped ? (address as ipaddr.IPv6).toIPv4Address() : address;
  const prefix = mapped ? bits - 96 : bits;
  // Zero the host bits so "10.1.2.3/8" reads as the range it means.
  const network = processed.kind() === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(`${processed.toString()}/${prefix}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${processed.toString()}/${prefix}`);
  return { entry: `${network.toString()}/${prefix}` };
}

export function isAllowlistEntry(entry: string): boolean {
  return 'entry' in parseAllowlistEntry(entry);
}

/** Canonical form of an entry; throws for one parseAllowlistEntry refuses. */
export function canonicalEntry(entry: string): string {
  const parsed = parseAllowlistEntry(entry);
  if ('problem' in parsed) throw new RangeError(parsed.problem);
  return parsed.entry;
}

/** A client address as shown to people: IPv4-mapped IPv6 (::ffff:1.2.3.4) as IPv4; one that does not parse, said so. */
export function normalizeAddress(address: string): string {
  return parseAddress(address)?.toString() ?? 'an address that does not parse';
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

/** Parsed allowlists, per list object (records keep their arrays): parsing CIDRs per request is slow. */
const compiledLists = new WeakMap<readonly string[], Range[]>();
/**
 * Decisions per list object and client address: clients repeat, and the
 * verify path asks up to three times per request. A plain Map emptied when
 * full, not an lru-cache: there is one per allowlist (per key that has one),
 * and an LRUCache allocates all of its `max` slots up front (23 KiB each at
 * this bound, measured: 2.3 GB for 100,000 keys, against ~200 bytes for an
 * empty Map).
 */
const decisions = new WeakMap<readonly string[], Map<string, boolean>>();
const MAX_DECISIONS_PER_LIST = 1_000;
/** Parsed client addresses; clients repeat, so a bounded cache saves the parse (null: not an address). */
const parsedAddresses = new LRUCache<string, { address: Address | null }>({ max: 10_000 });

function compile(entries: readonly string[]): Range[] {
  let ranges = compiledLists.get(entries);
  if (!ranges) {
    ranges = entries.map((entry) => ipaddr.parseCIDR(entry));
    compiledLists.set(entries, ranges);
  }
  return ranges;
}

/**
 * A client address parsed once (IPv4-mapped IPv6 as IPv4), or null if it is
 * not a canonical address. Brackets and a zone, as a socket may report them,
 * are dropped first.
 */
export function parseAddress(address: string): Address | null {
  let parsed = parsedAddresses.get(address);
  if (parsed === undefined) {
    const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    parsed = { address: addressProblem(bare) === undefined ? ipaddr.process(bare) : null };
    parsedAddresses.set(address, parsed);
  }
  return parsed.address;
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

/**
 * What failed authentications from a client are counted under: an IPv4
 * address itself, an IPv6 address's /64 (one host or site usually holds a
 * whole /64, so counting single addresses would let it rotate through them),
 * or the text itself when it does not parse.
 */
export function throttleBucket(address: string): string {
  const parsed = parseAddress(address);
  if (parsed === null) return address;
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts;
  return `${new ipaddr.IPv6([parts[0]!, parts[1]!, parts[2]!, parts[3]!, 0, 0, 0, 0]).toString()}/64`;
}
